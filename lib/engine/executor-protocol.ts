// SPDX-License-Identifier: MIT
//
// Messages between the main thread and the executor worker: descriptions from which the worker
// rebuilds a model and a loss, the requests and replies, and errors in a form that keeps their
// class and `code` across postMessage.

import { ErrorCode, withCode, type ErrorCodeValue } from '../errors.js';
import { DiceLoss, type DiceLossOptions } from '../losses/dice.js';
import { UNet, type UNetOptions } from '../models/unet.js';
import { Module } from '../nn/module.js';

/** A built-in model that the worker can rebuild: its class name and constructor options. */
export type ModelDescription = { name: 'UNet'; options: UNetOptions };

/** A built-in loss that the worker can rebuild. */
export type LossDescription = { name: 'DiceLoss'; options: DiceLossOptions };

/**
 * Describes a model for rebuilding on another thread, or returns null for a model the worker
 * cannot rebuild. Only the exact built-in classes qualify: a subclass may override `forward`.
 */
export function describeModel(model: Module): ModelDescription | null {
  if (model.constructor !== UNet) return null;
  const unet = model as UNet;
  return { name: 'UNet', options: { inChannels: unet.inChannels, numClasses: unet.numClasses, baseWidth: unet.baseWidth } };
}

/** Describes a loss for rebuilding on another thread, or returns null (closures, custom losses). */
export function describeLoss(loss: unknown): LossDescription | null {
  if (loss === null || typeof loss !== 'object' || loss.constructor !== DiceLoss) return null;
  const dice = loss as DiceLoss;
  return {
    name: 'DiceLoss',
    options: { smooth: dice.smooth, activation: dice.activation, includeBackground: dice.includeBackground, batch: dice.batch },
  };
}

/** Builds the module that `description` describes, with freshly initialised weights. */
export function buildModel(description: ModelDescription): Module {
  if (description.name === 'UNet') return new UNet(description.options);
  throw new Error(`unknown model description ${JSON.stringify(description)}`);
}

/** Builds the loss that `description` describes. */
export function buildLoss(description: LossDescription): DiceLoss {
  if (description.name === 'DiceLoss') return new DiceLoss(description.options);
  throw new Error(`unknown loss description ${JSON.stringify(description)}`);
}

/** Starts a session: the worker rebuilds the model and adopts the loaned tensors and optimizer. */
export interface OpenRequest {
  type: 'open';
  session: number;
  model: ModelDescription;
  /** Keys of the loaned tensors: the model's parameters, then its buffers. */
  names: string[];
  loan: number;
  loss: LossDescription | null;
  hasOptimizer: boolean;
  /** libtorch's intra-op thread count on the main thread, applied to the worker thread. */
  threads: number;
}

/** Fields common to the requests that run one batch. */
interface BatchRequest {
  session: number;
  /** `training` of each of `model.modules()`, in order, as on the main thread. */
  modes: boolean[];
  images: Float32Array;
  shape: number[];
  device: string;
  autocast: 'bfloat16' | null;
}

/** One optimizer step on a batch; replies with the loss. */
export interface TrainRequest extends BatchRequest {
  type: 'train';
  masks: Float32Array;
  /** Position for the message of a non-finite loss. */
  position: { epoch: number; batch: number; batches: number | null } | null;
}

/** Loss and hard labels of a validation batch, without gradients. */
export interface EvaluateRequest extends BatchRequest {
  type: 'evaluate';
  masks: Float32Array;
}

/** Labels (and probabilities) of a batch of slices. */
export interface PredictRequest extends BatchRequest {
  type: 'predict';
  threshold: number;
  probabilities: boolean;
}

/** Ends a session: the worker drops its handles to the loaned tensors. */
export interface CloseRequest {
  type: 'close';
  session: number;
}

/** The worker's own memoryStats(), for tests and monitoring. */
export interface StatsRequest {
  type: 'stats';
}

export type ExecutorRequest = OpenRequest | TrainRequest | EvaluateRequest | PredictRequest | CloseRequest | StatsRequest;

/** Results of the batch requests. */
export interface TrainResult {
  loss: number;
}
export interface EvaluateResult {
  loss: number;
  labels: Uint8Array | Int32Array;
  classes: number;
}
export interface PredictBatchResult {
  labels: Uint8Array;
  scores: Float32Array | null;
  classes: number;
}

/** An error as it crosses threads. */
export interface SerializedError {
  name: string;
  message: string;
  code: string | undefined;
  stack: string | undefined;
}

/** Reply to the request with the same `id`. */
export type ExecutorReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined, stack: error.stack };
  }
  return { name: 'Error', message: String(error), code: undefined, stack: undefined };
}

/**
 * Rebuilds an error from the worker as the same class (TypeError, RangeError or Error) with the
 * same message and `code`. The stack is the main thread's, from the awaiting call; the worker's
 * stack is kept as `workerStack`.
 */
export function deserializeError(serialized: SerializedError): Error {
  const Class = serialized.name === 'TypeError' ? TypeError : serialized.name === 'RangeError' ? RangeError : Error;
  const error = new Class(serialized.message);
  if (Class === Error && serialized.name !== 'Error') error.name = serialized.name;
  if (serialized.code !== undefined) withCode(error, serialized.code as ErrorCodeValue);
  Object.defineProperty(error, 'workerStack', { value: serialized.stack, enumerable: false });
  return error;
}

/** Creates an error of the executor itself: its worker is missing, failed to start or stopped. */
export function executorError(message: string, cause?: unknown): Error {
  return withCode(new Error(message, cause === undefined ? undefined : { cause }), ErrorCode.EXECUTOR);
}
