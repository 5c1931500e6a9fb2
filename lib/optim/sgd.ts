// SPDX-License-Identifier: MIT
//
// Stochastic gradient descent as torch.optim.SGD, running libtorch's implementation.

import { native } from '../native.js';
import { type Tensor } from '../tensor.js';
import { checkBoolean, checkKnownKeys, checkNumber, checkOptions, rangeError } from '../validate.js';
import { checkParams, Optimizer } from './optimizer.js';

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate; required, as in PyTorch. */
  lr: number;
  /** Momentum factor; default 0. */
  momentum?: number;
  /** Dampening of the momentum; default 0. */
  dampening?: number;
  /** L2 penalty; default 0. */
  weightDecay?: number;
  /** Nesterov momentum; needs `momentum` > 0 and `dampening` 0. Default false. */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, optionally with (Nesterov) momentum, as `torch.optim.SGD`.
 *
 * Build it after moving the model to its device: it updates the tensors it is given.
 *
 * @example
 * const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
 * @see https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  /**
   * @param params - The tensors to update, such as `model.parameters()`.
   * @param options - `lr` (required), `momentum` (0), `dampening` (0), `weightDecay` (0), `nesterov` (false).
   * @throws TypeError or RangeError for invalid arguments, with PyTorch's ranges.
   */
  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    const list = checkParams(params);
    const opts = checkOptions<SGDOptions>('options', options);
    checkKnownKeys('options', opts, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], 'SGD');
    const lr = checkNumber('options.lr', opts.lr, 0);
    const momentum = checkNumber('options.momentum', opts.momentum ?? 0, 0);
    const dampening = checkNumber('options.dampening', opts.dampening ?? 0);
    const weightDecay = checkNumber('options.weightDecay', opts.weightDecay ?? 0, 0);
    const nesterov = checkBoolean('options.nesterov', opts.nesterov ?? false);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw rangeError('options.nesterov', 'false unless `momentum` > 0 and `dampening` is 0', nesterov);
    }
    super(list, new native.SGD(list, { lr, momentum, dampening, weightDecay, nesterov }));
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }
}
