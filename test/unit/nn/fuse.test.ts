// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d } from '../../../lib/nn/index.js';
import { conv2d } from '../../../lib/nn/functional.js';
import { fuseConvBnWeights } from '../../../lib/nn/fuse.js';
import { manualSeed, noGrad, randn, type Tensor } from '../../../lib/tensor.js';

/** Gives the batch norm statistics and affine values far from the defaults, so folding matters. */
function perturb(bn: BatchNorm2d): void {
  noGrad(() => {
    bn.runningMean!.uniform_(-0.5, 0.5);
    bn.runningVar!.uniform_(0.2, 3);
    bn.weight?.uniform_(0.5, 1.5);
    bn.bias?.uniform_(-0.3, 0.3);
  });
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return a.sub(b).abs().amax().item();
}

describe('fuseConvBnWeights', () => {
  // Each row: conv options, batch norm options, what the row covers.
  const cases = [
    [{ padding: 1, bias: false }, {}, 'a bias-free 3x3 convolution, as in DoubleConv'],
    [{ padding: 0, bias: true }, {}, 'a convolution with its own bias'],
    [{ padding: 1, bias: true }, { affine: false, eps: 1e-3 }, 'a batch norm without affine and a larger eps'],
  ] as const;

  it.each(cases)('matches conv then eval batch norm: %j %j (%s)', (convOptions, bnOptions) => {
    manualSeed(3);
    const conv = new Conv2d(3, 5, 3, convOptions);
    const bn = new BatchNorm2d(5, bnOptions);
    perturb(bn);
    bn.eval();
    const input = randn([2, 3, 7, 6]);
    const expected = noGrad(() => bn.forward(conv.forward(input)));
    const { weight, bias } = fuseConvBnWeights(conv, bn);
    const actual = noGrad(() => conv2d(input, weight, { bias, padding: conv.padding }));
    expect(weight.shape).toEqual(conv.weight.shape);
    expect(bias.shape).toEqual([5]);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5);
  });

  it('returns copies that later weight changes do not reach', () => {
    manualSeed(4);
    const conv = new Conv2d(2, 2, 1, { bias: false });
    const bn = new BatchNorm2d(2);
    const { weight } = fuseConvBnWeights(conv, bn);
    const before = Array.from(weight.data());
    noGrad(() => conv.weight.mul_(2));
    expect(Array.from(weight.data())).toEqual(before);
    expect(weight.requiresGrad).toBe(false);
  });

  it('rejects: a batch norm without running statistics', () => {
    const call = (): unknown => fuseConvBnWeights(new Conv2d(1, 2, 3), new BatchNorm2d(2, { trackRunningStats: false }));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^bn must be a BatchNorm2d with running statistics/) }));
  });

  it('rejects: a batch norm over another channel count', () => {
    const call = (): unknown => fuseConvBnWeights(new Conv2d(1, 2, 3), new BatchNorm2d(3));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^bn must be .*conv\.outChannels \(2\)/) }));
  });

  it('rejects: a module that is not a Conv2d', () => {
    const call = (): unknown => fuseConvBnWeights(new BatchNorm2d(2) as never, new BatchNorm2d(2));
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^conv must be a Conv2d/) }));
  });
});
