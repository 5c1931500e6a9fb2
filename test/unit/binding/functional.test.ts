// SPDX-License-Identifier: MIT
//
// The torch.nn.functional operations of the native addon, checked against values computed
// by hand in the tests.

import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

const values = (tensor: { data(): unknown }): number[] => Array.from(tensor.data() as Float32Array);

describe('conv2d', () => {
  it('sums a 2x2 window with a ones kernel and adds the bias', () => {
    const input = native.arange(0, 9, 1).reshape([1, 1, 3, 3]);
    const weight = native.ones([1, 1, 2, 2]);
    const bias = native.tensor([10], [1]);
    const output = native.conv2d(input, weight, bias, [1, 1], [0, 0], [1, 1], 1);
    expect(output.shape).toEqual([1, 1, 2, 2]);
    expect(values(output)).toEqual([0 + 1 + 3 + 4 + 10, 1 + 2 + 4 + 5 + 10, 3 + 4 + 6 + 7 + 10, 4 + 5 + 7 + 8 + 10]);
  });

  it('pads and strides', () => {
    const output = native.conv2d(native.ones([1, 1, 4, 4]), native.ones([2, 1, 3, 3]), null, [2, 2], [1, 1], [1, 1], 1);
    expect(output.shape).toEqual([1, 2, 2, 2]);
    expect(values(output).slice(0, 4)).toEqual([4, 6, 6, 9]);
  });
});

describe('convTranspose2d', () => {
  it('upsamples by its stride', () => {
    const input = native.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const output = native.convTranspose2d(input, native.ones([1, 1, 2, 2]), null, [2, 2], [0, 0], [0, 0], 1, [1, 1]);
    expect(output.shape).toEqual([1, 1, 4, 4]);
    expect(values(output)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('adds output padding', () => {
    const output = native.convTranspose2d(native.ones([1, 2, 3, 3]), native.ones([2, 4, 3, 3]), native.zeros([4]), [2, 2], [1, 1], [1, 1], 1, [1, 1]);
    expect(output.shape).toEqual([1, 4, 6, 6]);
  });
});

describe('batchNorm', () => {
  // Input [N=2, C=2, H=1, W=2]: channel 0 contains 1, 2, 5, 6 and channel 1 contains 3, 4, 7, 8.
  const data = [1, 2, 3, 4, 5, 6, 7, 8];
  const channels = [
    [1, 2, 5, 6],
    [3, 4, 7, 8],
  ];
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sumSquares = (xs: number[]): number => xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0);

  it('updates running stats in place with momentum 0.1', () => {
    const runningMean = native.zeros([2]);
    const runningVar = native.ones([2]);
    native.batchNorm(native.tensor(data, [2, 2, 1, 2]), runningMean, runningVar, null, null, true, 0.1, 1e-5);
    // running = (1 - momentum) * running + momentum * batch statistic, with the unbiased variance.
    const expectedMean = channels.map((xs) => 0.9 * 0 + 0.1 * mean(xs));
    const expectedVar = channels.map((xs) => 0.9 * 1 + 0.1 * (sumSquares(xs) / (xs.length - 1)));
    values(runningMean).forEach((value, c) => expect(value).toBeCloseTo(expectedMean[c]!, 6));
    values(runningVar).forEach((value, c) => expect(value).toBeCloseTo(expectedVar[c]!, 5));
  });

  it('normalizes with the batch statistics and applies weight and bias', () => {
    const weight = native.tensor([2, 1], [2]);
    const bias = native.tensor([0, 1], [2]);
    const eps = 1e-5;
    const output = native.batchNorm(native.tensor(data, [2, 2, 1, 2]), null, null, weight, bias, true, 0.1, eps);
    const got = values(output);
    const layout = [
      [0, 0], [0, 1], [1, 0], [1, 1], [0, 2], [0, 3], [1, 2], [1, 3],
    ] as const;  // [channel, index within channel] of each output element
    layout.forEach(([c, i], k) => {
      const xs = channels[c]!;
      const normalized = (xs[i]! - mean(xs)) / Math.sqrt(sumSquares(xs) / xs.length + eps);
      expect(got[k]).toBeCloseTo(normalized * [2, 1][c]! + [0, 1][c]!, 5);
    });
  });

  it('uses the running stats in eval mode', () => {
    const output = native.batchNorm(native.tensor([3, 5], [1, 1, 1, 2]), native.tensor([1], [1]), native.tensor([4], [1]), null, null, false, 0.1, 0);
    expect(values(output)).toEqual([1, 2]);
  });

  it('rejects: one value per channel in training', () => {
    expectNativeError(
      () => native.batchNorm(native.ones([1, 3, 1, 1]), null, null, null, null, true, 0.1, 1e-5),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /batchNorm: input must have more than 1 value per channel when training; got shape \[1, 3, 1, 1\]/,
    );
  });
});

describe('pooling and resampling', () => {
  it('max pools 2x2 windows', () => {
    const input = native.arange(0, 16, 1).reshape([1, 1, 4, 4]);
    const output = native.maxPool2d(input, [2, 2], [2, 2], [0, 0], [1, 1], false);
    expect(values(output)).toEqual([5, 7, 13, 15]);
    expect(native.maxPool2d(native.ones([1, 1, 5, 5]), [2, 2], [2, 2], [0, 0], [1, 1], true).shape).toEqual([1, 1, 3, 3]);
  });

  it('pads constant, reflect and replicate', () => {
    const input = native.tensor([1, 2, 3], [1, 1, 3]);
    expect(values(native.pad(input, [1, 2], 'constant', 9))).toEqual([9, 1, 2, 3, 9, 9]);
    expect(values(native.pad(input, [1, 1], 'reflect', 0))).toEqual([2, 1, 2, 3, 2]);
    expect(values(native.pad(input, [2, 1], 'replicate', 0))).toEqual([1, 1, 1, 2, 3, 3]);
    expect(native.pad(native.ones([1, 1, 2, 2]), [1, 1, 2, 2], 'constant', 0).shape).toEqual([1, 1, 6, 4]);
  });

  it('rejects: an unknown pad mode', () => {
    expectNativeError(() => native.pad(native.ones([1, 1, 2]), [1, 1], 'circular' as never, 0), RangeError, 'ERR_OUT_OF_RANGE', /pad: mode must be one of 'constant', 'reflect', 'replicate'; got 'circular'/);
  });

  it('interpolates nearest and bilinear', () => {
    const input = native.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(values(native.interpolate(input, [4, 4], 'nearest', false))).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const corners = values(native.interpolate(native.tensor([0, 3], [1, 1, 1, 2]), [1, 4], 'bilinear', true));
    corners.forEach((value, i) => expect(value).toBeCloseTo(i, 6));
  });

  it('rejects: alignCorners with nearest', () => {
    expectNativeError(() => native.interpolate(native.ones([1, 1, 2, 2]), [4, 4], 'nearest', true), RangeError, 'ERR_OUT_OF_RANGE', /interpolate: alignCorners must be false when mode is 'nearest'; got true/);
  });
});

describe('activations and losses', () => {
  it('applies relu, sigmoid, softmax and logSoftmax', () => {
    expect(values(native.relu(native.tensor([-1, 0, 2], [3])))).toEqual([0, 0, 2]);
    expect(native.sigmoid(native.tensor([0], [1])).item()).toBe(0.5);
    const softmax = values(native.softmax(native.tensor([0, Math.log(3)], [2]), 0));
    expect(softmax[0]).toBeCloseTo(0.25, 6);
    expect(softmax[1]).toBeCloseTo(0.75, 6);
    expect(values(native.logSoftmax(native.tensor([0, Math.log(3)], [2]), 0))[0]).toBeCloseTo(Math.log(0.25), 6);
  });

  it('computes binary cross entropy with logits', () => {
    const logits = [0.5, -1, 2];
    const targets = [1, 0, 1];
    const expected = logits.map((x, i) => -(targets[i]! * Math.log(1 / (1 + Math.exp(-x))) + (1 - targets[i]!) * Math.log(1 - 1 / (1 + Math.exp(-x)))));
    const input = native.tensor(logits, [3]);
    const target = native.tensor(targets, [3]);
    const none = values(native.binaryCrossEntropyWithLogits(input, target, null, 'none', null));
    none.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
    const meanLoss = native.binaryCrossEntropyWithLogits(input, target, null, 'mean', null).item();
    expect(meanLoss).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 3, 5);
    const sumLoss = native.binaryCrossEntropyWithLogits(input, target, null, 'sum', null).item();
    expect(sumLoss).toBeCloseTo(expected.reduce((a, b) => a + b, 0), 5);
    // pos_weight scales the positive term: 2 * -log(sigmoid(0.5)) for the first element.
    const weighted = values(native.binaryCrossEntropyWithLogits(input, target, null, 'none', native.tensor([2], [1])));
    expect(weighted[0]).toBeCloseTo(2 * expected[0]!, 5);
  });

  it('rejects: a target of another shape', () => {
    expectNativeError(
      () => native.binaryCrossEntropyWithLogits(native.ones([2, 1]), native.ones([2]), null, 'mean', null),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /binaryCrossEntropyWithLogits: target must have the shape of input \[2, 1\]; got \[2\]/,
    );
  });

  it('rejects: an unknown reduction', () => {
    expectNativeError(() => native.binaryCrossEntropyWithLogits(native.ones([2]), native.ones([2]), null, 'avg' as never, null), RangeError, 'ERR_OUT_OF_RANGE', /reduction must be one of 'mean', 'sum', 'none'; got 'avg'/);
  });

  it('computes cross entropy with an ignored index', () => {
    const input = native.tensor([0, Math.log(3), 5, 5], [2, 2]);
    const target = native.tensor(new BigInt64Array([1n, -100n]), [2]);
    expect(native.crossEntropy(input, target, null, 'mean', -100).item()).toBeCloseTo(-Math.log(0.75), 5);
    expect(values(native.crossEntropy(input, target, null, 'none', -100))[1]).toBe(0);
  });

  it('one-hot encodes int64 indices', () => {
    const output = native.oneHot(native.tensor(new BigInt64Array([0n, 2n]), [2]), 3);
    expect(output.dtype).toBe('int64');
    expect(output.shape).toEqual([2, 3]);
    expect(Array.from(output.data() as BigInt64Array)).toEqual([1n, 0n, 0n, 0n, 0n, 1n]);
  });
});
