// SPDX-License-Identifier: MIT
//
// Slice-by-slice prediction of a 3-D volume with a 2-D segmentation model.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  extractSlice,
  insertSlice,
  normalizeIntensity,
  resolveAxis,
  sliceCount,
  sliceShape,
  toFloat32Array,
  type Axis,
  type VoxelArray,
} from '../data/index.js';
import { resolveDevice, sameDevice } from '../device.js';
import { UNet } from '../models/unet.js';
import { UNetInference } from './unet-inference.js';
import { Module } from '../nn/module.js';
import { sigmoid, softmax } from '../nn/functional.js';
import { autocast, noGrad, tensor, tidy, type Tensor } from '../tensor.js';
import { checkBoolean, checkEach, checkInt, checkKnownKeys, checkNumber, checkOneOf, checkOptions, rangeError, typeError } from '../validate.js';
import { ExecutorSession, THREAD_MODES, useWorker, type ThreadMode } from './executor.js';
import { checkNotLent } from './lent.js';

/** A volume to segment: voxels with x fastest (NIfTI order) and their sizes. A `NiftiVolume` fits. */
export interface VolumeInput {
  data: VoxelArray | ArrayLike<number>;
  /** [nx, ny, nz] (further sizes must be 1). */
  dims: readonly number[];
}

/** Options of {@link predictVolume}. */
export interface PredictOptions {
  /** Axis the 2-D slices are perpendicular to; default 'axial' (z). */
  axis?: Axis;
  /**
   * Slices per forward pass; default 4. On a CPU, 2 to 4 slices of 181 x 217 ran about 1.3 times
   * faster than 16, because the activations of a small batch stay in the caches.
   */
  batchSize?: number;
  /** Device to run on; default: the device of the model's parameters. The model must already be there. */
  device?: string;
  /** One-class models: a foreground probability above this is labelled 1; default 0.5. */
  threshold?: number;
  /** Intensity normalisation of the whole volume, as the training dataset applies it; default 'minmax'. */
  normalize?: 'minmax' | 'zscore' | 'none';
  /** Run the forward pass under autocast in this dtype; default null. */
  autocast?: 'bfloat16' | null;
  /** Also return the probabilities; default false. */
  probabilities?: boolean;
  /**
   * Called after each batch with the slices done and the total. When it returns a promise,
   * prediction waits for it before the next batch, and a rejection rejects `predictVolume` with
   * that error.
   */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Stops between batches; `predictVolume` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Predict only these slice indices along `axis`; the other slices are labelled 0. Default: all. */
  slices?: readonly number[];
  /**
   * The thread the batches run on. 'worker' is the executor's worker thread, so the event loop
   * stays free, and 'main' the calling thread. 'auto', the default, picks the worker for a
   * built-in UNet and the calling thread for other models.
   */
  thread?: ThreadMode;
}

/** Result of {@link predictVolume}. */
export interface PredictResult {
  /** One class label per voxel (0 or 1 for one-class models), in the volume's voxel order. */
  mask: Uint8Array;
  /** The volume's dims, copied. */
  dims: number[];
  /**
   * With `probabilities`: the foreground probability per voxel for one-class models; for K
   * classes, K volumes one after another (class k's probabilities start at `k * voxels`).
   */
  probabilities?: Float32Array;
}

interface CheckedPredictOptions {
  axis: 0 | 1 | 2;
  batchSize: number;
  device: string | undefined;
  threshold: number;
  normalize: 'minmax' | 'zscore' | 'none';
  autocast: 'bfloat16' | null;
  probabilities: boolean;
  onProgress: ((done: number, total: number) => void | Promise<void>) | undefined;
  signal: AbortSignal | undefined;
  slices: readonly number[] | undefined;
  thread: ThreadMode;
}

function checkPredictOptions(options: unknown): CheckedPredictOptions {
  const opts = checkOptions<PredictOptions>('options', options);
  const known = ['axis', 'batchSize', 'device', 'threshold', 'normalize', 'autocast', 'probabilities', 'onProgress', 'signal', 'slices', 'thread'];
  checkKnownKeys('options', opts, known, 'predictVolume');
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw typeError('options.onProgress', 'a function', opts.onProgress);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', opts.signal);
  if (opts.slices !== undefined && !Array.isArray(opts.slices)) throw typeError('options.slices', 'an array of slice indices', opts.slices);
  return {
    axis: resolveAxis(opts.axis ?? 'axial', 'options.axis'),
    batchSize: checkInt('options.batchSize', opts.batchSize ?? 4, 1),
    device: opts.device === undefined ? undefined : resolveDevice(opts.device, 'options.device'),
    threshold: checkThreshold(opts.threshold ?? 0.5),
    normalize: checkOneOf('options.normalize', opts.normalize ?? 'minmax', ['minmax', 'zscore', 'none'] as const),
    autocast: opts.autocast == null ? null : checkOneOf('options.autocast', opts.autocast, ['bfloat16'] as const),
    probabilities: checkBoolean('options.probabilities', opts.probabilities ?? false),
    onProgress: opts.onProgress,
    signal: opts.signal,
    slices: opts.slices,
    thread: checkOneOf('options.thread', opts.thread ?? 'auto', THREAD_MODES),
  };
}

/** Checks `options.threshold`; NaN is a RangeError, because it is a number that no probability exceeds. */
function checkThreshold(value: unknown): number {
  if (typeof value === 'number' && Number.isNaN(value)) throw rangeError('options.threshold', 'a finite number in [0, 1]', value);
  return checkNumber('options.threshold', value, 0, 1);
}

/**
 * Throws a RangeError naming `volume.data` when no voxel is finite, as `medunet predict` rejects
 * such an image. Normalisation reads NaN and infinite voxels as 0, so the model would label a
 * volume of zeros. The scan stops at the first finite voxel.
 */
function checkFiniteVoxels(data: ArrayLike<number | bigint>): void {
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (typeof value === 'bigint' || Number.isFinite(value)) return;
  }
  if (data.length > 0) throw rangeError('volume.data', 'a volume with at least one finite voxel', `${data.length} voxels, all NaN or infinite`);
}

/** Picks the device: the requested one, which must hold the model, or the model's own. */
function modelDevice(model: Module, requested: string | undefined): string {
  const first = model.parameters()[0];
  if (first === undefined) return requested ?? 'cpu';
  if (requested !== undefined && !sameDevice(first.device, requested)) {
    throw rangeError('options.device', `the device of the model's parameters (${first.device}); call model.to(device) first`, requested);
  }
  return first.device;
}

/**
 * Segments a volume slice by slice with a 2-D model, as the classic tutorial's inference does.
 *
 * The volume is normalised as a whole, with the same `normalizeIntensity` the dataset uses, and
 * cut into slices along `axis`. The slices run through the model in batches of `batchSize`, in
 * evaluation mode and without gradients, and the labels go back in the volume's voxel order. One-class
 * models give `sigmoid(logit) > threshold`; K-class models give the argmax over the classes.
 * Slices of any height and width work, because the UNet pads and crops. The model's training
 * mode is restored afterwards. With `thread: 'auto'` (the default) the batches of a built-in
 * UNet run on the executor's worker thread, so the event loop stays free. While a batch runs
 * there, using the model's tensors on the calling thread throws an Error with code
 * `ERR_TENSOR_BUSY`. Other models run on the calling thread, yielding to the event loop between
 * batches. An abort takes effect between batches.
 *
 * A plain `UNet` takes a faster path with the same results up to float32 rounding: its batch
 * norms are folded into the convolutions once per call, and one native call runs each batch.
 * With `autocast: 'bfloat16'` that call runs under autocast. Other modules run through
 * `model.forward`.
 *
 * @param model - A one-input-channel model such as {@link UNet}, mapping `[B, 1, H, W]` to `[B, K, H, W]`.
 * @param volume - `{ data, dims }`, e.g. a `NiftiVolume` from `readNifti`.
 * @param options - `axis`, `batchSize`, `device`, `threshold`, `normalize`, `autocast`,
 *   `probabilities`, `onProgress`, `signal`, `slices`, `thread`.
 * @returns The label mask, the dims and, when asked, the probabilities.
 * @throws TypeError or RangeError for bad arguments, including `thread: 'worker'` with a model
 *   that the worker cannot rebuild, a volume with no finite voxel and a NaN `threshold`; the
 *   signal's reason when aborted; the rejection of an `onProgress` promise.
 * @throws Error with code `ERR_TENSOR_BUSY` when `model` is in use by another off-thread call
 *   that has not settled. Until this call settles, `model` cannot be disposed either.
 * @example
 * const volume = readNifti('ch2.nii.gz');
 * const { mask } = await predictVolume(model, volume, { batchSize: 16 });
 * writeNifti('mask.nii.gz', { data: mask, dims: volume.dims, affine: volume.affine });
 */
export async function predictVolume(model: Module, volume: VolumeInput, options?: PredictOptions): Promise<PredictResult> {
  if (!(model instanceof Module)) throw typeError('model', 'a Module', model);
  checkNotLent('model', model, 'start another call');
  if (model instanceof UNet && model.inChannels !== 1) {
    throw rangeError('model', 'a model with 1 input channel (slices have one channel)', `a UNet with ${model.inChannels} input channels`);
  }
  if (volume === null || typeof volume !== 'object') throw typeError('volume', 'an object with `data` and `dims`', volume);
  const opts = checkPredictOptions(options);
  const dims = [...volume.dims];
  const total = sliceCount(dims, opts.axis);
  const { height, width } = sliceShape(dims, opts.axis);
  const voxels = total * height * width;
  if (volume.data === null || typeof volume.data !== 'object' || volume.data.length !== voxels) {
    throw rangeError('volume.data', `${voxels} voxels to match \`volume.dims\` [${dims.join(', ')}]`, volume.data?.length);
  }
  checkFiniteVoxels(volume.data as ArrayLike<number | bigint>);
  // checkEach stops at the first hole of a sparse array, where map() would step through every index.
  const indices = opts.slices === undefined ? Array.from({ length: total }, (_, i) => i) : checkEach(opts.slices, (value, i) => checkInt(`options.slices[${i}]`, value, 0, total - 1));
  const device = modelDevice(model, opts.device);
  const normalized = opts.normalize === 'none' ? toFloat32Array(volume.data as VoxelArray) : normalizeIntensity(volume.data as VoxelArray, { mode: opts.normalize });

  const mask = new Uint8Array(voxels);
  let probabilities: Float32Array | undefined;
  // Folded once per call, so a model trained between two calls never runs on stale weights.
  // On the worker thread, the worker folds its own copy.
  const onWorker = useWorker(opts.thread, model, {});
  const folded = onWorker ? null : UNetInference.prepare(model);
  const wasTraining = model.training;
  model.eval();
  let session: ExecutorSession | null = null;
  try {
    if (onWorker) session = await ExecutorSession.open(model, {});
    for (let start = 0; start < indices.length; start += opts.batchSize) {
      opts.signal?.throwIfAborted();
      const batch = indices.slice(start, start + opts.batchSize);
      const count = batch.length;
      const images = new Float32Array(count * height * width);
      for (let i = 0; i < count; i++) images.set(extractSlice(normalized, dims, opts.axis, batch[i] as number).data, i * height * width);
      const { labels, scores, classes } = await runPredictBatch(session, folded ?? model, images, [count, 1, height, width], device, opts);
      if (opts.probabilities && probabilities === undefined) probabilities = new Float32Array(classes * voxels);
      const plane = height * width;
      for (let i = 0; i < count; i++) {
        insertSlice(mask, dims, opts.axis, batch[i] as number, labels.subarray(i * plane, (i + 1) * plane));
        if (probabilities === undefined || scores === null) continue;
        for (let k = 0; k < classes; k++) {
          const offset = (i * classes + k) * plane;
          insertSlice(probabilities.subarray(k * voxels, (k + 1) * voxels), dims, opts.axis, batch[i] as number, scores.subarray(offset, offset + plane));
        }
      }
      await opts.onProgress?.(start + count, indices.length);
      await yieldToEventLoop();
    }
  } finally {
    folded?.dispose();
    session?.close();
    model.train(wasTraining);
  }
  return probabilities === undefined ? { mask, dims } : { mask, dims, probabilities };
}

/** Runs one batch with {@link predictBatch}, in the executor's worker when there is a session. */
function runPredictBatch(
  session: ExecutorSession | null,
  model: Module | UNetInference,
  images: Float32Array,
  shape: number[],
  device: string,
  opts: CheckedPredictOptions,
): ReturnType<typeof predictBatch> | Promise<ReturnType<typeof predictBatch>> {
  if (session === null) return predictBatch(model, images, shape, device, opts);
  const { threshold, autocast, probabilities } = opts;
  return session.predict({ images, shape, device, threshold, autocast, probabilities });
}

/**
 * Runs one batch of slices and returns labels `[B, H, W]` and, when asked, probabilities
 * `[B, K, H, W]`. Without probabilities, labels come from the logits directly: one class gives
 * `logit > log(t / (1 - t))`, which equals `sigmoid(logit) > t` up to rounding at the threshold,
 * and K classes give the argmax of the logits, which softmax does not change.
 *
 * @internal
 */
export function predictBatch(
  model: Module | UNetInference,
  images: Float32Array,
  shape: number[],
  device: string,
  opts: Pick<CheckedPredictOptions, 'threshold' | 'autocast' | 'probabilities'>,
): { labels: Uint8Array; scores: Float32Array | null; classes: number } {
  return noGrad(() =>
    tidy(() => {
      const input = tensor(images, shape, { device });
      const forward = (): Tensor => model.forward(input);
      const deviceType = device.startsWith('cuda') ? 'cuda' : 'cpu';
      let logits = opts.autocast === null ? forward() : autocast(opts.autocast, forward, { deviceType });
      if (logits.dtype !== 'float32') logits = logits.to('float32');
      const classes = logits.shape[1] as number;
      const threshold = opts.threshold;
      let labels: Tensor;
      let probabilities: Tensor | null = null;
      if (opts.probabilities || (classes === 1 && (threshold <= 0 || threshold >= 1))) {
        probabilities = classes === 1 ? sigmoid(logits) : softmax(logits, 1);
        labels = classes === 1 ? probabilities.gt(threshold) : probabilities.argmax(1);
      } else {
        labels = classes === 1 ? logits.gt(Math.log(threshold / (1 - threshold))) : logits.argmax(1);
      }
      return {
        labels: labels.to('uint8').data() as Uint8Array,
        scores: opts.probabilities && probabilities !== null ? (probabilities.data() as Float32Array) : null,
        classes,
      };
    }),
  );
}
