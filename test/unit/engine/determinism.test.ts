// SPDX-License-Identifier: MIT
//
// Seeded CPU training is reproducible: the same seed gives bit-identical weights.

import { describe, expect, it } from 'vitest';
import { DiceLoss } from '../../../lib/losses/dice.js';
import { UNet } from '../../../lib/models/unet.js';
import { Adam } from '../../../lib/optim/adam.js';
import { manualSeed, randn, tensor, type Tensor } from '../../../lib/tensor.js';

/** Fixed batches that do not depend on the seed: a sine pattern and a band mask. */
function batches(): Array<[Tensor, Tensor]> {
  return [0, 1, 2].map((b) => [
    tensor(
      Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => Math.sin((i + 97 * b) / 9)),
      [2, 1, 32, 32],
    ),
    tensor(
      Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => ((i + 5 * b) % 32 > 10 && (i + 5 * b) % 32 < 22 ? 1 : 0)),
      [2, 1, 32, 32],
    ),
  ]);
}

/** Seeds, builds a model, trains it on the fixed batches and returns its state dict's bytes. */
function trainedWeights(seed: number): Map<string, number[]> {
  manualSeed(seed);
  const model = new UNet({ baseWidth: 4 });
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  const loss = new DiceLoss();
  for (const [image, mask] of batches()) {
    // Random noise drawn after the seed also takes part, as augmentation would.
    const noisy = image.add(randn(image.shape).mul(0.1));
    optimizer.zeroGrad();
    loss.forward(model.forward(noisy), mask).backward();
    optimizer.step();
  }
  const weights = new Map<string, number[]>();
  for (const [key, value] of model.stateDict()) {
    const bytes = new Uint8Array(value.data().buffer.slice(0));
    weights.set(key, Array.from(bytes));
  }
  return weights;
}

describe('determinism', () => {
  it('same seed gives bit-identical weights', () => {
    const first = trainedWeights(123);
    const second = trainedWeights(123);
    expect([...second.keys()]).toEqual([...first.keys()]);
    for (const [key, bytes] of first) expect(second.get(key), key).toEqual(bytes);
  });

  it('different seed gives different weights', () => {
    const first = trainedWeights(123);
    const other = trainedWeights(124);
    const differing = [...first.keys()].filter((key) => JSON.stringify(first.get(key)) !== JSON.stringify(other.get(key)));
    // Every convolution weight starts from a different draw.
    expect(differing).toContain('inc.double_conv.0.weight');
    expect(differing).toContain('outc.weight');
  });
});
