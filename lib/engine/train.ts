// SPDX-License-Identifier: MIT
//
// The training loop of the classic U-Net tutorial: epochs of zeroGrad, forward, loss, backward
// and step over a loader, with optional validation loss, Dice and Jaccard after each epoch.

import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { resolveDevice, sameDevice } from '../device.js';
import { SegmentationMetric } from '../metrics/segmentation.js';
import { ErrorCode, withCode } from '../errors.js';
import { Module } from '../nn/module.js';
import { sigmoid } from '../nn/functional.js';
import { Optimizer } from '../optim/optimizer.js';
import { autocast, formatShape, isTensor, noGrad, tensor, tidy, type Tensor } from '../tensor.js';
import { checkInt, checkKnownKeys, checkOneOf, checkOptions, rangeError, typeError } from '../validate.js';

/** One batch of 2-D slices, as the data loader yields it. */
export interface TrainBatch {
  /** Image intensities `[B, C, H, W]`, row-major. */
  images: Float32Array;
  /** Masks or class labels `[B, 1, H, W]` (same B, H, W), or null when the data has none. */
  masks: Float32Array | null;
  /** `[B, C, H, W]` of `images`. */
  shape: readonly number[];
}

/** Anything that yields batches, once per epoch: a DataLoader, an array, a generator function's iterable. */
export type BatchSource<B extends TrainBatch = TrainBatch> = (Iterable<B> | AsyncIterable<B>) & { readonly length?: number };

/** A loss: a module such as {@link DiceLoss}, or a function of (logits, target) returning a scalar. */
export type LossFunction = { forward(input: Tensor, target: Tensor): Tensor } | ((input: Tensor, target: Tensor) => Tensor);

/** Progress after one training batch. */
export interface BatchInfo {
  /** 1-based epoch number. */
  epoch: number;
  /** 1-based batch number within the epoch. */
  batch: number;
  /** Batches per epoch when the loader reports a `length`, else null. */
  batches: number | null;
  /** This batch's loss. */
  loss: number;
  /** Seconds this batch took, from tensor creation to the optimizer step. */
  seconds: number;
}

/** Results of one epoch. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's samples. */
  loss: number;
  /** Mean validation loss over the validation samples (with `valLoader`). */
  valLoss?: number;
  /** Dice over the whole validation set, from accumulated counts (with `valLoader`). */
  valDice?: number;
  /** Jaccard index over the whole validation set (with `valLoader`). */
  valJaccard?: number;
  /** Seconds the epoch took, validation included. */
  seconds: number;
}

/** Result of {@link trainModel}: one record per epoch. */
export interface TrainHistory {
  epochs: EpochRecord[];
}

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** Batches for validation after each epoch; each must have masks. */
  valLoader?: BatchSource;
  /** Called after each training batch. */
  onBatch?: (info: BatchInfo) => void;
  /** Called after each epoch (and its validation). */
  onEpoch?: (record: EpochRecord) => void;
  /** Run the forward pass under autocast in this dtype; the loss is computed in float32. Default null. */
  autocast?: 'bfloat16' | null;
  /** Stops training between batches; `trainModel` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives one summary line per epoch. */
  log?: (message: string) => void;
}

interface CheckedTrainOptions {
  valLoader: BatchSource | undefined;
  onBatch: ((info: BatchInfo) => void) | undefined;
  onEpoch: ((record: EpochRecord) => void) | undefined;
  autocast: 'bfloat16' | null;
  signal: AbortSignal | undefined;
  log: ((message: string) => void) | undefined;
}

function checkFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw typeError(name, 'a function', value);
  return value as F;
}

function isBatchSource(value: unknown): value is BatchSource {
  return value !== null && typeof value === 'object' && (Symbol.iterator in value || Symbol.asyncIterator in value);
}

function checkTrainOptions(options: unknown): CheckedTrainOptions {
  const opts = checkOptions<TrainOptions>('options', options);
  checkKnownKeys('options', opts, ['valLoader', 'onBatch', 'onEpoch', 'autocast', 'signal', 'log'], 'trainModel');
  if (opts.valLoader !== undefined && !isBatchSource(opts.valLoader)) {
    throw typeError('options.valLoader', 'an iterable or async iterable of batches', opts.valLoader);
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', opts.signal);
  return {
    valLoader: opts.valLoader,
    onBatch: checkFunction('options.onBatch', opts.onBatch),
    onEpoch: checkFunction('options.onEpoch', opts.onEpoch),
    autocast: opts.autocast == null ? null : checkOneOf('options.autocast', opts.autocast, ['bfloat16'] as const),
    signal: opts.signal,
    log: checkFunction('options.log', opts.log),
  };
}

/** Calls a loss given as a module or a function, and checks that it returns a scalar tensor. */
export function computeLoss(lossFn: LossFunction, logits: Tensor, target: Tensor): Tensor {
  const loss = typeof lossFn === 'function' ? lossFn(logits, target) : lossFn.forward(logits, target);
  if (!isTensor(loss) || loss.numel() !== 1) {
    throw typeError('lossFn', 'a loss returning a scalar Tensor', isTensor(loss) ? formatShape(loss.shape) : loss);
  }
  return loss;
}

function checkLossFunction(value: unknown): LossFunction {
  if (typeof value === 'function') return value as LossFunction;
  if (value !== null && typeof value === 'object' && typeof (value as { forward?: unknown }).forward === 'function') {
    return value as LossFunction;
  }
  throw typeError('lossFn', 'a loss module (with `forward(input, target)`) or a function', value);
}

/** Copies a batch into tensors on `device`: images `[B, C, H, W]` and masks `[B, 1, H, W]`. */
export function batchTensors(batch: TrainBatch, device: string, needMasks: boolean): { images: Tensor; masks: Tensor | null } {
  if (batch === null || typeof batch !== 'object' || !(batch.images instanceof Float32Array)) {
    throw typeError('batch', 'an object with `images` (Float32Array), `masks` and `shape`', batch);
  }
  if (!Array.isArray(batch.shape) || batch.shape.length !== 4) throw typeError('batch.shape', 'a [B, C, H, W] array', batch.shape);
  const [b, , h, w] = batch.shape as [number, number, number, number];
  const images = tensor(batch.images, [...batch.shape], { device });
  if (batch.masks === null || batch.masks === undefined) {
    if (needMasks) throw rangeError('batch.masks', 'a Float32Array (training and validation need masks)', batch.masks);
    return { images, masks: null };
  }
  if (!(batch.masks instanceof Float32Array)) throw typeError('batch.masks', 'a Float32Array or null', batch.masks);
  if (batch.masks.length !== b * h * w) {
    throw rangeError('batch.masks', `${b * h * w} values, one per pixel of [${b}, 1, ${h}, ${w}]`, `an array of length ${batch.masks.length}`);
  }
  return { images, masks: tensor(batch.masks, [b, 1, h, w], { device }) };
}

/** Runs the model's forward pass, under autocast when asked, and returns float32 logits. */
function forwardLogits(model: Module, images: Tensor, dtype: 'bfloat16' | null, device: string): Tensor {
  if (dtype === null) return model.forward(images);
  const deviceType = device.startsWith('cuda') ? 'cuda' : 'cpu';
  const logits = autocast(dtype, () => model.forward(images), { deviceType });
  return logits.dtype === 'float32' ? logits : logits.to('float32');
}

/**
 * Trains a model for a number of epochs, as the classic PyTorch loop does: for each batch,
 * move it to `device`, `optimizer.zeroGrad()`, forward, loss, `backward()`, `optimizer.step()`.
 *
 * Each epoch starts with `model.train()`. With `valLoader`, each epoch ends with `model.eval()`
 * and, without gradients, the validation loss and the Dice and Jaccard of the hard predictions
 * (sigmoid > 0.5 for one channel, argmax for several), counted over the whole validation set.
 * Every per-batch tensor is freed before the next batch. The loop awaits the event loop between
 * batches, so timers and I/O keep running, but each batch itself runs on the calling thread.
 * The model's training mode is restored at the end.
 *
 * The model must already be on `device`, and the optimizer built after that move.
 *
 * @param model - The model, e.g. a {@link UNet}; its `forward` maps `[B, C, H, W]` to logits `[B, K, H, W]`.
 * @param loader - Training batches, iterated once per epoch.
 * @param optimizer - An {@link Adam} or {@link SGD} over `model.parameters()`.
 * @param lossFn - E.g. `new DiceLoss()`.
 * @param device - 'cpu', 'cuda', 'cuda:N' or 'auto'.
 * @param epochs - Number of passes over `loader`, >= 1.
 * @param options - `valLoader`, `onBatch`, `onEpoch`, `autocast`, `signal`, `log`.
 * @returns The per-epoch losses and validation scores.
 * @throws TypeError or RangeError for bad arguments (before any training); the signal's reason when aborted.
 * @throws Error with code `ERR_NON_FINITE_LOSS` at the first batch whose loss is NaN or infinite. That
 *   batch's backward pass and optimizer step do not run and its batch-norm statistics are rolled
 *   back, but earlier steps are kept, so a step that made the weights huge but finite is only
 *   caught at the next batch.
 * @example
 * const model = new UNet({ baseWidth: 16 });
 * const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
 * const history = await trainModel(model, trainLoader, optimizer, new DiceLoss(), 'cpu', 10, { valLoader });
 */
export async function trainModel(
  model: Module,
  loader: BatchSource,
  optimizer: Optimizer,
  lossFn: LossFunction,
  device: string,
  epochs: number,
  options?: TrainOptions,
): Promise<TrainHistory> {
  if (!(model instanceof Module)) throw typeError('model', 'a Module', model);
  if (!isBatchSource(loader)) throw typeError('loader', 'an iterable or async iterable of batches', loader);
  if (!(optimizer instanceof Optimizer)) throw typeError('optimizer', 'an Optimizer (Adam or SGD)', optimizer);
  const loss = checkLossFunction(lossFn);
  const target = resolveDevice(device);
  checkInt('epochs', epochs, 1);
  const opts = checkTrainOptions(options);
  checkModelDevice(model, target);

  const wasTraining = model.training;
  const history: TrainHistory = { epochs: [] };
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      model.train();
      const trainLoss = await trainEpoch(model, loader, optimizer, loss, target, epoch, opts);
      const record: EpochRecord = { epoch, loss: trainLoss, seconds: 0 };
      if (opts.valLoader !== undefined) {
        model.eval();
        Object.assign(record, await evaluateModel(model, opts.valLoader, loss, target, opts));
      }
      record.seconds = (performance.now() - started) / 1000;
      history.epochs.push(record);
      opts.onEpoch?.(record);
      opts.log?.(formatEpoch(record, epochs));
    }
  } finally {
    model.train(wasTraining);
  }
  return history;
}

function checkModelDevice(model: Module, device: string): void {
  const misplaced = model.namedParameters().find(([, value]) => !sameDevice(value.device, device));
  if (misplaced !== undefined) {
    throw rangeError(
      'device',
      `the device of the model's parameters (\`${misplaced[0]}\` is on ${misplaced[1].device}); call model.to(device) before building the optimizer`,
      device,
    );
  }
}

async function trainEpoch(
  model: Module,
  loader: BatchSource,
  optimizer: Optimizer,
  lossFn: LossFunction,
  device: string,
  epoch: number,
  opts: CheckedTrainOptions,
): Promise<number> {
  const batches = typeof loader.length === 'number' ? loader.length : null;
  let total = 0;
  let samples = 0;
  let index = 0;
  opts.signal?.throwIfAborted();
  for await (const batch of loader) {
    index++;
    const started = performance.now();
    const value = tidy(() => {
      const { images, masks } = batchTensors(batch, device, true);
      optimizer.zeroGrad();
      // The forward pass updates batch-norm running statistics in place. These copies, tiny next
      // to the activations, restore them if the loss turns out not to be finite.
      const buffers = model.buffers();
      const savedBuffers = noGrad(() => buffers.map((buffer) => buffer.clone()));
      const logits = forwardLogits(model, images, opts.autocast, device);
      const lossTensor = computeLoss(lossFn, logits, masks as Tensor);
      const lossValue = lossTensor.item();
      // Checked before backward() and step(), so a diverged batch leaves the weights as they were.
      if (!Number.isFinite(lossValue)) {
        noGrad(() => buffers.forEach((buffer, i) => buffer.copy_(savedBuffers[i] as Tensor)));
        throw nonFiniteLossError(lossValue, epoch, index, batches);
      }
      lossTensor.backward();
      optimizer.step();
      return lossValue;
    });
    const size = batch.shape[0] as number;
    total += value * size;
    samples += size;
    opts.onBatch?.({ epoch, batch: index, batches, loss: value, seconds: (performance.now() - started) / 1000 });
    await yieldToEventLoop();
    opts.signal?.throwIfAborted();
  }
  if (samples === 0) throw rangeError('loader', 'a loader that yields at least one batch per epoch', loader);
  return total / samples;
}

function nonFiniteLossError(loss: number, epoch: number, batch: number, batches: number | null): Error {
  const position = batches === null ? `batch ${batch}` : `batch ${batch}/${batches}`;
  const message =
    `training diverged: the loss is ${loss} at epoch ${epoch}, ${position}; ` +
    'the weights and batch-norm statistics are left as they were before this batch. Lower the learning rate, ' +
    'or check the images and masks for NaN or Inf values';
  return withCode(new Error(message), ErrorCode.NON_FINITE_LOSS);
}

/** Validation scores as {@link EpochRecord} stores them. */
export interface EvaluationResult {
  valLoss: number;
  valDice: number;
  valJaccard: number;
}

/**
 * Computes the mean loss and the accumulated Dice and Jaccard of a model over a loader, in
 * evaluation mode as the caller set it and without gradients.
 *
 * @param model - The model, on `device`.
 * @param loader - Batches with masks.
 * @param lossFn - The loss to report.
 * @param device - A concrete device string.
 * @param options - `autocast` and `signal`.
 */
export async function evaluateModel(
  model: Module,
  loader: BatchSource,
  lossFn: LossFunction,
  device: string,
  options: { autocast?: 'bfloat16' | null; signal?: AbortSignal | undefined } = {},
): Promise<EvaluationResult> {
  const metric = new SegmentationMetric();
  let total = 0;
  let samples = 0;
  for await (const batch of loader) {
    options.signal?.throwIfAborted();
    const value = noGrad(() =>
      tidy(() => {
        const { images, masks } = batchTensors(batch, device, true);
        const logits = forwardLogits(model, images, options.autocast ?? null, device);
        const lossValue = computeLoss(lossFn, logits, masks as Tensor).item();
        metric.update(logits.shape[1] === 1 ? sigmoid(logits) : logits, masks as Tensor);
        return lossValue;
      }),
    );
    const size = batch.shape[0] as number;
    total += value * size;
    samples += size;
    await yieldToEventLoop();
  }
  if (samples === 0) throw rangeError('options.valLoader', 'a loader that yields at least one batch', loader);
  const scores = metric.compute();
  return { valLoss: total / samples, valDice: scores.dice, valJaccard: scores.jaccard };
}

function formatEpoch(record: EpochRecord, epochs: number): string {
  const parts = [`epoch ${record.epoch}/${epochs}`, `loss ${record.loss.toFixed(4)}`];
  if (record.valLoss !== undefined) parts.push(`val loss ${record.valLoss.toFixed(4)}`);
  if (record.valDice !== undefined) parts.push(`val dice ${record.valDice.toFixed(4)}`);
  if (record.valJaccard !== undefined) parts.push(`val jaccard ${record.valJaccard.toFixed(4)}`);
  parts.push(`${record.seconds.toFixed(1)} s`);
  return parts.join(', ');
}
