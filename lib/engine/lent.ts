// SPDX-License-Identifier: MIT
//
// Marks the models and optimizers that an executor session has lent to the worker thread, so
// that a second call, a dispose() or a mode switch on them fails up front with ERR_TENSOR_BUSY
// instead of inside a getter of one of their tensors. This module imports nothing of medunet's
// modules and optimizers, so that both can import it without a cycle.

import { ErrorCode, withCode } from '../errors.js';

const lent = new WeakSet<object>();

/**
 * Marks `owner` (a Module or an Optimizer) as lent to the worker until {@link markReturned}.
 *
 * @internal
 */
export function markLent(owner: object): void {
  lent.add(owner);
}

/**
 * Clears the mark that {@link markLent} set.
 *
 * @internal
 */
export function markReturned(owner: object): void {
  lent.delete(owner);
}

/**
 * Throws an Error with code ERR_TENSOR_BUSY when `owner` is lent to the worker.
 *
 * @param name - The argument or object named in the message, such as `model`.
 * @param owner - The Module or Optimizer to check.
 * @param action - What the caller was about to do, such as "start another call".
 * @internal
 */
export function checkNotLent(name: string, owner: unknown, action: string): void {
  if (owner === null || typeof owner !== 'object' || !lent.has(owner)) return;
  const message =
    `\`${name}\` is in use by an off-thread call (trainModel, trainStepAsync or predictVolume), so it cannot ${action}; ` +
    'await that call first. One model or optimizer serves one call at a time: for concurrent calls, use a second model, ' +
    'for example one loaded from the same checkpoint';
  throw withCode(new Error(message), ErrorCode.BUSY);
}
