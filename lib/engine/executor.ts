// SPDX-License-Identifier: MIT
//
// Runs training steps and prediction batches on one worker thread, so that the main thread's
// event loop stays free while libtorch computes. The model's forward pass is TypeScript that
// issues one native call per operation, so the worker runs that TypeScript itself. It rebuilds
// the model from a description (built-in classes only) and adopts the main thread's tensors
// and optimizer through a native loan (native/share.cc). Both threads then work on the same
// at::Tensor objects. While a request runs, the main thread's handles to the loaned tensors
// throw ERR_TENSOR_BUSY.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { native, type NativeMemoryStats } from '../native.js';
import { Module } from '../nn/module.js';
import { nativeOptimizerOf, type Optimizer } from '../optim/optimizer.js';
import { Adam } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { rangeError } from '../validate.js';
import { markLent, markReturned } from './lent.js';
import {
  deserializeError,
  describeLoss,
  describeModel,
  executorError,
  type EvaluateResult,
  type ExecutorReply,
  type ExecutorRequest,
  type EvaluateRequest,
  type LossDescription,
  type PredictBatchResult,
  type PredictRequest,
  type TrainRequest,
} from './executor-protocol.js';

/** The thread that long operations run on: 'auto' (the worker when the model can run there), 'worker' or 'main'. */
export type ThreadMode = 'auto' | 'worker' | 'main';

/** The values a {@link ThreadMode} may take. */
export const THREAD_MODES: readonly ThreadMode[] = ['auto', 'worker', 'main'];

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

let worker: Worker | null = null;
let startFailure: Error | null = null;
const pending = new Map<number, Pending>();
let nextRequest = 1;
let nextSession = 1;

/**
 * Returns the path of the worker script. From dist/ (ES modules) it sits next to this file. From
 * the CommonJS bundle dist/index.cjs it is dist/executor-worker.cjs. From the TypeScript sources
 * (as vitest runs them) it is the compiled dist/engine/executor-worker.js, because Node 20
 * cannot load a .ts file in a worker.
 */
export function workerScriptPath(moduleUrl: string = import.meta.url): string {
  const modulePath = fileURLToPath(moduleUrl);
  if (modulePath.endsWith('.cjs')) return join(dirname(modulePath), 'executor-worker.cjs');
  if (modulePath.endsWith('.ts')) return join(dirname(modulePath), '..', '..', 'dist', 'engine', 'executor-worker.js');
  return join(dirname(modulePath), 'executor-worker.js');
}

/**
 * The main thread's Node options for the worker, without `--input-type`, which Node rejects for
 * a worker that runs a file (a script started as `node --input-type=module -e ...` has it).
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const options: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) options.push(arg);
  }
  return options;
}

/**
 * Starts the worker with the main thread's Node options. Leaving out `--input-type` means
 * listing the options explicitly, and Node then rejects per-process ones such as `--expose-gc`.
 * In that case the worker starts without options.
 */
function startWorker(script: string): Worker {
  const execArgv = workerExecArgv(process.execArgv);
  if (execArgv.length === process.execArgv.length) return new Worker(script);
  try {
    return new Worker(script, { execArgv });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(script, { execArgv: [] });
  }
}

function failAll(error: Error): void {
  for (const entry of pending.values()) entry.reject(error);
  pending.clear();
}

/** Starts the worker on first use. It is unreferenced while idle, so it never keeps the process alive. */
function getWorker(): Worker {
  if (worker !== null) return worker;
  if (startFailure !== null) throw startFailure;
  const script = workerScriptPath();
  if (!existsSync(script)) {
    startFailure = executorError(
      `the executor worker script ${script} was not found, so work cannot run off the main thread; ` +
        "build it with `npm run build:ts`, or pass `thread: 'main'`",
    );
    throw startFailure;
  }
  const started = startWorker(script);
  started.unref();
  started.on('message', (reply: ExecutorReply) => {
    const entry = pending.get(reply.id);
    if (entry === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) started.unref();
    if (reply.ok) entry.resolve(reply.value);
    else entry.reject(deserializeError(reply.error));
  });
  started.on('error', (error) => {
    worker = null;
    failAll(executorError(`the executor worker failed: ${error.message}`, error));
  });
  started.on('exit', (code) => {
    worker = null;
    failAll(executorError(`the executor worker stopped unexpectedly with exit code ${code}`));
  });
  worker = started;
  return started;
}

/** Sends a request and resolves with the worker's reply. The worker is referenced while requests are pending. */
function request<T>(message: ExecutorRequest): Promise<T> {
  const target = getWorker();
  const id = nextRequest++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    target.ref();
    target.postMessage({ id, message });
  });
}

/** Sends a request without waiting for its reply (closing a session). */
function notify(message: ExecutorRequest): void {
  worker?.postMessage({ id: 0, message });
}

/**
 * Returns the executor worker's live tensor count and bytes (as `memoryStats()` reports them for
 * the calling thread), or null when the worker is not running.
 *
 * @internal
 */
export async function executorMemoryStats(): Promise<NativeMemoryStats | null> {
  if (worker === null) return null;
  return request<NativeMemoryStats>({ type: 'stats' });
}

let warnedMissing = false;

/** Returns true when the worker script exists, so that 'auto' can use it; warns once when it does not. */
function workerAvailable(): boolean {
  if (worker !== null || (startFailure === null && existsSync(workerScriptPath()))) return true;
  if (!warnedMissing) {
    warnedMissing = true;
    process.emitWarning(
      `the executor worker script ${workerScriptPath()} was not found, so training and prediction run on the main thread; ` +
        'build it with `npm run build:ts`',
      { code: 'MEDUNET_EXECUTOR_MISSING' },
    );
  }
  return false;
}

/** Parts of a session besides the model: the loss and the optimizer, for training. */
export interface SessionParts {
  loss?: unknown;
  optimizer?: Optimizer;
}

/**
 * A model (with its loss and optimizer) bound in the worker for the length of one call such as
 * `trainModel`. The worker keeps the rebuilt model between requests; `close()` releases it.
 */
export class ExecutorSession {
  readonly #id: number;
  readonly #loan: number;
  readonly #model: Module;
  readonly #optimizer: Optimizer | undefined;
  #closed = false;

  private constructor(id: number, loan: number, model: Module, optimizer: Optimizer | undefined) {
    this.#id = id;
    this.#loan = loan;
    this.#model = model;
    this.#optimizer = optimizer;
    markLent(model);
    if (optimizer !== undefined) markLent(optimizer);
  }

  /**
   * Lends the model's tensors (and the optimizer) to the worker and waits until it has rebuilt
   * the model around them. Until `close()`, the model and the optimizer are marked as lent, so
   * that another call or their dispose() throws ERR_TENSOR_BUSY (lent.ts).
   */
  static async open(model: Module, parts: SessionParts): Promise<ExecutorSession> {
    const description = describeModel(model);
    if (description === null) throw new Error('ExecutorSession.open: the model cannot run in the worker');
    const loss: LossDescription | null = parts.loss === undefined ? null : describeLoss(parts.loss);
    const optimizer = parts.optimizer === undefined ? null : (nativeOptimizerOf(parts.optimizer) ?? null);
    const members = [...model.namedParameters(), ...model.namedBuffers()];
    const loan = native.shareTensors(
      members.map(([, value]) => value),
      optimizer,
    );
    const session = new ExecutorSession(nextSession++, loan, model, parts.optimizer);
    try {
      await session.#run({
        type: 'open',
        session: session.#id,
        model: description,
        names: members.map(([name]) => name),
        loan,
        loss,
        hasOptimizer: optimizer !== null,
        threads: native.getNumThreads(),
      });
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  /** Runs one training step (zeroGrad, forward, loss, backward, step) and resolves with the loss. */
  async train(fields: Omit<TrainRequest, 'type' | 'session' | 'modes'>): Promise<number> {
    const result = await this.#run<{ loss: number }>({ ...fields, type: 'train', session: this.#id, modes: this.#modes() });
    return result.loss;
  }

  /** Computes the loss and hard labels of a validation batch. */
  evaluate(fields: Omit<EvaluateRequest, 'type' | 'session' | 'modes'>): Promise<EvaluateResult> {
    return this.#run<EvaluateResult>({ ...fields, type: 'evaluate', session: this.#id, modes: this.#modes() });
  }

  /** Computes the labels (and probabilities) of a batch of slices. */
  predict(fields: Omit<PredictRequest, 'type' | 'session' | 'modes'>): Promise<PredictBatchResult> {
    return this.#run<PredictBatchResult>({ ...fields, type: 'predict', session: this.#id, modes: this.#modes() });
  }

  /** Ends the loan and lets the worker drop its copy of the model. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    markReturned(this.#model);
    if (this.#optimizer !== undefined) markReturned(this.#optimizer);
    native.releaseShared(this.#loan);
    notify({ type: 'close', session: this.#id });
  }

  #modes(): boolean[] {
    return this.#model.modules().map((module) => module.training);
  }

  // The loan is busy exactly while the worker runs a request, so the main thread can use the
  // model between requests (in onBatch and onEpoch callbacks, for example).
  async #run<T>(message: ExecutorRequest): Promise<T> {
    if (this.#closed) throw new Error('the executor session is closed');
    native.setSharedBusy(this.#loan, true);
    try {
      return await request<T>(message);
    } finally {
      native.setSharedBusy(this.#loan, false);
    }
  }
}

/**
 * Decides where a call runs. With 'worker', a model, loss or optimizer that the worker cannot
 * rebuild is a RangeError. With 'auto', such parts run on the main thread, as everything does
 * when the worker script is missing.
 *
 * @param mode - The caller's `thread` option.
 * @param model - The model.
 * @param parts - The loss and optimizer, when the call trains.
 * @returns True to run in the worker.
 */
export function useWorker(mode: ThreadMode, model: Module, parts: SessionParts): boolean {
  if (mode === 'main') return false;
  const reason = workerObstacle(model, parts);
  if (reason === null) return mode === 'worker' || workerAvailable();
  if (mode === 'worker') throw rangeError('options.thread', `'auto' or 'main' (${reason})`, mode);
  return false;
}

/** Returns why the worker cannot run this model, loss and optimizer, or null when it can. */
function workerObstacle(model: Module, parts: SessionParts): string | null {
  if (!(model instanceof Module) || describeModel(model) === null) {
    return `the worker rebuilds only the built-in UNet, not ${model?.constructor?.name ?? typeof model}`;
  }
  if ('loss' in parts && describeLoss(parts.loss) === null) {
    return 'the worker rebuilds only a DiceLoss, not a loss function given as a closure or another class';
  }
  const optimizer = parts.optimizer;
  if (optimizer !== undefined && optimizer.constructor !== Adam && optimizer.constructor !== SGD) {
    return `the worker adopts only Adam and SGD optimizers, not ${optimizer.constructor.name}`;
  }
  return null;
}
