// SPDX-License-Identifier: MIT
//
// Default initialisation against PyTorch's distributions. Layer shapes, the bound of each
// layer's weights and BatchNorm's constants are in layers.test.ts; this file checks the moments
// of the samples and the init functions themselves.

import { describe, expect, it } from 'vitest';
import { UNet } from '../../../lib/models/unet.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d } from '../../../lib/nn/index.js';
import { calculateFanInAndFanOut, calculateGain, kaimingUniform_ } from '../../../lib/nn/init.js';
import { empty, manualSeed, type Tensor } from '../../../lib/tensor.js';

function values(t: Tensor): number[] {
  return Array.from(t.data() as Float32Array);
}

function maxAbs(samples: number[]): number {
  return samples.reduce((max, x) => Math.max(max, Math.abs(x)), 0);
}

/**
 * Checks that `samples` look like U(-bound, bound): none outside the bound, and a mean and a
 * variance within 6 standard errors of 0 and bound²/3. For n samples the sample mean has standard
 * error bound/sqrt(3n), and the mean of x² has standard error bound²·sqrt(4/45)/sqrt(n), because
 * Var(x²) = E[x⁴] - E[x²]² = bound⁴/5 - bound⁴/9. Six standard errors make a false failure
 * less likely than 1e-8 per check.
 */
function expectUniform(samples: number[], bound: number, label: string): void {
  const n = samples.length;
  const mean = samples.reduce((sum, x) => sum + x, 0) / n;
  const meanSquare = samples.reduce((sum, x) => sum + x * x, 0) / n;
  expect(maxAbs(samples), label).toBeLessThanOrEqual(bound);
  expect(Math.abs(mean), `${label} mean`).toBeLessThan((6 * bound) / Math.sqrt(3 * n));
  const varianceError = (bound * bound * Math.sqrt(4 / 45)) / Math.sqrt(n);
  expect(Math.abs(meanSquare - (bound * bound) / 3), `${label} variance`).toBeLessThan(6 * varianceError);
}

describe('default initialisation moments', () => {
  // Each row: a layer large enough for tight moments, and its fan in (PyTorch's: weight size(1)
  // times the kernel area, which for ConvTranspose2d is out_channels / groups).
  const cases: Array<[string, () => Conv2d | ConvTranspose2d, number]> = [
    ['Conv2d 64 to 64, 3x3', () => new Conv2d(64, 64, 3), 64 * 9],
    ['Conv2d 1x1', () => new Conv2d(128, 96, 1), 128],
    ['ConvTranspose2d 64 to 32, 2x2', () => new ConvTranspose2d(64, 32, 2, { stride: 2 }), 32 * 4],
    ['ConvTranspose2d groups 2', () => new ConvTranspose2d(64, 64, 3, { groups: 2 }), 32 * 9],
  ];

  it.each(cases)('%s weight is uniform within 1/sqrt(fanIn)', (name, make, fanIn) => {
    manualSeed(7);
    const layer = make();
    expect(calculateFanInAndFanOut(layer.weight.shape)[0]).toBe(fanIn);
    expectUniform(values(layer.weight), 1 / Math.sqrt(fanIn), `${name} weight`);
  });

  it.each(cases)('%s bias is within 1/sqrt(fanIn)', (name, make, fanIn) => {
    manualSeed(8);
    const bias = values(make().bias!);
    const bound = 1 / Math.sqrt(fanIn);
    expect(maxAbs(bias), name).toBeLessThanOrEqual(bound);
    // A bias of 32 or more uniform values is not all in the inner half of the range (chance 2^-32).
    expect(maxAbs(bias), name).toBeGreaterThan(bound / 2);
  });

  it('initialises every layer of a UNet as PyTorch does', () => {
    manualSeed(9);
    const model = new UNet({ inChannels: 3, numClasses: 2, baseWidth: 8 });
    let convolutions = 0;
    let norms = 0;
    for (const [name, module] of model.namedModules()) {
      if (module instanceof Conv2d || module instanceof ConvTranspose2d) {
        const bound = 1 / Math.sqrt(calculateFanInAndFanOut(module.weight.shape)[0]);
        expect(maxAbs(values(module.weight)), name).toBeLessThanOrEqual(bound);
        convolutions++;
      } else if (module instanceof BatchNorm2d) {
        expect(new Set(values(module.weight!)), name).toEqual(new Set([1]));
        expect(new Set(values(module.bias!)), name).toEqual(new Set([0]));
        norms++;
      }
    }
    // 9 double convolutions of 2 each, 4 transposed convolutions and the output convolution.
    expect(convolutions).toBe(23);
    expect(norms).toBe(18);
    // down4's second convolution weight, [128, 128, 3, 3], has enough samples for the moments.
    const weight = model.stateDict().get('down4.maxpool_conv.1.double_conv.3.weight')!;
    expectUniform(values(weight), 1 / Math.sqrt(calculateFanInAndFanOut(weight.shape)[0]), 'down4 conv');
  });
});

describe('init functions', () => {
  it('kaimingUniform_ with a = sqrt(5) gives bound 1/sqrt(fanIn)', () => {
    manualSeed(10);
    const weight = kaimingUniform_(empty([100, 50, 3, 3]), { a: Math.sqrt(5) });
    expectUniform(values(weight), 1 / Math.sqrt(50 * 9), 'kaiming a=sqrt(5)');
  });

  it('kaimingUniform_ for relu in fanOut mode gives bound sqrt(6/fanOut)', () => {
    manualSeed(11);
    const weight = kaimingUniform_(empty([40, 60, 3, 3]), { mode: 'fanOut', nonlinearity: 'relu' });
    expectUniform(values(weight), Math.sqrt(6 / (40 * 9)), 'kaiming relu fanOut');
  });

  it('calculateGain matches torch.nn.init.calculate_gain', () => {
    expect(calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(calculateGain('conv2d')).toBe(1);
  });

  it('rejects: a weight with one dimension', () => {
    const call = (): unknown => calculateFanInAndFanOut([5]);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^shape must be/) }));
  });

  it('rejects: an unknown kaiming mode', () => {
    const call = (): unknown => kaimingUniform_(empty([2, 2]), { mode: 'fan_in' as 'fanIn' });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^options\.mode must be/) }));
  });
});
