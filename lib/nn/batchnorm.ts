// SPDX-License-Identifier: MIT
//
// BatchNorm2d as torch.nn.BatchNorm2d, with the same parameters, buffers and state-dict keys.

import { Module } from './module.js';
import { batchNorm } from './functional.js';
import { checkChannels } from './conv.js';
import { ones, zeros, type Tensor } from '../tensor.js';
import { checkBoolean, checkInt, checkNumber, checkOptions } from '../validate.js';

/** Options of {@link BatchNorm2d}. */
export interface BatchNorm2dOptions {
  /** Added to the variance for numerical stability; default 1e-5. */
  eps?: number;
  /**
   * Weight of the current batch in the running statistics; default 0.1. Null gives a
   * cumulative moving average (weight `1 / numBatchesTracked`).
   */
  momentum?: number | null;
  /** Learnable per-channel scale `weight` and shift `bias`; default true. */
  affine?: boolean;
  /** Keep `running_mean` and `running_var` for evaluation; default true. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over the channels of `[B, C, H, W]`, as `torch.nn.BatchNorm2d`.
 *
 * In training mode it normalises with the batch's statistics and updates `running_mean`,
 * `running_var` (unbiased) and `num_batches_tracked` in place. In evaluation mode it uses the
 * running statistics. State-dict keys: `weight`, `bias`, `running_mean`, `running_var`,
 * `num_batches_tracked` (int64). Initial values: weight 1, bias 0, running mean 0, running
 * variance 1, batches tracked 0.
 *
 * @example
 * const bn = new BatchNorm2d(16);
 * const y = bn.forward(x); // [B, 16, H, W]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html
 */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  /**
   * @param numFeatures - Channels `C` of the input.
   * @param options - `eps` (1e-5), `momentum` (0.1), `affine` (true), `trackRunningStats` (true).
   * @throws TypeError or RangeError for invalid arguments.
   */
  constructor(numFeatures: number, options?: BatchNorm2dOptions) {
    super();
    this.numFeatures = checkInt('numFeatures', numFeatures, 1);
    const opts = checkOptions<BatchNorm2dOptions>('options', options);
    this.eps = checkNumber('options.eps', opts.eps ?? 1e-5, 0);
    this.momentum = opts.momentum === null ? null : checkNumber('options.momentum', opts.momentum ?? 0.1, 0, 1);
    this.affine = checkBoolean('options.affine', opts.affine ?? true);
    this.trackRunningStats = checkBoolean('options.trackRunningStats', opts.trackRunningStats ?? true);

    if (this.affine) {
      this.registerParameter('weight', ones([numFeatures], { requiresGrad: true }));
      this.registerParameter('bias', zeros([numFeatures], { requiresGrad: true }));
    } else {
      this.registerParameter('weight', null);
      this.registerParameter('bias', null);
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  /** Learnable scale `[C]`, or null without `affine`. */
  get weight(): Tensor | null {
    return this.getOptionalParameter('weight');
  }

  /** Learnable shift `[C]`, or null without `affine`. */
  get bias(): Tensor | null {
    return this.getOptionalParameter('bias');
  }

  /** Running mean `[C]`, or null without `trackRunningStats`. */
  get runningMean(): Tensor | null {
    return this.getBuffer('running_mean');
  }

  /** Running (unbiased) variance `[C]`, or null without `trackRunningStats`. */
  get runningVar(): Tensor | null {
    return this.getBuffer('running_var');
  }

  /** Number of training batches seen (int64 scalar), or null without `trackRunningStats`. */
  get numBatchesTracked(): Tensor | null {
    return this.getBuffer('num_batches_tracked');
  }

  /**
   * @param input - `[B, numFeatures, H, W]`.
   * @returns A tensor shaped like `input`.
   */
  override forward(input: Tensor): Tensor {
    checkChannels(input, this.numFeatures, this.constructor.name);
    let factor = this.momentum ?? 0;
    const tracked = this.numBatchesTracked;
    if (this.training && tracked !== null) {
      tracked.add_(1);
      if (this.momentum === null) factor = 1 / tracked.item();
    }
    // As PyTorch: batch statistics in training, or whenever there are no running statistics.
    const useBatchStats = this.training || this.runningMean === null;
    const passRunningStats = !this.training || this.trackRunningStats;
    return batchNorm(input, passRunningStats ? this.runningMean : null, passRunningStats ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }
}
