// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import { normalizeIntensity, percentiles } from '../../../lib/data/normalize.js';
import { Random } from '../../../lib/data/random.js';

/** numpy's default percentile: linear interpolation between the order statistics around p/100 * (n - 1). */
function referencePercentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const position = (p / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

function expectAllFinite(values: Float32Array): void {
  expect(values.every(Number.isFinite)).toBe(true);
}

describe('percentiles', () => {
  it('matches a sorted reference on random data', () => {
    const rng = new Random(5);
    // Many repeated zeros (a background) plus spread values, to exercise the histogram narrowing.
    const values = Float32Array.from({ length: 20000 }, (_, i) => (i % 3 === 0 ? 0 : rng.normal() * 100 + 50));
    for (const p of [0, 0.5, 1, 25, 50, 99.5, 100]) {
      expect(percentiles(values, [p])[0]).toBeCloseTo(referencePercentile(values, p), 3);
    }
  });

  it('counts 8- and 16-bit integers exactly', () => {
    const rng = new Random(7);
    const arrays = [
      Uint8Array.from({ length: 5001 }, () => Math.floor(rng.uniform(0, 256))),
      Uint8ClampedArray.from({ length: 5001 }, () => Math.floor(rng.uniform(0, 256))),
      Int8Array.from({ length: 5001 }, () => Math.floor(rng.uniform(-128, 128))),
      Uint16Array.from({ length: 5001 }, () => Math.floor(rng.uniform(0, 65536))),
      Int16Array.from({ length: 5001 }, () => Math.floor(rng.uniform(-32768, 32768))),
    ];
    for (const values of arrays) {
      const ps = [0, 0.5, 33.3, 50, 99.5, 100];
      const expected = ps.map((p) => referencePercentile(values, p));
      const found = percentiles(values, ps);
      ps.forEach((p, i) => expect(found[i], `${values.constructor.name} p${p}`).toBeCloseTo(expected[i]!, 9));
    }
  });

  it('interpolates between order statistics', () => {
    expect(percentiles(Float32Array.from([4, 1, 3, 2]), [50, 0, 100])).toEqual([2.5, 1, 4]);
  });

  it('finds close values in one crowded histogram bin', () => {
    // Outliers stretch the range, so every other value falls in the same first-level bin.
    const values = Float32Array.from([1e9, -1e9, ...Array.from({ length: 1000 }, (_, i) => 1 + i * 1e-4)]);
    expect(percentiles(values, [50])[0]).toBeCloseTo(referencePercentile(values, 50), 6);
  });

  it('rejects: percentile above 100', () => {
    let caught: unknown;
    try {
      percentiles(new Float32Array(4), [101]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/ps\[0\] must be in \[0, 100\]/);
  });
});

describe('normalizeIntensity', () => {
  it('returns zeros for a constant volume', () => {
    for (const mode of ['minmax', 'zscore'] as const) {
      const out = normalizeIntensity(new Int16Array(1000).fill(713), { mode });
      expect(out.every((value) => value === 0)).toBe(true);
    }
  });

  it('clips outliers before min-max scaling', () => {
    // 1000 values 0..999 and two extreme outliers.
    const values = Float32Array.from([...Array.from({ length: 1000 }, (_, i) => i), 1e6, -1e6]);
    const out = normalizeIntensity(values);
    const low = referencePercentile(values, 0.5);
    const high = referencePercentile(values, 99.5);
    expect(Math.min(...out)).toBe(0);
    expect(Math.max(...out)).toBe(1);
    expect(out[1000]).toBe(1); // The high outlier is clipped to the top.
    expect(out[1001]).toBe(0);
    expect(out[500]).toBeCloseTo((500 - low) / (high - low), 5);
  });

  it('z-scores the clipped values', () => {
    const rng = new Random(11);
    const values = Float32Array.from({ length: 5000 }, () => rng.normal() * 20 + 300);
    values[0] = 1e7;
    const out = normalizeIntensity(values, { mode: 'zscore' });
    const mean = out.reduce((sum, v) => sum + v, 0) / out.length;
    const variance = out.reduce((sum, v) => sum + (v - mean) ** 2, 0) / out.length;
    expect(mean).toBeCloseTo(0, 5);
    expect(variance).toBeCloseTo(1, 4);
    expect(out[0]).toBeLessThan(4); // Clipped, not a huge z-score.
  });

  it('treats NaN and infinite voxels as 0', () => {
    const values = Float32Array.from([Number.NaN, Infinity, -Infinity, 10, 20, 30, 40]);
    const out = normalizeIntensity(values, { lowerPercentile: 0, upperPercentile: 100 });
    expectAllFinite(out);
    expect([...out]).toEqual([0, 0, 0, 0.25, 0.5, 0.75, 1]);
  });

  it('never returns NaN for a nearly constant volume', () => {
    const values = new Float32Array(100).fill(5);
    values[3] = Number.NaN;
    for (const mode of ['minmax', 'zscore'] as const) expectAllFinite(normalizeIntensity(values, { mode }));
  });

  it('accepts bigint voxel arrays', () => {
    const out = normalizeIntensity(BigInt64Array.from([0n, 5n, 10n]), { lowerPercentile: 0, upperPercentile: 100 });
    expect([...out]).toEqual([0, 0.5, 1]);
  });

  it('gives integer arrays the result of their float32 copy', () => {
    const rng = new Random(11);
    // A background of zeros plus spread values, as in a skull-stripped scan.
    const values = Int16Array.from({ length: 30000 }, (_, i) => (i % 4 === 0 ? 0 : Math.round(rng.normal() * 300 + 200)));
    for (const mode of ['minmax', 'zscore'] as const) {
      const fromIntegers = normalizeIntensity(values, { mode });
      const fromFloats = normalizeIntensity(Float32Array.from(values), { mode });
      expect(fromIntegers, mode).toEqual(fromFloats);
    }
  });

  it('returns an empty array for empty integer data', () => {
    expect(normalizeIntensity(new Uint8Array(0))).toEqual(new Float32Array(0));
  });

  it('leaves the input unchanged', () => {
    const values = Float32Array.from([3, 1, 2]);
    normalizeIntensity(values);
    expect([...values]).toEqual([3, 1, 2]);
  });

  it('rejects: unknown mode', () => {
    let caught: unknown;
    try {
      normalizeIntensity(new Float32Array(3), { mode: 'robust' as 'minmax' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/options\.mode must be one of 'minmax', 'zscore'/);
  });

  it('rejects: lower percentile above the upper one', () => {
    const run = () => normalizeIntensity(new Float32Array(3), { lowerPercentile: 60, upperPercentile: 40 });
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/options\.upperPercentile must be in \[60, 100\]/);
  });

  it('rejects: data that is not an array', () => {
    let caught: unknown;
    try {
      normalizeIntensity(42 as unknown as Float32Array);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.INVALID_ARG_TYPE);
    expect((caught as Error).message).toMatch(/^data must be an array of intensities/);
  });
});
