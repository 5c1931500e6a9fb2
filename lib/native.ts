// SPDX-License-Identifier: MIT
//
// Loader and type declarations for the native addon (native/, built by cmake-js into
// build/Release/medunet.node). Everything the TypeScript layer calls in C++ is declared here.
// The TypeScript layer validates public arguments before it calls in; the addon re-checks only
// what would otherwise crash (argument count and types, buffer sizes, devices).

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Element type of a tensor, named as in PyTorch (`torch.float32` is `'float32'`). */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** Typed arrays that tensors are created from and copied out to. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** Reduction applied by loss functions, as in `torch.nn.functional`. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * A libtorch tensor (`at::Tensor`) owned by JavaScript.
 *
 * Native memory is released when the object is garbage-collected, and at once by `dispose()`.
 * Any use of a disposed tensor throws an `Error` with code `ERR_TENSOR_DISPOSED`.
 * Operations return new tensors; methods whose name ends in `_` work in place and return `this`,
 * as in PyTorch.
 */
export interface NativeTensor {
  /** Sizes of each dimension, as `tensor.shape` in PyTorch. */
  readonly shape: number[];
  readonly dtype: DType;
  /** `'cpu'` or `'cuda:N'`. */
  readonly device: string;
  /** True once `dispose()` ran. */
  readonly disposed: boolean;
  requiresGrad: boolean;
  /** Gradient accumulated by `backward()`, or null. Each read returns a new handle to it. */
  readonly grad: NativeTensor | null;
  readonly isLeaf: boolean;

  numel(): number;
  dim(): number;
  /** The single element as a number; throws when `numel() !== 1`. */
  item(): number;
  /**
   * A contiguous CPU copy of the elements in row-major order: Float32Array for float32, float16
   * and bfloat16; Float64Array for float64; BigInt64Array for int64; Int32Array, Int16Array,
   * Int8Array and Uint8Array for int32, int16, int8 and uint8; Uint8Array (0 or 1) for bool.
   */
  data(): TypedArray;
  backward(gradient?: NativeTensor | null, retainGraph?: boolean): void;
  /** Sets `.grad` to the given tensor or to null (`tensor.grad = None`). */
  setGrad(grad: NativeTensor | null): void;
  /** Moves to a device (`'cpu'`, `'cuda'`, `'cuda:1'`) or converts to a dtype. */
  to(deviceOrDType: string): NativeTensor;
  detach(): NativeTensor;
  clone(): NativeTensor;
  contiguous(): NativeTensor;
  /** Channels-last (NHWC) memory layout for a 4D tensor, as `memory_format=torch.channels_last`. */
  toChannelsLast(): NativeTensor;

  // Shape operations.
  reshape(shape: number[]): NativeTensor;
  permute(dims: number[]): NativeTensor;
  transpose(dim0: number, dim1: number): NativeTensor;
  squeeze(dim?: number): NativeTensor;
  unsqueeze(dim: number): NativeTensor;
  flatten(startDim?: number, endDim?: number): NativeTensor;
  narrow(dim: number, start: number, length: number): NativeTensor;
  select(dim: number, index: number): NativeTensor;
  indexSelect(dim: number, index: NativeTensor): NativeTensor;
  expand(shape: number[]): NativeTensor;

  // Element-wise arithmetic; `other` may be a tensor (broadcast) or a number.
  add(other: NativeTensor | number, alpha?: number): NativeTensor;
  sub(other: NativeTensor | number, alpha?: number): NativeTensor;
  mul(other: NativeTensor | number): NativeTensor;
  div(other: NativeTensor | number): NativeTensor;
  pow(exponent: NativeTensor | number): NativeTensor;
  neg(): NativeTensor;
  abs(): NativeTensor;
  exp(): NativeTensor;
  log(): NativeTensor;
  sqrt(): NativeTensor;
  /** Either bound may be null for no bound. */
  clamp(min: number | null, max: number | null): NativeTensor;
  sigmoid(): NativeTensor;
  relu(): NativeTensor;
  softmax(dim: number): NativeTensor;
  logSoftmax(dim: number): NativeTensor;
  matmul(other: NativeTensor): NativeTensor;

  // Reductions. Without `dims` they reduce over every element.
  sum(dims?: number[] | null, keepdim?: boolean): NativeTensor;
  mean(dims?: number[] | null, keepdim?: boolean): NativeTensor;
  amax(dims?: number[] | null, keepdim?: boolean): NativeTensor;
  amin(dims?: number[] | null, keepdim?: boolean): NativeTensor;
  /** Index of the maximum along `dim` (int64), or of the flattened tensor when `dim` is omitted. */
  argmax(dim?: number | null, keepdim?: boolean): NativeTensor;

  // Comparisons return bool tensors.
  eq(other: NativeTensor | number): NativeTensor;
  ne(other: NativeTensor | number): NativeTensor;
  gt(other: NativeTensor | number): NativeTensor;
  ge(other: NativeTensor | number): NativeTensor;
  lt(other: NativeTensor | number): NativeTensor;
  le(other: NativeTensor | number): NativeTensor;
  logicalAnd(other: NativeTensor): NativeTensor;
  logicalOr(other: NativeTensor): NativeTensor;
  logicalNot(): NativeTensor;

  // In-place operations (return this).
  add_(other: NativeTensor | number, alpha?: number): NativeTensor;
  mul_(other: NativeTensor | number): NativeTensor;
  copy_(source: NativeTensor): NativeTensor;
  fill_(value: number): NativeTensor;
  zero_(): NativeTensor;
  uniform_(low: number, high: number): NativeTensor;
  normal_(mean: number, std: number): NativeTensor;

  /** Frees the native memory now; idempotent. */
  dispose(): void;
  /** Calls `dispose()`, so that `using x = zeros([2])` frees `x` at the end of its block. */
  [Symbol.dispose](): void;
  /** A short description such as `Tensor[2, 1, 64, 64] float32 cpu`. */
  toString(): string;
}

/** Options of `torch.optim.Adam`. */
export interface NativeAdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

/** Options of `torch.optim.SGD`. */
export interface NativeSGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** A libtorch optimizer stepping tensors that JavaScript owns. */
export interface NativeOptimizer {
  step(): void;
  /** Sets every gradient to null when `setToNone` (the default, as in PyTorch 2), else to zero. */
  zeroGrad(setToNone?: boolean): void;
  lr: number;
  dispose(): void;
}

/** Counts of the tensors that JavaScript has handles to. */
export interface NativeMemoryStats {
  liveTensors: number;
  cpuBytes: number;
  cudaBytes: number;
}

/** Contents of a checkpoint file written by `saveCheckpoint`. */
export interface NativeCheckpoint {
  /** The JSON text stored under `metadata`, or null when the file has none. */
  metadata: string | null;
  tensors: Record<string, NativeTensor>;
}

/** The addon's exports. */
export interface NativeBinding {
  Tensor: { prototype: NativeTensor };
  Adam: new (params: NativeTensor[], options: NativeAdamOptions) => NativeOptimizer;
  SGD: new (params: NativeTensor[], options: NativeSGDOptions) => NativeOptimizer;

  // Creation. `device` defaults to 'cpu', `dtype` to 'float32' (or to the array's type in `tensor`).
  tensor(data: TypedArray | number[], shape: number[], dtype?: DType, device?: string, requiresGrad?: boolean): NativeTensor;
  zeros(shape: number[], dtype?: DType, device?: string): NativeTensor;
  ones(shape: number[], dtype?: DType, device?: string): NativeTensor;
  full(shape: number[], value: number, dtype?: DType, device?: string): NativeTensor;
  empty(shape: number[], dtype?: DType, device?: string): NativeTensor;
  rand(shape: number[], dtype?: DType, device?: string): NativeTensor;
  randn(shape: number[], dtype?: DType, device?: string): NativeTensor;
  arange(start: number, end: number, step: number, dtype?: DType, device?: string): NativeTensor;
  cat(tensors: NativeTensor[], dim: number): NativeTensor;
  stack(tensors: NativeTensor[], dim: number): NativeTensor;
  where(condition: NativeTensor, input: NativeTensor, other: NativeTensor): NativeTensor;

  // torch.nn.functional, with PyTorch's argument order. Pairs are [height, width].
  conv2d(
    input: NativeTensor,
    weight: NativeTensor,
    bias: NativeTensor | null,
    stride: [number, number],
    padding: [number, number],
    dilation: [number, number],
    groups: number,
  ): NativeTensor;
  convTranspose2d(
    input: NativeTensor,
    weight: NativeTensor,
    bias: NativeTensor | null,
    stride: [number, number],
    padding: [number, number],
    outputPadding: [number, number],
    groups: number,
    dilation: [number, number],
  ): NativeTensor;
  /** Updates `runningMean` and `runningVar` in place when `training` and they are given. */
  batchNorm(
    input: NativeTensor,
    runningMean: NativeTensor | null,
    runningVar: NativeTensor | null,
    weight: NativeTensor | null,
    bias: NativeTensor | null,
    training: boolean,
    momentum: number,
    eps: number,
  ): NativeTensor;
  maxPool2d(
    input: NativeTensor,
    kernelSize: [number, number],
    stride: [number, number],
    padding: [number, number],
    dilation: [number, number],
    ceilMode: boolean,
  ): NativeTensor;
  relu(input: NativeTensor): NativeTensor;
  /** In-place `max(0, x)`; returns `input`. */
  relu_(input: NativeTensor): NativeTensor;
  sigmoid(input: NativeTensor): NativeTensor;
  softmax(input: NativeTensor, dim: number): NativeTensor;
  logSoftmax(input: NativeTensor, dim: number): NativeTensor;
  /** `pad` lists (left, right, top, bottom, ...) from the last dimension backwards, as `F.pad`. */
  pad(input: NativeTensor, pad: number[], mode: 'constant' | 'reflect' | 'replicate', value: number): NativeTensor;
  interpolate(input: NativeTensor, size: [number, number], mode: 'nearest' | 'bilinear', alignCorners: boolean): NativeTensor;
  binaryCrossEntropyWithLogits(
    input: NativeTensor,
    target: NativeTensor,
    weight: NativeTensor | null,
    reduction: Reduction,
    posWeight: NativeTensor | null,
  ): NativeTensor;
  /** `target` contains int64 class indices. */
  crossEntropy(input: NativeTensor, target: NativeTensor, weight: NativeTensor | null, reduction: Reduction, ignoreIndex: number): NativeTensor;
  /** int64 indices to an int64 one-hot tensor with a trailing class dimension, as `F.one_hot`. */
  oneHot(indices: NativeTensor, numClasses: number): NativeTensor;

  // Autograd, autocast and randomness. Grad mode and autocast are per thread, as in libtorch.
  isGradEnabled(): boolean;
  setGradEnabled(enabled: boolean): void;
  /** Enables or disables autocast for a device type ('cpu' or 'cuda') with a dtype ('bfloat16' or 'float16'). */
  setAutocast(deviceType: 'cpu' | 'cuda', enabled: boolean, dtype: DType): void;
  isAutocastEnabled(deviceType: 'cpu' | 'cuda'): boolean;
  manualSeed(seed: number): void;

  // Devices and threads.
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Sets OpenBLAS's own thread count; returns false when libtorch does not use OpenBLAS. */
  setBlasThreads(n: number): boolean;

  // Memory scopes: `scopeEnd(marker, keep)` disposes every tensor handle created after
  // `scopeBegin()` returned `marker`, except those in `keep` and those passed to `keep()`.
  // Handles in `keep` then belong to the enclosing scope; `keep()` exempts a handle from all scopes.
  scopeBegin(): number;
  scopeEnd(marker: number, keep: NativeTensor[]): void;
  keep(tensor: NativeTensor): NativeTensor;
  memoryStats(): NativeMemoryStats;

  // Checkpoints: a zip file in the `torch.save` format holding a dict with a `state_dict`
  // (str to tensor) and `metadata` (a JSON string). PyTorch reads it with `torch.load`.
  saveCheckpoint(path: string, tensors: Record<string, NativeTensor>, metadata: string): void;
  loadCheckpoint(path: string): NativeCheckpoint;
  /**
   * `saveCheckpoint` with the pickling and the write on the libuv thread pool. The job holds
   * references to the tensors rather than copies. Disposing them meanwhile is safe, but an
   * in-place change before the promise settles may be saved. Rejects with the errors that the
   * synchronous form throws.
   */
  saveCheckpointAsync(path: string, tensors: Record<string, NativeTensor>, metadata: string): Promise<void>;
  /** `loadCheckpoint` with the read and the tensor building on the libuv thread pool. */
  loadCheckpointAsync(path: string): Promise<NativeCheckpoint>;
  /**
   * `targets[i].copy_(sources[i])` without recording gradients, for every i, on the libuv
   * thread pool (converting the dtype as `copy_` does). The shapes must match. Neither list may
   * be used until the promise settles.
   */
  copyTensorsAsync(targets: NativeTensor[], sources: NativeTensor[]): Promise<void>;

  /**
   * The classic U-Net's forward pass for inference (lib/models/unet.ts), without autograd, with
   * batch norm folded into the convolutions: `input` `[B, C, H, W]` to logits `[B, K, H, W]`,
   * zero-padded to a multiple of 16 and cropped back as `UNet.forward` does. `weights` contains 46
   * tensors: for `inc` and `down1`..`down4`, the folded 3x3 convolutions' weight, bias, weight,
   * bias; for `up1`..`up4`, the transposed convolution as a `[Cin, 4 * Cout]` matrix (columns
   * ordered dy, dx, channel) and its bias repeated to `[4 * Cout]`, then the four folded weights
   * of its double convolution; last, `outc.weight` and `outc.bias`. `channelsLast` runs the
   * activations in channels-last layout; the 3x3 weights should then be channels-last too.
   */
  unetInference(input: NativeTensor, weights: NativeTensor[], channelsLast: boolean): NativeTensor;

  // Loans to another thread of this process (native/share.cc). A loan makes handles in another
  // environment point at the same at::Tensor objects (and the same optimizer state). While the
  // lending environment marks a loan busy, its own handles to those tensors and to the optimizer
  // throw ERR_TENSOR_BUSY, because only one thread may use a tensor at a time.
  /** Registers tensors, and optionally an Adam or SGD optimizer, for adoption; returns the loan id. */
  shareTensors(tensors: NativeTensor[], optimizer?: NativeOptimizer | null): number;
  /**
   * Without `targets`: new handles to the loan's tensors. With `targets` (one per loaned tensor,
   * same shapes and dtypes): points those handles at the loan's tensors instead of their own, and
   * returns them.
   */
  adoptTensors(id: number, targets?: NativeTensor[]): NativeTensor[];
  /** A new optimizer object driving the loan's optimizer; throws when the loan has none. */
  adoptOptimizer(id: number): NativeOptimizer;
  /** Marks the loan's tensors and optimizer as in use by another thread, or no longer, in this environment. */
  setSharedBusy(id: number, busy: boolean): void;
  /** Ends a loan; handles that already adopted its tensors keep them. */
  releaseShared(id: number): void;
  /** A copy of the default CPU generator's state (`torch.get_rng_state()`). */
  getRandomState(): NativeTensor;
  /** Restores a state from getRandomState (`torch.set_rng_state()`). */
  setRandomState(state: NativeTensor): void;

  /** Versions the addon was built with. */
  readonly versions: { torch: string; cuda: string | null; napi: number; medunet: string };
}

/**
 * Codes of the errors the addon itself throws (native/core/error.cc). An error with one of these
 * while the addon initializes is a configuration fault, such as an invalid MEDUNET_NUM_THREADS, so
 * the loader passes it on instead of trying the next file. Node's own failures, such as
 * ERR_DLOPEN_FAILED for a file built for another platform, are not in this list.
 */
const ADDON_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_INVALID_ARG_TYPE',
  'ERR_OUT_OF_RANGE',
  'ERR_TORCH',
  'ERR_TENSOR_DISPOSED',
  'ERR_TENSOR_BUSY',
  'ERR_CUDA_UNAVAILABLE',
  'ERR_CHECKPOINT',
]);

/**
 * Loads the first addon in `candidates` that exists and loads, and returns it. A missing file or
 * one that Node cannot load is recorded and skipped. An error that the addon throws with one of
 * its own codes is rethrown unchanged.
 *
 * @param candidates - Paths of .node files, in order of preference.
 * @param load - Loads one path, as `require` does.
 * @throws The addon's own error when it fails to initialize.
 * @throws Error with code `ERR_ADDON_NOT_FOUND` when no candidate loads. Its message lists every
 *   path tried and the commands that build or rebuild the addon.
 * @internal
 */
export function loadFirstAddon(candidates: readonly string[], load: (path: string) => unknown): NativeBinding {
  const failures: string[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) {
      failures.push(`  ${candidate}: not found`);
      continue;
    }
    try {
      return load(candidate) as NativeBinding;
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && ADDON_ERROR_CODES.has(code)) throw error;
      failures.push(`  ${candidate}: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
    }
  }
  const message = [
    `medunet: could not load the native addon for ${process.platform}-${process.arch} (Node-API 8, libtorch 1.13 or 2.x).`,
    'Tried:',
    ...(failures.length > 0 ? failures : ['  no paths']),
    'In a project that installed medunet, rebuild the addon with `npm rebuild medunet`.',
    'In a checkout of medunet, build it from source with `npm run build:native` (needs CMake, a C++17',
    'compiler and libtorch; on Debian or Ubuntu `sh scripts/setup.sh` installs libtorch-dev).',
    'Or set MEDUNET_ADDON to the path of a built medunet.node.',
  ].join('\n');
  // The literal matches ErrorCode.ADDON_NOT_FOUND in errors.ts. This file imports no other module
  // of the package, so that it can also be compiled and loaded on its own.
  throw Object.assign(new Error(message), { code: 'ERR_ADDON_NOT_FOUND' });
}

/**
 * Locates and loads the addon. Order: the `MEDUNET_ADDON` environment variable (a path to a
 * .node file); the local cmake-js build (build/Release); a prebuilt binary under
 * prebuilds/<platform>-<arch>/. See {@link loadFirstAddon} for the errors.
 */
function loadBinding(): NativeBinding {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  const require = createRequire(join(root, 'package.json'));
  const candidates = [
    process.env['MEDUNET_ADDON'],
    join(root, 'build', 'Release', 'medunet.node'),
    join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'medunet.node'),
  ].filter((p): p is string => typeof p === 'string' && p.length > 0);
  return loadFirstAddon(candidates, require);
}

/** Walks up from `start` to the folder holding medunet's package.json. */
function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'CMakeLists.txt'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

/** The loaded addon. Loading happens once, on first import of this module. */
export const native: NativeBinding = loadBinding();
