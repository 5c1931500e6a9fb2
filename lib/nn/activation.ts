// SPDX-License-Identifier: MIT
//
// Activation layers as torch.nn.ReLU, torch.nn.Sigmoid and torch.nn.Softmax.

import { Module } from './module.js';
import { relu, sigmoid, softmax } from './functional.js';
import { type Tensor } from '../tensor.js';
import { checkBoolean, checkInt, checkOptions } from '../validate.js';

/**
 * Element-wise `max(0, x)`, as `torch.nn.ReLU`.
 *
 * @example
 * const act = new ReLU({ inplace: true });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
 */
export class ReLU extends Module {
  /**
   * Overwrite the input instead of allocating the output, as PyTorch's in-place form does. It
   * saves one activation's memory, and autograd rejects it where the input is needed later.
   */
  readonly inplace: boolean;

  /** @param options - `inplace` (default false). */
  constructor(options?: { inplace?: boolean }) {
    super();
    this.inplace = checkBoolean('options.inplace', checkOptions<{ inplace: boolean }>('options', options).inplace ?? false);
  }

  /** @param input - Any shape. @returns A tensor shaped like `input`. */
  override forward(input: Tensor): Tensor {
    return relu(input, this.inplace);
  }
}

/**
 * Element-wise logistic function, as `torch.nn.Sigmoid`.
 *
 * @example
 * const probabilities = new Sigmoid().forward(logits);
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html
 */
export class Sigmoid extends Module {
  /** @param input - Any shape. @returns A tensor shaped like `input`, values in (0, 1). */
  override forward(input: Tensor): Tensor {
    return sigmoid(input);
  }
}

/**
 * Softmax along one dimension, as `torch.nn.Softmax`.
 *
 * @example
 * const probabilities = new Softmax(1).forward(logits); // over the class channels of [B, K, H, W]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html
 */
export class Softmax extends Module {
  readonly dim: number;

  /** @param dim - Dimension that sums to 1 (negative counts from the end). */
  constructor(dim: number) {
    super();
    this.dim = checkInt('dim', dim);
  }

  /** @param input - Any shape. @returns A tensor shaped like `input`. */
  override forward(input: Tensor): Tensor {
    return softmax(input, this.dim);
  }
}
