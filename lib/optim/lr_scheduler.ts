// SPDX-License-Identifier: MIT
//
// Learning-rate schedules that set an optimizer's `lr` as training goes, as
// `torch.optim.lr_scheduler` does.

import { checkInt, checkNumber, typeError } from '../validate.js';
import { Optimizer } from './optimizer.js';

/**
 * Cosine annealing of the learning rate from the optimizer's initial `lr` down to `etaMin` over
 * `tMax` steps, as `torch.optim.lr_scheduler.CosineAnnealingLR` without restarts:
 * `lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * lastEpoch / tMax)) / 2`.
 *
 * Call `step()` once per epoch, or once per batch with `tMax` counted in batches. Past `tMax`,
 * the rate follows the cosine back up, as PyTorch's closed form does.
 *
 * @example
 * const scheduler = new CosineAnnealingLR(optimizer, epochs * loader.length);
 * // after each optimizer.step():
 * scheduler.step();
 * @see https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.CosineAnnealingLR.html
 */
export class CosineAnnealingLR {
  readonly optimizer: Optimizer;
  readonly tMax: number;
  readonly etaMin: number;
  /** The learning rate the optimizer had when the scheduler was built. */
  readonly baseLr: number;
  #lastEpoch = 0;

  /**
   * @param optimizer - The optimizer whose `lr` is set.
   * @param tMax - Steps from `baseLr` down to `etaMin`, a positive integer.
   * @param etaMin - The smallest learning rate; default 0.
   * @throws {TypeError} when `optimizer` is not an {@link Optimizer}.
   * @throws {RangeError} when `tMax` or `etaMin` is out of range.
   */
  constructor(optimizer: Optimizer, tMax: number, etaMin = 0) {
    if (!(optimizer instanceof Optimizer)) throw typeError('optimizer', 'an Optimizer such as Adam or SGD', optimizer);
    this.optimizer = optimizer;
    this.tMax = checkInt('tMax', tMax, 1);
    this.etaMin = checkNumber('etaMin', etaMin, 0);
    this.baseLr = optimizer.lr;
  }

  /** Steps taken so far (`last_epoch` in PyTorch). */
  get lastEpoch(): number {
    return this.#lastEpoch;
  }

  /** Advances one step and sets the optimizer's learning rate. */
  step(): void {
    this.#lastEpoch += 1;
    const cosine = (1 + Math.cos((Math.PI * this.#lastEpoch) / this.tMax)) / 2;
    this.optimizer.lr = this.etaMin + (this.baseLr - this.etaMin) * cosine;
  }

  /** Returns the learning rate set by the latest step, as a one-element list like PyTorch's `get_last_lr()`. */
  getLastLr(): number[] {
    return [this.optimizer.lr];
  }
}
