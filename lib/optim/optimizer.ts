// SPDX-License-Identifier: MIT
//
// The shared part of the optimizers: parameter checks and the libtorch optimizer they drive.

import { ErrorCode, withCode } from '../errors.js';
import { checkNotLent } from '../engine/lent.js';
import { type NativeOptimizer } from '../native.js';
import { isTensor, type Tensor } from '../tensor.js';
import { checkBoolean, checkNumber, checkOptions, rangeError, typeError } from '../validate.js';

/** Options of {@link Optimizer.zeroGrad}. */
export interface OptimizerZeroGradOptions {
  /** Set gradients to null rather than to zero; default true, as in PyTorch 2. */
  setToNone?: boolean;
}

/** Checks an optimizer's parameter list as PyTorch does: non-empty, leaf tensors, each once. */
export function checkParams(params: unknown): Tensor[] {
  if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
    throw typeError('params', 'an iterable of Tensors, such as `model.parameters()`', params);
  }
  // Each element is checked as it arrives, so a sparse array claiming billions of elements fails
  // at its first hole instead of being copied whole.
  const list: Tensor[] = [];
  const seen = new Set<Tensor>();
  for (const value of params as Iterable<unknown>) {
    const i = list.length;
    if (!isTensor(value)) throw typeError(`params[${i}]`, 'a Tensor', value);
    if (!value.isLeaf) throw rangeError(`params[${i}]`, 'a leaf tensor (an optimizer cannot update a computed tensor)', value.toString());
    if (seen.has(value)) throw rangeError(`params[${i}]`, 'a tensor that appears once in `params`', value.toString());
    seen.add(value);
    list.push(value);
  }
  if (list.length === 0) throw rangeError('params', 'a non-empty list (the optimizer got no parameters)', list);
  return list;
}

const nativeOptimizers = new WeakMap<Optimizer, NativeOptimizer>();

/**
 * Returns the libtorch optimizer that `optimizer` drives, so that a worker thread can adopt it.
 *
 * @internal
 */
export function nativeOptimizerOf(optimizer: Optimizer): NativeOptimizer | undefined {
  return nativeOptimizers.get(optimizer);
}

/** Base of {@link Adam} and {@link SGD}: owns a libtorch optimizer over the given tensors. */
export abstract class Optimizer {
  /** The tensors this optimizer updates, in the order given. */
  readonly params: readonly Tensor[];
  readonly #native: NativeOptimizer;

  protected constructor(params: Tensor[], optimizer: NativeOptimizer) {
    // TypeScript forbids `new Optimizer()`, but JavaScript callers can still reach this.
    if (new.target === Optimizer) throw typeError('Optimizer', 'a subclass such as Adam or SGD (Optimizer is abstract)', Optimizer);
    this.params = Object.freeze([...params]);
    this.#native = optimizer;
    nativeOptimizers.set(this, optimizer);
  }

  /** Learning rate; can be changed between steps (as a scheduler does). */
  get lr(): number {
    return this.#native.lr;
  }

  set lr(value: number) {
    this.#native.lr = checkNumber('lr', value, 0);
  }

  /** Updates every parameter from its gradient; parameters without a gradient are skipped. */
  step(): void {
    this.#checkParamsLive('step');
    this.#native.step();
  }

  /**
   * Clears the gradients of every parameter.
   *
   * @param options - `setToNone` (default true): drop the gradients; false fills them with zeros.
   */
  zeroGrad(options?: OptimizerZeroGradOptions): void {
    const setToNone = checkBoolean('options.setToNone', checkOptions<OptimizerZeroGradOptions>('options', options).setToNone ?? true);
    this.#checkParamsLive('zeroGrad');
    this.#native.zeroGrad(setToNone);
  }

  /**
   * Throws an Error with code ERR_TENSOR_DISPOSED when a parameter was disposed, as happens when
   * its module is disposed. The libtorch optimizer keeps its own references, so it would otherwise
   * go on updating tensors that no module uses.
   */
  #checkParamsLive(method: string): void {
    const index = this.params.findIndex((param) => param.disposed);
    if (index === -1) return;
    const message = `${this.constructor.name}.${method}: params[${index}] was disposed; dispose the optimizer together with its model`;
    throw withCode(new Error(message), ErrorCode.DISPOSED);
  }

  /**
   * Frees the optimizer state (moment estimates, momentum buffers) now. While an off-thread call
   * (`trainModel`, `trainStepAsync`) uses the optimizer, it throws an Error with code
   * ERR_TENSOR_BUSY and frees nothing.
   */
  dispose(): void {
    checkNotLent('optimizer', this, 'be disposed');
    this.#native.dispose();
  }

  /** Calls {@link dispose}, so that `using optimizer = new Adam(...)` frees the state at the end of its block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
