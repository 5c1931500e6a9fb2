// SPDX-License-Identifier: MIT
//
// Folding of an evaluation-mode batch norm into the convolution before it, for inference.

import { BatchNorm2d } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { noGrad, tidy, type Tensor } from '../tensor.js';
import { rangeError, typeError } from '../validate.js';

/** Weight and bias of a convolution with a batch norm folded into it. */
export interface FusedConvWeights {
  /** `[outChannels, inChannels / groups, kH, kW]`. */
  weight: Tensor;
  /** `[outChannels]`. */
  bias: Tensor;
}

/**
 * Folds `bn`, as it computes in evaluation mode, into `conv`: with `k = γ / sqrt(running_var + ε)`
 * per output channel, the weight becomes `w · k` and the bias `β + (b − running_mean) · k`. A
 * convolution without bias counts as `b = 0`, and a batch norm without `affine` as `γ = 1`,
 * `β = 0`. The result is computed without gradients, in the dtype and on the device of `conv`.
 * It is a copy, so later changes to either module do not reach it.
 *
 * @param conv - The convolution whose output `bn` normalises.
 * @param bn - A batch norm over `conv.outChannels` channels, with running statistics.
 * @returns New tensors that the caller owns.
 * @throws TypeError when `conv` or `bn` has the wrong class; RangeError when `bn` keeps no
 *   running statistics or its channel count differs from `conv.outChannels`.
 * @example
 * const { weight, bias } = fuseConvBnWeights(conv, bn); // conv followed by bn, both in evaluation mode
 * @see https://pytorch.org/docs/stable/generated/torch.nn.utils.fuse_conv_bn_weights.html
 */
export function fuseConvBnWeights(conv: Conv2d, bn: BatchNorm2d): FusedConvWeights {
  if (!(conv instanceof Conv2d)) throw typeError('conv', 'a Conv2d', conv);
  if (!(bn instanceof BatchNorm2d)) throw typeError('bn', 'a BatchNorm2d', bn);
  if (bn.numFeatures !== conv.outChannels) {
    throw rangeError('bn', `a BatchNorm2d over conv.outChannels (${conv.outChannels}) channels`, `one over ${bn.numFeatures}`);
  }
  const runningMean = bn.runningMean;
  const runningVar = bn.runningVar;
  if (runningMean === null || runningVar === null) {
    throw rangeError('bn', 'a BatchNorm2d with running statistics (trackRunningStats: true)', 'one without');
  }
  return noGrad(() =>
    tidy(() => {
      const std = runningVar.add(bn.eps).sqrt();
      const scale = bn.weight === null ? std.pow(-1) : bn.weight.div(std);
      const weight = conv.weight.mul(scale.reshape([-1, 1, 1, 1]));
      let bias = conv.bias === null ? runningMean.neg() : conv.bias.sub(runningMean);
      bias = bias.mul(scale);
      if (bn.bias !== null) bias = bias.add(bn.bias);
      return { weight, bias };
    }),
  );
}
