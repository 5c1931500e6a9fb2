// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU, Sequential, Sigmoid, Softmax } from '../../../lib/nn/index.js';
import { manualSeed, randn, tensor, type Tensor } from '../../../lib/tensor.js';

function values(t: Tensor): number[] {
  return Array.from(t.data() as Float32Array);
}

describe('layer output shapes', () => {
  // Each row: a layer factory, the input shape, and the expected output shape.
  const cases: Array<[string, () => Module, number[], number[]]> = [
    ['Conv2d 3x3 padding 1', () => new Conv2d(3, 8, 3, { padding: 1 }), [2, 3, 10, 12], [2, 8, 10, 12]],
    ['Conv2d stride 2', () => new Conv2d(3, 4, 3, { stride: 2 }), [1, 3, 9, 9], [1, 4, 4, 4]],
    ['Conv2d dilation 2 groups 2', () => new Conv2d(4, 6, 3, { dilation: 2, groups: 2 }), [1, 4, 9, 9], [1, 6, 5, 5]],
    ['Conv2d 1x1 rectangular', () => new Conv2d(2, 5, [1, 1]), [3, 2, 7, 5], [3, 5, 7, 5]],
    ['ConvTranspose2d 2x2 stride 2', () => new ConvTranspose2d(8, 4, 2, { stride: 2 }), [2, 8, 5, 6], [2, 4, 10, 12]],
    ['ConvTranspose2d output padding', () => new ConvTranspose2d(2, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }), [1, 2, 4, 4], [1, 2, 8, 8]],
    ['BatchNorm2d', () => new BatchNorm2d(3), [4, 3, 5, 5], [4, 3, 5, 5]],
    ['MaxPool2d 2', () => new MaxPool2d(2), [1, 2, 9, 8], [1, 2, 4, 4]],
    ['MaxPool2d ceil mode', () => new MaxPool2d(2, { ceilMode: true }), [1, 2, 9, 8], [1, 2, 5, 4]],
    ['ReLU', () => new ReLU(), [2, 3], [2, 3]],
    ['Sigmoid', () => new Sigmoid(), [2, 3], [2, 3]],
    ['Softmax', () => new Softmax(1), [2, 3], [2, 3]],
    ['Sequential', () => new Sequential(new Conv2d(1, 4, 3), new ReLU(), new MaxPool2d(2)), [1, 1, 10, 10], [1, 4, 4, 4]],
  ];

  it.each(cases)('%s', (_name, make, inputShape, outputShape) => {
    const layer = make();
    expect(layer.forward(randn(inputShape)).shape).toEqual(outputShape);
  });
});

describe('backward', () => {
  const cases: Array<[string, () => Module, number[]]> = [
    ['Conv2d', () => new Conv2d(2, 3, 3, { padding: 1 }), [2, 2, 6, 6]],
    ['ConvTranspose2d', () => new ConvTranspose2d(2, 3, 2, { stride: 2 }), [2, 2, 3, 3]],
    ['BatchNorm2d', () => new BatchNorm2d(2), [4, 2, 3, 3]],
    ['Sequential', () => new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new ReLU()), [2, 1, 6, 6]],
  ];

  it.each(cases)('fills every parameter gradient of %s', (_name, make, inputShape) => {
    manualSeed(1);
    const layer = make();
    // Weight the output so BatchNorm's gradient is not zero by symmetry.
    const output = layer.forward(randn(inputShape));
    output.mul(randn(output.shape)).sum().backward();
    for (const [name, parameter] of layer.namedParameters()) {
      const grad = parameter.grad;
      expect(grad, name).not.toBeNull();
      expect(grad!.shape, name).toEqual(parameter.shape);
      expect(grad!.abs().sum().item(), name).toBeGreaterThan(0);
    }
  });
});

describe('initialisation', () => {
  it.each([
    // layer, fan in (PyTorch's: size(1) of the weight times the kernel area)
    ['Conv2d', () => new Conv2d(16, 32, 3), 16 * 9],
    ['Conv2d groups', () => new Conv2d(16, 32, 3, { groups: 4 }), 4 * 9],
    ['ConvTranspose2d', () => new ConvTranspose2d(32, 16, 2, { stride: 2 }), 16 * 4],
  ] as const)('draws %s weights and bias from U(±1/sqrt(fanIn))', (_name, make, fanIn) => {
    manualSeed(3);
    const layer = make() as Conv2d | ConvTranspose2d;
    const bound = 1 / Math.sqrt(fanIn);
    const weight = values(layer.weight);
    const bias = values(layer.bias!);
    expect(Math.max(...weight.map(Math.abs))).toBeLessThanOrEqual(bound);
    // A uniform sample of over a thousand values reaches close to its bound.
    expect(Math.max(...weight.map(Math.abs))).toBeGreaterThan(0.95 * bound);
    expect(Math.max(...bias.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(layer.weight.requiresGrad).toBe(true);
    expect(layer.bias!.requiresGrad).toBe(true);
  });

  it('lays out ConvTranspose2d weights as [in, out / groups, kH, kW]', () => {
    expect(new ConvTranspose2d(8, 6, [2, 3], { groups: 2 }).weight.shape).toEqual([8, 3, 2, 3]);
    expect(new Conv2d(8, 6, [2, 3], { groups: 2 }).weight.shape).toEqual([6, 4, 2, 3]);
  });

  it('starts BatchNorm2d at weight 1, bias 0, mean 0, variance 1, 0 batches', () => {
    const bn = new BatchNorm2d(3);
    expect(values(bn.weight!)).toEqual([1, 1, 1]);
    expect(values(bn.bias!)).toEqual([0, 0, 0]);
    expect(values(bn.runningMean!)).toEqual([0, 0, 0]);
    expect(values(bn.runningVar!)).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.dtype).toBe('int64');
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('registers a null bias when bias is false', () => {
    const conv = new Conv2d(1, 2, 3, { bias: false });
    expect(conv.bias).toBeNull();
    expect([...conv.stateDict().keys()]).toEqual(['weight']);
  });
});

describe('BatchNorm2d', () => {
  it('updates running statistics in training with momentum 0.1', () => {
    const bn = new BatchNorm2d(1);
    // One channel holding 1, 2, 3, 4: mean 2.5, unbiased variance 5/3.
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const y = bn.forward(x);
    expect(values(bn.runningMean!)[0]).toBeCloseTo(0.25, 6);
    expect(values(bn.runningVar!)[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    // Training output uses the biased batch variance 1.25.
    expect(values(y)[0]).toBeCloseTo((1 - 2.5) / Math.sqrt(1.25 + 1e-5), 5);
  });

  it('normalises with running statistics in eval mode and leaves them alone', () => {
    const bn = new BatchNorm2d(1).eval();
    const y = bn.forward(tensor([3], [1, 1, 1, 1]));
    expect(values(y)[0]).toBeCloseTo(3 / Math.sqrt(1 + 1e-5), 5);
    expect(values(bn.runningMean!)).toEqual([0]);
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('uses a cumulative average when momentum is null', () => {
    const bn = new BatchNorm2d(1, { momentum: null });
    bn.forward(tensor([2, 4], [2, 1, 1, 1]));
    bn.forward(tensor([6, 8], [2, 1, 1, 1]));
    expect(values(bn.runningMean!)[0]).toBeCloseTo(5, 5);
    expect(bn.numBatchesTracked!.item()).toBe(2);
  });

  it('has no buffers without trackRunningStats', () => {
    const bn = new BatchNorm2d(2, { trackRunningStats: false, affine: false });
    expect(bn.stateDict().size).toBe(0);
    expect(bn.eval().forward(randn([3, 2, 2, 2])).shape).toEqual([3, 2, 2, 2]);
  });
});

describe('layer arguments', () => {
  // Each row: a constructor call, the error class, and the argument the message must name.
  const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError, RegExp]> = [
    ['Conv2d zero channels', () => new Conv2d(0, 2, 3), RangeError, /^inChannels must be/],
    ['Conv2d channels not divisible by groups', () => new Conv2d(3, 4, 3, { groups: 2 }), RangeError, /^inChannels must be divisible/],
    ['Conv2d fractional kernel', () => new Conv2d(1, 1, 2.5), RangeError, /^kernelSize must be/],
    ['Conv2d string padding', () => new Conv2d(1, 1, 3, { padding: 'same' as unknown as number }), TypeError, /^options\.padding must be/],
    ['Conv2d zero stride', () => new Conv2d(1, 1, 3, { stride: 0 }), RangeError, /^options\.stride must be/],
    ['ConvTranspose2d output padding too large', () => new ConvTranspose2d(1, 1, 2, { stride: 2, outputPadding: 2 }), RangeError, /^options\.outputPadding must be/],
    ['BatchNorm2d negative eps', () => new BatchNorm2d(2, { eps: -1 }), RangeError, /^options\.eps must be/],
    ['BatchNorm2d momentum above 1', () => new BatchNorm2d(2, { momentum: 2 }), RangeError, /^options\.momentum must be/],
    ['MaxPool2d padding above half the kernel', () => new MaxPool2d(2, { padding: 2 }), RangeError, /^padding must be/],
    ['Sequential non-module', () => new Sequential({} as Module), TypeError, /^modules\[0\] must be/],
  ];

  it.each(cases)('rejects: %s', (_name, call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    const code = errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE';
    expect(call).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  it('rejects: an input with the wrong channel count', () => {
    const call = (): unknown => new Conv2d(3, 2, 3).forward(randn([1, 2, 5, 5]));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^input must be a \[B, 3, H, W\]/) }));
  });
});
