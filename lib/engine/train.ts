// SPDX-License-Identifier: MIT
//
// The training loop of the classic U-Net tutorial: epochs of zeroGrad, forward, loss, backward
// and step over a loader, with optional validation loss, Dice and Jaccard after each epoch. The
// steps run on the executor's worker thread when the model allows it (executor.ts).

import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { resolveDevice, sameDevice } from '../device.js';
import { SegmentationMetric } from '../metrics/segmentation.js';
import { ErrorCode, withCode } from '../errors.js';
import { Module } from '../nn/module.js';
import { sigmoid } from '../nn/functional.js';
import { Optimizer } from '../optim/optimizer.js';
import { autocast, checkTensor, formatShape, isTensor, noGrad, tensor, tidy, type Tensor } from '../tensor.js';
import { checkInt, checkKnownKeys, checkOneOf, checkOptions, rangeError, typeError } from '../validate.js';
import { ExecutorSession, THREAD_MODES, useWorker, type ThreadMode } from './executor.js';
import { checkNotLent } from './lent.js';

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
  /**
   * Seconds of the epoch's training loop spent waiting for the loader, that is, loading that
   * did not overlap a step running on the worker thread. On the main thread all loading waits.
   */
  dataWaitSeconds: number;
}

/** Result of {@link trainModel}: one record per epoch. */
export interface TrainHistory {
  epochs: EpochRecord[];
}

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** Batches for validation after each epoch; each must have masks. */
  valLoader?: BatchSource;
  /**
   * Called after each training batch. When it returns a promise, training waits for it before
   * the next batch, and a rejection rejects `trainModel` with that error.
   */
  onBatch?: (info: BatchInfo) => void | Promise<void>;
  /**
   * Called after each epoch (and its validation). When it returns a promise, training waits for
   * it before the next epoch, and a rejection rejects `trainModel` with that error.
   */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Run the forward pass under autocast in this dtype; the loss is computed in float32. Default null. */
  autocast?: 'bfloat16' | null;
  /** Stops training between batches; `trainModel` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives one summary line per epoch. */
  log?: (message: string) => void;
  /**
   * The thread the steps run on. 'worker' is the executor's worker thread, so the event loop
   * stays free, and 'main' the calling thread. 'auto', the default, picks the worker when the
   * model is a built-in UNet, the loss a DiceLoss and the optimizer Adam or SGD, and the
   * calling thread otherwise.
   */
  thread?: ThreadMode;
}

interface CheckedTrainOptions {
  valLoader: BatchSource | undefined;
  onBatch: ((info: BatchInfo) => void | Promise<void>) | undefined;
  onEpoch: ((record: EpochRecord) => void | Promise<void>) | undefined;
  autocast: 'bfloat16' | null;
  signal: AbortSignal | undefined;
  log: ((message: string) => void) | undefined;
  thread: ThreadMode;
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
  checkKnownKeys('options', opts, ['valLoader', 'onBatch', 'onEpoch', 'autocast', 'signal', 'log', 'thread'], 'trainModel');
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
    thread: checkOneOf('options.thread', opts.thread ?? 'auto', THREAD_MODES),
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

/** Checks a batch's fields (not the image size against `shape`, which tensor creation checks). */
function checkBatch(batch: TrainBatch, needMasks: boolean): void {
  if (batch === null || typeof batch !== 'object' || !(batch.images instanceof Float32Array)) {
    throw typeError('batch', 'an object with `images` (Float32Array), `masks` and `shape`', batch);
  }
  if (!Array.isArray(batch.shape) || batch.shape.length !== 4) throw typeError('batch.shape', 'a [B, C, H, W] array', batch.shape);
  const [b, , h, w] = batch.shape as [number, number, number, number];
  if (batch.masks === null || batch.masks === undefined) {
    if (needMasks) throw rangeError('batch.masks', 'a Float32Array (training and validation need masks)', batch.masks);
    return;
  }
  if (!(batch.masks instanceof Float32Array)) throw typeError('batch.masks', 'a Float32Array or null', batch.masks);
  if (batch.masks.length !== b * h * w) {
    throw rangeError('batch.masks', `${b * h * w} values, one per pixel of [${b}, 1, ${h}, ${w}]`, `an array of length ${batch.masks.length}`);
  }
}

/** Copies a batch into tensors on `device`: images `[B, C, H, W]` and masks `[B, 1, H, W]`. */
export function batchTensors(batch: TrainBatch, device: string, needMasks: boolean): { images: Tensor; masks: Tensor | null } {
  checkBatch(batch, needMasks);
  const [b, , h, w] = batch.shape as [number, number, number, number];
  const images = tensor(batch.images, [...batch.shape], { device });
  if (batch.masks === null || batch.masks === undefined) return { images, masks: null };
  return { images, masks: tensor(batch.masks, [b, 1, h, w], { device }) };
}

/** Runs the model's forward pass, under autocast when asked, and returns float32 logits. */
function forwardLogits(model: Module, images: Tensor, dtype: 'bfloat16' | null, device: string): Tensor {
  if (dtype === null) return model.forward(images);
  const deviceType = device.startsWith('cuda') ? 'cuda' : 'cpu';
  const logits = autocast(dtype, () => model.forward(images), { deviceType });
  return logits.dtype === 'float32' ? logits : logits.to('float32');
}

/** The part of an optimizer that a training step uses: a TypeScript {@link Optimizer} or a native one. */
interface StepOptimizer {
  zeroGrad(): void;
  step(): void;
}

/** Position of a step in `trainModel`, for the message of a non-finite loss. */
interface StepPosition {
  epoch: number;
  batch: number;
  batches: number | null;
}

/**
 * Runs one training step on tensors: zeroGrad, forward, loss, backward, step. A non-finite loss
 * restores the batch-norm statistics and throws before backward and step. This is the body of
 * {@link trainStep}, of each `trainModel` batch, and of the executor worker's steps.
 *
 * @internal
 */
export function runTrainStep(
  model: Module,
  optimizer: StepOptimizer,
  lossFn: LossFunction,
  images: Tensor,
  masks: Tensor,
  dtype: 'bfloat16' | null,
  device: string,
  position: StepPosition | null,
): number {
  return tidy(() => {
    optimizer.zeroGrad();
    // The forward pass updates batch-norm running statistics in place. These copies, tiny next
    // to the activations, restore them if the loss turns out not to be finite.
    const buffers = model.buffers();
    const savedBuffers = noGrad(() => buffers.map((buffer) => buffer.clone()));
    const logits = forwardLogits(model, images, dtype, device);
    const lossTensor = computeLoss(lossFn, logits, masks);
    const lossValue = lossTensor.item();
    // Checked before backward() and step(), so a diverged batch leaves the weights as they were.
    if (!Number.isFinite(lossValue)) {
      noGrad(() => buffers.forEach((buffer, i) => buffer.copy_(savedBuffers[i] as Tensor)));
      throw nonFiniteLossError(lossValue, position);
    }
    lossTensor.backward();
    optimizer.step();
    return lossValue;
  });
}

/** Options of {@link trainStep} and {@link trainStepAsync}. */
export interface TrainStepOptions {
  /** Run the forward pass under autocast in this dtype; the loss is computed in float32. Default null. */
  autocast?: 'bfloat16' | null;
}

interface CheckedStep {
  loss: LossFunction;
  device: string;
  autocast: 'bfloat16' | null;
}

function checkStepArguments(model: unknown, optimizer: unknown, lossFn: unknown, images: unknown, masks: unknown, options: unknown): CheckedStep {
  if (!(model instanceof Module)) throw typeError('model', 'a Module', model);
  if (!(optimizer instanceof Optimizer)) throw typeError('optimizer', 'an Optimizer (Adam or SGD)', optimizer);
  checkModelFree(model, optimizer);
  checkOptimizerOwner(model, optimizer);
  const loss = checkLossFunction(lossFn);
  const input = checkTensor('images', images);
  const target = checkTensor('masks', masks);
  if (input.dim() !== 4) throw rangeError('images', 'a [B, C, H, W] tensor', formatShape(input.shape));
  const [b, , h, w] = input.shape as [number, number, number, number];
  if (!sameShape(target.shape, [b, 1, h, w])) throw rangeError('masks', `a [${b}, 1, ${h}, ${w}] tensor`, formatShape(target.shape));
  const opts = checkOptions<TrainStepOptions>('options', options);
  checkKnownKeys('options', opts, ['autocast'], 'trainStep');
  const device = input.device;
  checkModelDevice(model, device);
  return { loss, device, autocast: opts.autocast == null ? null : checkOneOf('options.autocast', opts.autocast, ['bfloat16'] as const) };
}

/** Throws ERR_TENSOR_BUSY when the model or the optimizer is lent to another off-thread call. */
function checkModelFree(model: Module, optimizer: Optimizer | null): void {
  checkNotLent('model', model, 'start another call');
  if (optimizer !== null) checkNotLent('optimizer', optimizer, 'start another call');
}

/**
 * Throws a RangeError naming `optimizer` when none of its parameters is a parameter of `model`,
 * as when the optimizer was built over another model or before `model.to(device)`.
 */
function checkOptimizerOwner(model: Module, optimizer: Optimizer): void {
  const own = new Set<Tensor>(model.parameters());
  if (optimizer.params.some((param) => own.has(param))) return;
  throw rangeError(
    'optimizer',
    'an optimizer over `model.parameters()`, built after `model.to(device)`',
    `${optimizer.constructor.name} over ${optimizer.params.length} tensors, none of them a parameter of \`model\``,
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/**
 * Runs one training step on the calling thread, as the body of the classic PyTorch loop:
 * `optimizer.zeroGrad()`, forward, loss, `backward()`, `optimizer.step()`. The model's training
 * mode is used as it is.
 *
 * @param model - The model, with its parameters on the device of `images`.
 * @param optimizer - An {@link Adam} or {@link SGD} over the model's parameters.
 * @param lossFn - E.g. `new DiceLoss()`.
 * @param images - `[B, C, H, W]`.
 * @param masks - `[B, 1, H, W]`, on the same device.
 * @param options - `autocast`.
 * @returns The loss of the batch.
 * @throws TypeError or RangeError for bad arguments.
 * @throws Error with code `ERR_NON_FINITE_LOSS` when the loss is NaN or infinite; the weights and
 *   batch-norm statistics are then left as they were.
 * @example
 * const loss = trainStep(model, optimizer, new DiceLoss(), images, masks);
 */
export function trainStep(model: Module, optimizer: Optimizer, lossFn: LossFunction, images: Tensor, masks: Tensor, options?: TrainStepOptions): number {
  const checked = checkStepArguments(model, optimizer, lossFn, images, masks, options);
  return runTrainStep(model, optimizer, checked.loss, images, masks, checked.autocast, checked.device, null);
}

/**
 * Runs {@link trainStep} on the executor's worker thread, so the event loop stays free while
 * libtorch computes. The model must be a built-in {@link UNet}, the loss a {@link DiceLoss} and
 * the optimizer {@link Adam} or {@link SGD}. Until the promise settles, using the model's
 * tensors or the optimizer on the calling thread throws an Error with code `ERR_TENSOR_BUSY`.
 * Each call rebuilds the model in the worker; `trainModel` rebuilds it once per call.
 *
 * @param model - A UNet, with its parameters on the device of `images`.
 * @param optimizer - An Adam or SGD over the model's parameters.
 * @param lossFn - A DiceLoss.
 * @param images - `[B, C, H, W]`.
 * @param masks - `[B, 1, H, W]`, on the same device.
 * @param options - `autocast`.
 * @returns The loss of the batch.
 * @throws RangeError (rejection) with code `ERR_OUT_OF_RANGE` naming `model` when the worker
 *   cannot run this model, loss and optimizer; the errors of {@link trainStep} otherwise.
 * @example
 * const loss = await trainStepAsync(model, optimizer, new DiceLoss(), images, masks);
 */
export async function trainStepAsync(
  model: Module,
  optimizer: Optimizer,
  lossFn: LossFunction,
  images: Tensor,
  masks: Tensor,
  options?: TrainStepOptions,
): Promise<number> {
  const checked = checkStepArguments(model, optimizer, lossFn, images, masks, options);
  try {
    useWorker('worker', model, { loss: checked.loss, optimizer });
  } catch {
    throw rangeError('model', 'a built-in UNet trained with a DiceLoss and Adam or SGD, which the worker can rebuild', model.constructor.name);
  }
  const arrays = tidy(() => ({ images: images.to('float32').data() as Float32Array, masks: masks.to('float32').data() as Float32Array }));
  const session = await ExecutorSession.open(model, { loss: checked.loss, optimizer });
  try {
    return await session.train({
      ...arrays,
      shape: [...images.shape],
      device: checked.device,
      autocast: checked.autocast,
      position: null,
    });
  } finally {
    session.close();
  }
}

/**
 * Trains a model for a number of epochs, as the classic PyTorch loop does: for each batch,
 * move it to `device`, `optimizer.zeroGrad()`, forward, loss, `backward()`, `optimizer.step()`.
 *
 * Each epoch starts with `model.train()`. With `valLoader`, each epoch ends with `model.eval()`
 * and, without gradients, the validation loss and the Dice and Jaccard of the hard predictions
 * (sigmoid > 0.5 for one channel, argmax for several), counted over the whole validation set.
 * Every per-batch tensor is freed before the next batch. The model's training mode is restored
 * at the end.
 *
 * By default (`thread: 'auto'`) the steps and validation batches of a built-in UNet with a
 * DiceLoss and Adam or SGD run on the executor's worker thread, and the event loop stays free.
 * While the worker runs step N, the loop reads batch N + 1 from the loader. Other models and
 * losses run on the calling thread, which then awaits the event loop only between batches.
 * While a step runs in the worker, using the model's tensors or the optimizer on the calling
 * thread throws an Error with code `ERR_TENSOR_BUSY`. Between steps (in `onBatch` and
 * `onEpoch`) they can be read. Until the call settles, disposing the model or the optimizer or
 * passing them to another call throws `ERR_TENSOR_BUSY`. Do not call `model.train()` or
 * `model.eval()` meanwhile either, because `trainModel` sets the mode itself.
 *
 * The model must already be on `device`, and the optimizer built after that move.
 *
 * @param model - The model, e.g. a {@link UNet}; its `forward` maps `[B, C, H, W]` to logits `[B, K, H, W]`.
 * @param loader - Training batches, iterated once per epoch.
 * @param optimizer - An {@link Adam} or {@link SGD} over `model.parameters()`.
 * @param lossFn - E.g. `new DiceLoss()`.
 * @param device - 'cpu', 'cuda', 'cuda:N' or 'auto'.
 * @param epochs - Number of passes over `loader`, >= 1.
 * @param options - `valLoader`, `onBatch`, `onEpoch`, `autocast`, `signal`, `log`, `thread`.
 * @returns The per-epoch losses and validation scores.
 * @throws TypeError or RangeError for bad arguments (before any training), including
 *   `thread: 'worker'` with a model, loss or optimizer that the worker cannot rebuild.
 * @throws RangeError naming `optimizer` when none of its parameters is a parameter of `model`.
 * @throws Error with code `ERR_TENSOR_BUSY` when `model` or `optimizer` is in use by another
 *   off-thread call that has not settled.
 * @throws The rejection of an `onBatch` or `onEpoch` promise.
 * @throws The signal's reason when aborted. The abort takes effect between batches: a step
 *   already running finishes, so the weights, batch-norm statistics and optimizer state are
 *   those after the last finished step.
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
  checkModelFree(model, optimizer);
  checkOptimizerOwner(model, optimizer);
  const loss = checkLossFunction(lossFn);
  const target = resolveDevice(device);
  checkInt('epochs', epochs, 1);
  const opts = checkTrainOptions(options);
  checkModelDevice(model, target);
  const offThread = useWorker(opts.thread, model, { loss, optimizer });

  const wasTraining = model.training;
  const history: TrainHistory = { epochs: [] };
  const session = offThread ? await ExecutorSession.open(model, { loss, optimizer }) : null;
  const runner = session === null ? mainThreadRunner(model, optimizer, loss, target, opts) : workerRunner(session, target, opts);
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      model.train();
      const { loss: trainLoss, dataWaitSeconds } = await trainEpoch(loader, runner, epoch, opts);
      const record: EpochRecord = { epoch, loss: trainLoss, seconds: 0, dataWaitSeconds };
      if (opts.valLoader !== undefined) {
        model.eval();
        Object.assign(record, await evaluateLoader(opts.valLoader, runner.evaluate, opts.signal));
      }
      record.seconds = (performance.now() - started) / 1000;
      history.epochs.push(record);
      await opts.onEpoch?.(record);
      opts.log?.(formatEpoch(record, epochs));
    }
  } finally {
    session?.close();
    model.train(wasTraining);
  }
  return history;
}

/** Runs the batches of one `trainModel` call, on the calling thread or in the worker. */
interface BatchRunner {
  /** True when `train` runs elsewhere, so that the loop can read the next batch meanwhile. */
  overlaps: boolean;
  train(batch: TrainBatch, position: StepPosition): number | Promise<number>;
  evaluate(batch: TrainBatch): EvaluatedBatch | Promise<EvaluatedBatch>;
}

function mainThreadRunner(model: Module, optimizer: Optimizer, lossFn: LossFunction, device: string, opts: CheckedTrainOptions): BatchRunner {
  return {
    overlaps: false,
    train: (batch, position) =>
      tidy(() => {
        const { images, masks } = batchTensors(batch, device, true);
        return runTrainStep(model, optimizer, lossFn, images, masks as Tensor, opts.autocast, device, position);
      }),
    evaluate: (batch) => evaluateBatch(model, lossFn, batch, device, opts.autocast),
  };
}

function workerRunner(session: ExecutorSession, device: string, opts: CheckedTrainOptions): BatchRunner {
  return {
    overlaps: true,
    train: (batch, position) => {
      checkBatch(batch, true);
      const fields = { images: batch.images, masks: batch.masks as Float32Array, shape: [...batch.shape] };
      return session.train({ ...fields, device, autocast: opts.autocast, position });
    },
    evaluate: (batch) => {
      checkBatch(batch, true);
      return session.evaluate({ images: batch.images, masks: batch.masks as Float32Array, shape: [...batch.shape], device, autocast: opts.autocast });
    },
  };
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

/**
 * Reads a loader's batches one ahead: `next()` starts reading the following batch at once, so
 * that a synchronous loader does its work while a worker step runs, and `take()` waits for it.
 */
class Prefetcher {
  readonly #iterator: Iterator<TrainBatch> | AsyncIterator<TrainBatch>;
  #ahead: Promise<IteratorResult<TrainBatch>> | null = null;
  waitSeconds = 0;

  constructor(loader: BatchSource) {
    this.#iterator = Symbol.asyncIterator in loader ? (loader as AsyncIterable<TrainBatch>)[Symbol.asyncIterator]() : (loader as Iterable<TrainBatch>)[Symbol.iterator]();
  }

  /** Starts reading the next batch. */
  readAhead(): void {
    if (this.#ahead !== null) return;
    try {
      this.#ahead = Promise.resolve(this.#iterator.next());
    } catch (error) {
      this.#ahead = Promise.reject(error);
    }
    // A failure surfaces when take() awaits it; until then it must not count as unhandled.
    this.#ahead.catch(() => undefined);
  }

  /** Returns the next batch, or undefined at the end, and counts the time spent waiting. */
  async take(): Promise<TrainBatch | undefined> {
    const started = performance.now();
    this.readAhead();
    const ahead = this.#ahead as Promise<IteratorResult<TrainBatch>>;
    this.#ahead = null;
    const result = await ahead;
    // A synchronous iterable may yield promises of batches; `for await` would await them too.
    const batch = result.done === true ? undefined : await result.value;
    this.waitSeconds += (performance.now() - started) / 1000;
    return batch;
  }

  /** Closes the iterator early, as `break` in a for-of loop does. */
  async close(): Promise<void> {
    const pendingRead = this.#ahead;
    this.#ahead = null;
    if (pendingRead !== null) await pendingRead.catch(() => undefined);
    await this.#iterator.return?.();
  }
}

async function trainEpoch(
  loader: BatchSource,
  runner: BatchRunner,
  epoch: number,
  opts: CheckedTrainOptions,
): Promise<{ loss: number; dataWaitSeconds: number }> {
  const batches = typeof loader.length === 'number' ? loader.length : null;
  let total = 0;
  let samples = 0;
  let index = 0;
  opts.signal?.throwIfAborted();
  const prefetcher = new Prefetcher(loader);
  let finished = false;
  try {
    for (let batch = await prefetcher.take(); batch !== undefined; batch = await prefetcher.take()) {
      index++;
      const started = performance.now();
      const step = runner.train(batch, { epoch, batch: index, batches });
      if (runner.overlaps) prefetcher.readAhead();
      const value = await step;
      const size = batch.shape[0] as number;
      total += value * size;
      samples += size;
      await opts.onBatch?.({ epoch, batch: index, batches, loss: value, seconds: (performance.now() - started) / 1000 });
      if (!runner.overlaps) await yieldToEventLoop();
      opts.signal?.throwIfAborted();
    }
    finished = true;
  } finally {
    if (!finished) await prefetcher.close();
  }
  if (samples === 0) throw rangeError('loader', 'a loader that yields at least one batch per epoch', loader);
  return { loss: total / samples, dataWaitSeconds: prefetcher.waitSeconds };
}

function nonFiniteLossError(loss: number, position: StepPosition | null): Error {
  let where = '';
  if (position !== null) {
    const batch = position.batches === null ? `batch ${position.batch}` : `batch ${position.batch}/${position.batches}`;
    where = ` at epoch ${position.epoch}, ${batch}`;
  }
  const message =
    `training diverged: the loss is ${loss}${where}; ` +
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

/** Loss and hard labels of one validation batch. */
interface EvaluatedBatch {
  loss: number;
  /** Labels `[B, H, W]`: 0 or 1 for one channel, class indices for several. */
  labels: Uint8Array | Int32Array;
  classes: number;
}

/**
 * Computes the loss and the hard labels of one validation batch, without gradients, in the
 * model's current mode: `sigmoid(logit) > 0.5` for one channel, the argmax for several, as
 * {@link SegmentationMetric} labels them.
 *
 * @internal
 */
export function evaluateBatch(model: Module, lossFn: LossFunction, batch: TrainBatch, device: string, dtype: 'bfloat16' | null): EvaluatedBatch {
  return noGrad(() =>
    tidy(() => {
      const { images, masks } = batchTensors(batch, device, true);
      const logits = forwardLogits(model, images, dtype, device);
      const loss = computeLoss(lossFn, logits, masks as Tensor).item();
      const classes = logits.shape[1] as number;
      const labels = classes === 1 ? sigmoid(logits).gt(0.5).to('uint8').data() : logits.argmax(1).to('int32').data();
      return { loss, labels: labels as Uint8Array | Int32Array, classes };
    }),
  );
}

async function evaluateLoader(
  loader: BatchSource,
  evaluate: (batch: TrainBatch) => EvaluatedBatch | Promise<EvaluatedBatch>,
  signal: AbortSignal | undefined,
): Promise<EvaluationResult> {
  let metric: SegmentationMetric | null = null;
  let total = 0;
  let samples = 0;
  for await (const batch of loader) {
    signal?.throwIfAborted();
    const result = await evaluate(batch);
    metric ??= new SegmentationMetric({ numClasses: result.classes });
    metric.update(result.labels, batch.masks as Float32Array);
    const size = batch.shape[0] as number;
    total += result.loss * size;
    samples += size;
    await yieldToEventLoop();
  }
  if (samples === 0 || metric === null) throw rangeError('options.valLoader', 'a loader that yields at least one batch', loader);
  const scores = metric.compute();
  return { valLoss: total / samples, valDice: scores.dice, valJaccard: scores.jaccard };
}

/**
 * Computes the mean loss and the accumulated Dice and Jaccard of a model over a loader, in
 * evaluation mode as the caller set it and without gradients, on the calling thread.
 *
 * @param model - The model, on `device`.
 * @param loader - Batches with masks.
 * @param lossFn - The loss to report.
 * @param device - A concrete device string.
 * @param options - `autocast` and `signal`.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when an argument has the wrong type.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` for an unknown device or option, or a model on another device.
 */
export async function evaluateModel(
  model: Module,
  loader: BatchSource,
  lossFn: LossFunction,
  device: string,
  options?: { autocast?: 'bfloat16' | null; signal?: AbortSignal | undefined },
): Promise<EvaluationResult> {
  if (!(model instanceof Module)) throw typeError('model', 'a Module', model);
  checkModelFree(model, null);
  if (!isBatchSource(loader)) throw typeError('loader', 'an iterable or async iterable of batches', loader);
  const loss = checkLossFunction(lossFn);
  const target = resolveDevice(device);
  const opts = checkOptions<{ autocast?: 'bfloat16' | null; signal?: AbortSignal }>('options', options);
  checkKnownKeys('options', opts, ['autocast', 'signal'], 'evaluateModel');
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', opts.signal);
  const autocastType = opts.autocast == null ? null : checkOneOf('options.autocast', opts.autocast, ['bfloat16'] as const);
  checkModelDevice(model, target);
  return evaluateLoader(loader, (batch) => evaluateBatch(model, loss, batch, target, autocastType), opts.signal);
}

function formatEpoch(record: EpochRecord, epochs: number): string {
  const parts = [`epoch ${record.epoch}/${epochs}`, `loss ${record.loss.toFixed(4)}`];
  if (record.valLoss !== undefined) parts.push(`val loss ${record.valLoss.toFixed(4)}`);
  if (record.valDice !== undefined) parts.push(`val dice ${record.valDice.toFixed(4)}`);
  if (record.valJaccard !== undefined) parts.push(`val jaccard ${record.valJaccard.toFixed(4)}`);
  parts.push(`${record.seconds.toFixed(1)} s`);
  return parts.join(', ');
}
