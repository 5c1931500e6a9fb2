// SPDX-License-Identifier: MIT
//
// Sequential as torch.nn.Sequential: children named '0', '1', ... and applied in order.

import { Module } from './module.js';
import { type Tensor } from '../tensor.js';
import { checkInt, typeError } from '../validate.js';

/**
 * A chain of modules applied in order, as `torch.nn.Sequential`. Children are registered as
 * '0', '1', ..., so their keys read `0.weight`, `1.running_mean`, ...
 *
 * Each tensor between two children is disposed once the next child has used it (autograd keeps
 * what `backward()` needs), so a long chain does not hold every intermediate handle.
 *
 * @example
 * const block = new Sequential(new Conv2d(1, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU());
 * const y = block.forward(x);
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Sequential.html
 */
export class Sequential extends Module {
  /** @param modules - The children, in application order. */
  constructor(...modules: Module[]) {
    super();
    modules.forEach((module, i) => {
      if (!(module instanceof Module)) throw typeError(`modules[${i}]`, 'a Module', module);
      this.registerModule(String(i), module);
    });
  }

  /** Number of children. */
  get length(): number {
    return this.children().length;
  }

  /** Returns the child at `index` (negative counts from the end). */
  at(index: number): Module {
    const count = this.length;
    checkInt('index', index, -count, count - 1);
    return this.getModule(String(index < 0 ? count + index : index));
  }

  /** @param input - The first child's input. @returns The last child's output. */
  override forward(input: Tensor): Tensor {
    let current = input;
    for (const child of this.children()) {
      const next = child.forward(current);
      if (current !== input && current !== next) current.dispose();
      current = next;
    }
    return current;
  }
}
