// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { UNetInference } from '../../../lib/engine/unet-inference.js';
import { UNet } from '../../../lib/models/unet.js';
import { BatchNorm2d, Conv2d, Sequential } from '../../../lib/nn/index.js';
import { native } from '../../../lib/native.js';
import { Adam } from '../../../lib/optim/index.js';
import { manualSeed, noGrad, randn, tidy, type Tensor } from '../../../lib/tensor.js';

/** Builds a UNet whose batch norms have statistics and affine values far from the defaults. */
function perturbedUNet(baseWidth: number, numClasses: number, seed: number): UNet {
  manualSeed(seed);
  const model = new UNet({ baseWidth, numClasses });
  noGrad(() => {
    for (const module of model.modules()) {
      if (!(module instanceof BatchNorm2d)) continue;
      module.runningMean!.uniform_(-0.3, 0.3);
      module.runningVar!.uniform_(0.3, 2.5);
      module.weight!.uniform_(0.6, 1.4);
      module.bias!.uniform_(-0.2, 0.2);
    }
  });
  return model.eval();
}

/** Returns the largest absolute difference between the folded and the module forward pass. */
function foldingError(model: UNet, input: Tensor, channelsLast: boolean): { error: number; shape: number[] } {
  const inference = UNetInference.prepare(model, channelsLast)!;
  try {
    return noGrad(() =>
      tidy(() => {
        const expected = model.forward(input);
        const actual = inference.forward(input);
        return { error: actual.sub(expected).abs().amax().item(), shape: actual.shape };
      }),
    );
  } finally {
    inference.dispose();
  }
}

describe('UNetInference', () => {
  // Each row: base width, classes, input shape [B, 1, H, W]; odd sizes exercise the padding.
  const cases = [
    [4, 1, [1, 1, 32, 32]],
    [4, 3, [3, 1, 19, 45]],
    [8, 1, [2, 1, 27, 17]],
    [8, 3, [1, 1, 40, 24]],
  ] as const;

  it.each(cases)('matches the module forward: width %i, %i classes, input %j', (width, classes, shape) => {
    const model = perturbedUNet(width, classes, width * 10 + classes);
    const input = randn([...shape]);
    for (const channelsLast of [true, false]) {
      const { error, shape: outputShape } = foldingError(model, input, channelsLast);
      expect(outputShape).toEqual([shape[0], classes, shape[2], shape[3]]);
      expect(error).toBeLessThan(1e-4);
    }
  });

  it('matches the module forward after a training step', () => {
    const model = perturbedUNet(4, 1, 21).train();
    const optimizer = new Adam(model.parameters(), { lr: 0.05 });
    const runningMean = Array.from(model.inc.doubleConv.at(1).getBuffer('running_mean')!.data());
    // The forward pass in train mode updates the running statistics; the step changes the parameters.
    tidy(() => model.forward(randn([2, 1, 32, 32])).mean().backward());
    optimizer.step();
    expect(Array.from(model.inc.doubleConv.at(1).getBuffer('running_mean')!.data())).not.toEqual(runningMean);
    model.eval();
    const { error } = foldingError(model, randn([2, 1, 23, 31]), true);
    expect(error).toBeLessThan(1e-4);
  });

  it('folds the weights as they are when prepared', () => {
    const model = perturbedUNet(4, 1, 22);
    const input = randn([1, 1, 16, 16]);
    const inference = UNetInference.prepare(model)!;
    const before = noGrad(() => inference.forward(input).data());
    noGrad(() => model.inc.doubleConv.at(0).getParameter('weight').mul_(3));
    const after = noGrad(() => inference.forward(input).data());
    inference.dispose();
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(foldingError(model, input, true).error).toBeLessThan(1e-4);
  });

  it('leaves the model parameters alive after dispose', () => {
    const model = perturbedUNet(4, 1, 23);
    UNetInference.prepare(model)!.dispose();
    expect(model.parameters().every((parameter) => !parameter.disposed)).toBe(true);
    expect(model.buffers().every((buffer) => !buffer.disposed)).toBe(true);
  });

  it('returns null for a UNet subclass and for other modules', () => {
    class WrappedUNet extends UNet {}
    manualSeed(24);
    expect(UNetInference.prepare(new WrappedUNet({ baseWidth: 2 }))).toBeNull();
    expect(UNetInference.prepare(new Sequential(new Conv2d(1, 1, 3)))).toBeNull();
  });

  it('rejects: a weight list of the wrong length', () => {
    const call = (): unknown => native.unetInference(randn([1, 1, 16, 16]), [randn([1])], true);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/weights must be an array of 46 tensors; got 1 tensors/) }));
  });

  it('fails: an input with two channels for a one-channel model', () => {
    const model = perturbedUNet(2, 1, 25);
    const inference = UNetInference.prepare(model)!;
    const call = (): unknown => inference.forward(randn([1, 2, 16, 16]));
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_TORCH', message: expect.stringMatching(/^unetInference failed on input \[1, 2, 16, 16\]/) }));
    inference.dispose();
  });
});
