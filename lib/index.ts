// SPDX-License-Identifier: MIT
//
// Public entry point of medunet: `import { UNet, DiceLoss, Adam, trainModel } from 'medunet'`.

export {
  Tensor,
  tensor,
  zeros,
  ones,
  empty,
  full,
  rand,
  randn,
  arange,
  cat,
  stack,
  noGrad,
  enableGrad,
  isGradEnabled,
  tidy,
  keep,
  manualSeed,
  autocast,
  DTYPES,
  type DType,
  type TypedArray,
  type TensorOptions,
  type AutocastDType,
  type AutocastOptions,
} from './tensor.js';
export { resolveDevice, cudaIsAvailable, cudaDeviceCount, type DeviceSpec } from './device.js';
export { ErrorCode, NiftiError, CheckpointError, type ErrorCodeValue } from './errors.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './losses/index.js';
export * from './optim/index.js';
export * from './metrics/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export {
  visualizePredictions,
  renderPanels,
  renderMontage,
  writePng,
  encodePng,
  Palette,
  type VisualizeOptions,
  type VisualizedSlice,
  type Panel,
  type RenderOptions,
  type MontageOptions,
  type Rgb,
} from './visualize/index.js';

import { native } from './native.js';
import { checkInt } from './validate.js';

/** Versions the native addon was built with: libtorch, CUDA (or null), Node-API and medunet. */
export const versions = native.versions;

/** Sets the number of CPU threads libtorch uses for one operation (`torch.set_num_threads`). */
export function setNumThreads(n: number): void {
  native.setNumThreads(checkInt('n', n, 1, 1024));
}

/** Returns the number of CPU threads libtorch uses for one operation (`torch.get_num_threads`). */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Counts the live tensor handles and the native memory behind them.
 *
 * `liveTensors` counts handles that are neither disposed nor finalised: every view, alias and
 * `.grad` read is a handle of its own. `cpuBytes` and `cudaBytes` add up the storages those
 * handles keep alive, each storage once however many handles share it, so a view of a large
 * tensor counts the whole storage for as long as the view lives. Memory that libtorch keeps
 * without a JavaScript handle is not counted: gradients stored on parameters (until `.grad` is
 * read), autograd graphs, optimizer state and allocator caches.
 * A dropped handle stays counted until garbage collection finalises it, which Node does on the
 * event loop after the collection, so call `dispose()` or use `tidy` in synchronous loops.
 *
 * @returns `liveTensors`, `cpuBytes` and `cudaBytes`.
 * @example
 * const before = memoryStats().liveTensors;
 * tidy(() => model.forward(x).sum().item());
 * memoryStats().liveTensors === before; // true
 */
export function memoryStats(): { liveTensors: number; cpuBytes: number; cudaBytes: number } {
  return native.memoryStats();
}
