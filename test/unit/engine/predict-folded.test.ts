// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { predictVolume, type PredictOptions, type PredictResult } from '../../../lib/engine/predict.js';
import { UNet } from '../../../lib/models/unet.js';
import { BatchNorm2d } from '../../../lib/nn/index.js';
import { Adam } from '../../../lib/optim/index.js';
import { manualSeed, noGrad, randn, tidy } from '../../../lib/tensor.js';
import { seededRandom } from './synthetic.js';

// Odd slice sizes (21 x 19 axially), so the U-Net pads and crops.
const DIMS = [21, 19, 5];

/** A UNet subclass: predictVolume sends it through `model.forward`, the module path. */
class ModulePathUNet extends UNet {}

function syntheticVolume(seed: number): { data: Float32Array; dims: number[] } {
  const random = seededRandom(seed);
  return { data: Float32Array.from({ length: DIMS[0]! * DIMS[1]! * DIMS[2]! }, () => random() * 100), dims: [...DIMS] };
}

/** Builds a UNet with batch-norm statistics far from the defaults, and a module-path twin with the same state. */
function modelPair(numClasses: number, seed: number): [UNet, UNet] {
  manualSeed(seed);
  const model = new UNet({ baseWidth: 4, numClasses });
  noGrad(() => {
    for (const module of model.modules()) {
      if (!(module instanceof BatchNorm2d)) continue;
      module.runningMean!.uniform_(-0.3, 0.3);
      module.runningVar!.uniform_(0.3, 2.5);
    }
  });
  return [model, twinOf(model)];
}

function twinOf(model: UNet): UNet {
  const twin = new ModulePathUNet({ baseWidth: model.baseWidth, numClasses: model.numClasses });
  twin.loadStateDict(model.stateDict());
  return twin;
}

/** Checks probabilities within 1e-4 and equal labels, except voxels within 1e-5 of the threshold. */
function expectSamePrediction(folded: PredictResult, reference: PredictResult, threshold: number): void {
  const probabilities = folded.probabilities!;
  const expected = reference.probabilities!;
  let maxDifference = 0;
  for (let i = 0; i < expected.length; i++) maxDifference = Math.max(maxDifference, Math.abs(probabilities[i]! - expected[i]!));
  expect(maxDifference).toBeLessThan(1e-4);
  const oneClass = expected.length === reference.mask.length;
  let mismatches = 0;
  for (let i = 0; i < reference.mask.length; i++) {
    if (folded.mask[i] === reference.mask[i]) continue;
    if (oneClass && Math.abs(expected[i]! - threshold) < 1e-5) continue;
    mismatches++;
  }
  expect(mismatches).toBe(0);
}

describe('predictVolume with a UNet (folded path)', () => {
  // Each row: classes, batch size; 5 slices leave a last batch smaller than the others.
  const cases = [
    [1, 1],
    [1, 4],
    [3, 1],
    [3, 2],
  ] as const;

  it.each(cases)('matches the module path: %i classes, batch size %i', async (classes, batchSize) => {
    const [model, twin] = modelPair(classes, 30 + classes + batchSize);
    const volume = syntheticVolume(31);
    const options: PredictOptions = { batchSize, probabilities: true };
    expectSamePrediction(await predictVolume(model, volume, options), await predictVolume(twin, volume, options), 0.5);
  });

  it('labels without probabilities as with them', async () => {
    const [model] = modelPair(1, 32);
    const volume = syntheticVolume(33);
    for (const threshold of [0, 0.3, 1]) {
      const labelsOnly = await predictVolume(model, volume, { threshold });
      const withProbabilities = await predictVolume(model, volume, { threshold, probabilities: true });
      const probabilities = withProbabilities.probabilities!;
      const mismatches = labelsOnly.mask.filter((label, i) => label !== withProbabilities.mask[i] && Math.abs(probabilities[i]! - threshold) >= 1e-6);
      expect(mismatches).toHaveLength(0);
      expect(labelsOnly.probabilities).toBeUndefined();
    }
  });

  it('folds the model under autocast too', async () => {
    const [model] = modelPair(1, 36);
    const volume = syntheticVolume(37);
    const float32 = await predictVolume(model, volume, { probabilities: true });
    const folded = await predictVolume(model, volume, { probabilities: true, autocast: 'bfloat16' });
    const modulePath = await predictVolume(twinOf(model), volume, { probabilities: true, autocast: 'bfloat16' });
    const largestDifference = (a: Float32Array, b: Float32Array): number => a.reduce((largest, p, i) => Math.max(largest, Math.abs(p - b[i]!)), 0);
    // bfloat16 keeps 8 significant bits, so the probabilities differ from float32, but only slightly.
    expect(largestDifference(folded.probabilities!, float32.probabilities!)).toBeGreaterThan(0);
    expect(largestDifference(folded.probabilities!, float32.probabilities!)).toBeLessThan(0.05);
    expect(largestDifference(folded.probabilities!, modulePath.probabilities!)).toBeLessThan(0.05);
  });

  it('uses the new weights after a training step', async () => {
    const [model] = modelPair(1, 34);
    const volume = syntheticVolume(35);
    const options: PredictOptions = { probabilities: true, batchSize: 2 };
    const before = await predictVolume(model, volume, options);

    const optimizer = new Adam(model.parameters(), { lr: 0.05 });
    model.train();
    tidy(() => model.forward(randn([2, 1, 32, 32])).mean().backward());
    optimizer.step();

    const after = await predictVolume(model, volume, options);
    expect(Array.from(after.probabilities!)).not.toEqual(Array.from(before.probabilities!));
    expectSamePrediction(after, await predictVolume(twinOf(model), volume, options), 0.5);
  });
});
