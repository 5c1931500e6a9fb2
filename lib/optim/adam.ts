// SPDX-License-Identifier: MIT
//
// Adam as torch.optim.Adam, running libtorch's implementation.

import { native } from '../native.js';
import { type Tensor } from '../tensor.js';
import { checkBoolean, checkKnownKeys, checkNumber, checkOptions, rangeError, typeError } from '../validate.js';
import { checkParams, Optimizer } from './optimizer.js';

/** Options of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate; default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment estimates, each in [0, 1); default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator for numerical stability; default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient (not decoupled, unlike AdamW); default 0. */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad); default false. */
  amsgrad?: boolean;
}

/**
 * The Adam optimizer (Kingma and Ba, 2014), as `torch.optim.Adam`.
 *
 * Build it after moving the model to its device: it updates the tensors it is given.
 *
 * @example
 * const optimizer = new Adam(model.parameters(), { lr: 1e-4 });
 * optimizer.zeroGrad();
 * loss.backward();
 * optimizer.step();
 * @see https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
 */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;

  /**
   * @param params - The tensors to update, such as `model.parameters()`.
   * @param options - `lr` (1e-3), `betas` ([0.9, 0.999]), `eps` (1e-8), `weightDecay` (0), `amsgrad` (false).
   * @throws TypeError or RangeError for invalid arguments, with PyTorch's ranges.
   */
  constructor(params: Iterable<Tensor>, options?: AdamOptions) {
    const list = checkParams(params);
    const opts = checkOptions<AdamOptions>('options', options);
    checkKnownKeys('options', opts, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], 'Adam');
    const lr = checkNumber('options.lr', opts.lr ?? 1e-3, 0);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw typeError('options.betas', 'a pair of numbers', betas);
    betas.forEach((beta, i) => {
      checkNumber(`options.betas[${i}]`, beta);
      if (beta < 0 || beta >= 1) throw rangeError(`options.betas[${i}]`, 'in [0, 1)', beta);
    });
    const eps = checkNumber('options.eps', opts.eps ?? 1e-8, 0);
    const weightDecay = checkNumber('options.weightDecay', opts.weightDecay ?? 0, 0);
    const amsgrad = checkBoolean('options.amsgrad', opts.amsgrad ?? false);
    super(list, new native.Adam(list, { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay, amsgrad }));
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.amsgrad = amsgrad;
  }
}
