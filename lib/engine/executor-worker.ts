// SPDX-License-Identifier: MIT
//
// Entry point of the executor's worker thread (see executor.ts). It loads the addon into its own
// environment, rebuilds each session's model around the loaned tensors, and runs the requests
// one at a time with the same step functions that the main thread uses.

import { parentPort } from 'node:worker_threads';
import { native, type NativeOptimizer } from '../native.js';
import { skipInit } from '../nn/init.js';
import { type Module } from '../nn/module.js';
import { type DiceLoss } from '../losses/dice.js';
import { tensor, tidy, type Tensor } from '../tensor.js';
import { predictBatch } from './predict.js';
import { UNetInference } from './unet-inference.js';
import { evaluateBatch, runTrainStep } from './train.js';
import {
  buildLoss,
  buildModel,
  serializeError,
  type EvaluateRequest,
  type ExecutorRequest,
  type OpenRequest,
  type PredictRequest,
  type TrainRequest,
} from './executor-protocol.js';

interface Session {
  model: Module;
  modules: Module[];
  loss: DiceLoss | null;
  optimizer: NativeOptimizer | null;
  /** The model with batch norm folded in, made at the first prediction of the session. */
  folded?: UNetInference | null;
}

const sessions = new Map<number, Session>();

function open(message: OpenRequest): null {
  if (native.getNumThreads() !== message.threads) native.setNumThreads(message.threads);
  // Every parameter and buffer is replaced by a loaned tensor, so the random fills are skipped.
  // That also leaves the process-wide random generator, which the caller's thread shares, untouched.
  const model: Module = skipInit(() => buildModel(message.model));
  const own = new Map<string, Tensor>([...model.namedParameters(), ...model.namedBuffers()]);
  const targets = message.names.map((name) => {
    const value = own.get(name);
    if (value === undefined) throw new Error(`the rebuilt ${message.model.name} has no tensor \`${name}\``);
    return value;
  });
  native.adoptTensors(message.loan, targets);
  const optimizer = message.hasOptimizer ? native.adoptOptimizer(message.loan) : null;
  const loss = message.loss === null ? null : buildLoss(message.loss);
  sessions.set(message.session, { model, modules: model.modules(), loss, optimizer });
  return null;
}

function session(id: number, modes: boolean[]): Session {
  const found = sessions.get(id);
  if (found === undefined) throw new Error(`the executor has no session ${id}`);
  found.modules.forEach((module, i) => {
    module.training = modes[i] ?? module.training;
  });
  return found;
}

function train(message: TrainRequest): { loss: number } {
  const { model, loss, optimizer } = session(message.session, message.modes);
  if (loss === null || optimizer === null) throw new Error('the session was opened without a loss and an optimizer');
  const [b, , h, w] = message.shape as [number, number, number, number];
  const value = tidy(() => {
    const images = tensor(message.images, message.shape, { device: message.device });
    const masks = tensor(message.masks, [b, 1, h, w], { device: message.device });
    return runTrainStep(model, optimizer, loss, images, masks, message.autocast, message.device, message.position);
  });
  return { loss: value };
}

function evaluate(message: EvaluateRequest): ReturnType<typeof evaluateBatch> {
  const { model, loss } = session(message.session, message.modes);
  if (loss === null) throw new Error('the session was opened without a loss');
  return evaluateBatch(model, loss, { images: message.images, masks: message.masks, shape: message.shape }, message.device, message.autocast);
}

function predict(message: PredictRequest): ReturnType<typeof predictBatch> {
  const found = session(message.session, message.modes);
  // A session lasts one predictVolume call, so the folded weights cannot go stale.
  if (found.folded === undefined) found.folded = UNetInference.prepare(found.model);
  const model = found.folded ?? found.model;
  return predictBatch(model, message.images, message.shape, message.device, {
    threshold: message.threshold,
    autocast: message.autocast,
    probabilities: message.probabilities,
  });
}

function close(id: number): null {
  const found = sessions.get(id);
  sessions.delete(id);
  found?.folded?.dispose();
  // Disposing drops this thread's references; the tensors live on in the main thread.
  found?.model.dispose();
  found?.loss?.dispose();
  found?.optimizer?.dispose();
  return null;
}

function handle(message: ExecutorRequest): unknown {
  switch (message.type) {
    case 'open':
      return open(message);
    case 'train':
      return train(message);
    case 'evaluate':
      return evaluate(message);
    case 'predict':
      return predict(message);
    case 'close':
      return close(message.session);
    case 'stats':
      return native.memoryStats();
  }
}

/** Typed arrays in a result move to the main thread instead of being copied. */
function transferables(value: unknown): ArrayBuffer[] {
  if (value === null || typeof value !== 'object') return [];
  const buffers = Object.values(value)
    .filter((field): field is ArrayBufferView => ArrayBuffer.isView(field))
    .map((field) => field.buffer as ArrayBuffer);
  return [...new Set(buffers)];
}

if (parentPort === null) {
  throw new Error('executor-worker.js is the entry point of a worker thread; medunet starts it itself');
}
const port = parentPort;
port.on('message', ({ id, message }: { id: number; message: ExecutorRequest }) => {
  let value: unknown;
  try {
    value = handle(message);
  } catch (error) {
    // No caller waits for a request with id 0 (closing a session). Its only work is to drop
    // handles, so a failure leaves no state behind.
    if (id !== 0) port.postMessage({ id, ok: false, error: serializeError(error) });
    return;
  }
  if (id !== 0) port.postMessage({ id, ok: true, value }, transferables(value));
});
