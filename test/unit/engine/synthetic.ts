// SPDX-License-Identifier: MIT
//
// A small synthetic segmentation task for engine tests: bright squares on noise, with the square
// as the mask. Generated with a seeded generator, so every run gets the same data.

import type { TrainBatch } from '../../../lib/engine/train.js';

/** Returns a generator of deterministic uniform numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws one image with a square of intensity ~1 on noise of standard deviation ~0.3, and its mask. */
export function squareSample(size: number, random: () => number): { image: Float32Array; mask: Float32Array } {
  const image = new Float32Array(size * size);
  const mask = new Float32Array(size * size);
  const side = 6 + Math.floor(random() * (size / 3));
  const top = Math.floor(random() * (size - side));
  const left = Math.floor(random() * (size - side));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = y >= top && y < top + side && x >= left && x < left + side;
      // The sum of three uniforms minus 1.5 has standard deviation 0.5; scaled to about 0.3.
      const noise = (random() + random() + random() - 1.5) * 0.6;
      image[y * size + x] = (inside ? 1 : 0) + noise;
      mask[y * size + x] = inside ? 1 : 0;
    }
  }
  return { image, mask };
}

/** Builds `count` batches of `batchSize` square samples of `size` x `size`. */
export function squareBatches(count: number, batchSize: number, size: number, seed: number): TrainBatch[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const images = new Float32Array(batchSize * size * size);
    const masks = new Float32Array(batchSize * size * size);
    for (let b = 0; b < batchSize; b++) {
      const { image, mask } = squareSample(size, random);
      images.set(image, b * size * size);
      masks.set(mask, b * size * size);
    }
    return { images, masks, shape: [batchSize, 1, size, size] };
  });
}
