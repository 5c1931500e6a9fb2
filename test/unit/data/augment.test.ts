// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import { RandomAugment, type AugmentParams } from '../../../lib/data/augment.js';
import { Random } from '../../../lib/data/random.js';

const H = 40;
const W = 48;

/** Builds an image and mask with one filled square: rows [top, top + side), columns [left, left + side). */
function square(top: number, left: number, side: number, value = 1): { image: Float32Array; mask: Float32Array } {
  const image = new Float32Array(H * W);
  const mask = new Float32Array(H * W);
  for (let r = top; r < top + side; r++) {
    for (let c = left; c < left + side; c++) {
      image[r * W + c] = value;
      mask[r * W + c] = 1;
    }
  }
  return { image, mask };
}

/** Intensity-weighted centroid as [row, column]. */
function centroid(values: Float32Array): [number, number] {
  let total = 0;
  let rows = 0;
  let cols = 0;
  values.forEach((v, i) => {
    total += v;
    rows += v * Math.floor(i / W);
    cols += v * (i % W);
  });
  return [rows / total, cols / total];
}

const IDENTITY: AugmentParams = {
  angle: 0,
  scale: 1,
  translateX: 0,
  translateY: 0,
  flipHorizontal: false,
  flipVertical: false,
  contrast: 1,
  brightness: 0,
  gamma: 1,
};

const SPATIAL_ONLY = { brightness: 0, contrast: 0 };

describe('RandomAugment', () => {
  it('gives the same output for the same seed', () => {
    const augment = new RandomAugment({ rotation: 30, gamma: [0.7, 1.5], verticalFlip: 0.5 });
    const { image, mask } = square(5, 9, 14, 0.8);
    const first = augment.apply(image, mask, H, W, 1, new Random(21));
    const second = augment.apply(image, mask, H, W, 1, new Random(21));
    expect(second.image).toEqual(first.image);
    expect(second.mask).toEqual(first.mask);
    const other = augment.apply(image, mask, H, W, 1, new Random(22));
    expect(other.image).not.toEqual(first.image);
  });

  it('leaves a sample unchanged under identity parameters', () => {
    const { image, mask } = square(5, 9, 14, 0.8);
    const out = new RandomAugment().applyParams(image, mask, H, W, 1, IDENTITY);
    expect(out.image).toEqual(image);
    expect(out.mask).toEqual(mask);
  });

  it('shifts image and mask by the same whole pixels', () => {
    const { image, mask } = square(10, 10, 8);
    const out = new RandomAugment().applyParams(image, mask, H, W, 1, { ...IDENTITY, translateX: 5, translateY: -3 });
    expect(out.image).toEqual(square(7, 15, 8).image);
    expect(out.mask).toEqual(square(7, 15, 8).mask);
  });

  it('moves the centroids of image and mask together', () => {
    const augment = new RandomAugment({ rotation: 40, scale: [0.8, 1.2], translation: 0.15, ...SPATIAL_ONLY });
    const { image, mask } = square(6, 8, 10);
    for (let seed = 0; seed < 10; seed++) {
      const out = augment.apply(image, mask, H, W, 1, new Random(seed));
      const [imageRow, imageCol] = centroid(out.image);
      const [maskRow, maskCol] = centroid(out.mask!);
      expect(Math.abs(imageRow - maskRow)).toBeLessThan(0.5);
      expect(Math.abs(imageCol - maskCol)).toBeLessThan(0.5);
    }
  });

  it('mirrors columns for a horizontal flip', () => {
    const { image, mask } = square(0, 0, 4);
    const out = new RandomAugment().applyParams(image, mask, H, W, 1, { ...IDENTITY, flipHorizontal: true });
    expect(out.mask).toEqual(square(0, W - 4, 4).mask);
  });

  it('rotates a quarter turn counter-clockwise', () => {
    // With row 0 drawn at the top, a bar along the top row turns into a bar along the left column.
    const size = 9;
    const bar = new Float32Array(size * size);
    bar.fill(1, 0, size);
    const out = new RandomAugment().applyParams(bar, bar, size, size, 1, { ...IDENTITY, angle: 90 });
    const firstColumn = Array.from({ length: size }, (_, r) => out.mask![r * size]);
    const lastColumn = Array.from({ length: size }, (_, r) => out.mask![r * size + size - 1]);
    expect(firstColumn).toEqual(new Array(size).fill(1));
    expect(lastColumn).toEqual(new Array(size).fill(0));
  });

  it('keeps the mask binary', () => {
    const augment = new RandomAugment({ rotation: 25, scale: [0.7, 1.3], translation: 0.2 });
    const { image, mask } = square(4, 4, 20);
    for (let seed = 0; seed < 5; seed++) {
      const out = augment.apply(image, mask, H, W, 1, new Random(seed));
      expect(new Set(out.mask).size).toBeLessThanOrEqual(2);
      expect([...new Set(out.mask)].every((v) => v === 0 || v === 1)).toBe(true);
    }
  });

  it('keeps label values under nearest-neighbour sampling', () => {
    const labels = new Float32Array(H * W);
    for (let i = 0; i < labels.length; i += 5) labels[i] = 2;
    for (let i = 0; i < labels.length; i += 7) labels[i] = 3;
    const out = new RandomAugment({ rotation: 33 }).apply(new Float32Array(H * W), labels, H, W, 1, new Random(1));
    expect([...new Set(out.mask)].every((v) => v === 0 || v === 2 || v === 3)).toBe(true);
  });

  it('fills samples from outside the input with 0', () => {
    const image = new Float32Array(H * W).fill(1);
    const out = new RandomAugment().applyParams(image, null, H, W, 1, { ...IDENTITY, translateX: 10 });
    expect(out.image.subarray(0, 10).every((v) => v === 0)).toBe(true);
    expect(out.image[W - 1]).toBe(1);
    expect(out.mask).toBeNull();
  });

  it('changes intensities of the image only', () => {
    const { image, mask } = square(10, 10, 8, 0.5);
    const params = { ...IDENTITY, brightness: 0.2, contrast: 1.5, gamma: 2 };
    const out = new RandomAugment().applyParams(image, mask, H, W, 1, params);
    expect(out.mask).toEqual(mask);
    expect(out.image).not.toEqual(image);
    // Gamma on [0, 0.5] keeps the two levels; contrast and brightness are affine in the value.
    const mean = (0.5 * 64) / (H * W);
    expect(out.image[0]).toBeCloseTo((0 - mean) * 1.5 + mean + 0.2, 5);
    expect(out.image[10 * W + 10]).toBeCloseTo((0.5 - mean) * 1.5 + mean + 0.2, 5);
  });

  it('applies one transform to every channel', () => {
    const { image } = square(10, 10, 8);
    const twoChannels = new Float32Array(2 * H * W);
    twoChannels.set(image, 0);
    twoChannels.set(image, H * W);
    const out = new RandomAugment({ rotation: 20, ...SPATIAL_ONLY }).apply(twoChannels, null, H, W, 2, new Random(4));
    expect(out.image.subarray(0, H * W)).toEqual(out.image.subarray(H * W));
  });

  it('rejects: flip probability above 1', () => {
    let caught: unknown;
    try {
      new RandomAugment({ horizontalFlip: 2 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/^options\.horizontalFlip must be in \[0, 1\]/);
  });

  it('rejects: scale range with low above high', () => {
    const run = () => new RandomAugment({ scale: [1.2, 0.8] });
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/^options\.scale must be a range with low <= high/);
  });

  it('rejects: image of the wrong length', () => {
    let caught: unknown;
    try {
      new RandomAugment().apply(new Float32Array(10), null, H, W, 1, new Random(0));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/^image must be an array of 1 x 40 x 48 values/);
  });

  it('rejects: rng that is not a Random', () => {
    const run = () =>
      new RandomAugment().apply(new Float32Array(H * W), null, H, W, 1, Math.random as unknown as Random);
    expect(run).toThrow(TypeError);
    expect(run).toThrow(/^rng must be a Random/);
  });
});
