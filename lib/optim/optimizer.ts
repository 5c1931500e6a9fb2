// SPDX-License-Identifier: MIT
//
// The shared part of the optimizers: parameter checks and the libtorch optimizer they drive.

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
  const list = params !== null && typeof params === 'object' && Symbol.iterator in params ? [...(params as Iterable<unknown>)] : null;
  if (list === null) throw typeError('params', 'an iterable of Tensors, such as `model.parameters()`', params);
  if (list.length === 0) throw rangeError('params', 'a non-empty list (the optimizer got no parameters)', list);
  const seen = new Set<Tensor>();
  list.forEach((value, i) => {
    if (!isTensor(value)) throw typeError(`params[${i}]`, 'a Tensor', value);
    if (!value.isLeaf) throw rangeError(`params[${i}]`, 'a leaf tensor (an optimizer cannot update a computed tensor)', value.toString());
    if (seen.has(value)) throw rangeError(`params[${i}]`, 'a tensor that appears once in `params`', value.toString());
    seen.add(value);
  });
  return list as Tensor[];
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
    this.#native.step();
  }

  /**
   * Clears the gradients of every parameter.
   *
   * @param options - `setToNone` (default true): drop the gradients; false fills them with zeros.
   */
  zeroGrad(options?: OptimizerZeroGradOptions): void {
    const setToNone = checkBoolean('options.setToNone', checkOptions<OptimizerZeroGradOptions>('options', options).setToNone ?? true);
    this.#native.zeroGrad(setToNone);
  }

  /** Frees the optimizer state (moment estimates, momentum buffers) now. */
  dispose(): void {
    this.#native.dispose();
  }
}
