// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import { heldOutBlocks } from '../../../lib/data/split.js';

/** Maximal runs of consecutive indices, as [start, length]. */
function runs(indices: number[]): [number, number][] {
  const result: [number, number][] = [];
  for (const index of indices) {
    const last = result[result.length - 1];
    if (last && last[0] + last[1] === index) last[1]++;
    else result.push([index, 1]);
  }
  return result;
}

describe('heldOutBlocks', () => {
  it('holds out contiguous blocks disjoint from training', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { train, validation } = heldOutBlocks(100, 3, 7, seed);
      expect(validation).toHaveLength(21);
      // Touching blocks merge into longer runs, so each run is a whole number of blocks.
      for (const [, length] of runs(validation)) expect(length % 7).toBe(0);
      expect(train.filter((index) => validation.includes(index))).toEqual([]);
      expect([...train, ...validation].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    }
  });

  it('repeats the split for the same seed', () => {
    expect(heldOutBlocks(60, 2, 5, 9)).toEqual(heldOutBlocks(60, 2, 5, 9));
    const splits = new Set(Array.from({ length: 10 }, (_, seed) => heldOutBlocks(60, 2, 5, seed).validation.join(',')));
    expect(splits.size).toBeGreaterThan(1);
  });

  it('places blocks anywhere, including both ends', () => {
    const starts = new Set<number>();
    for (let seed = 0; seed < 400; seed++) starts.add(heldOutBlocks(12, 1, 4, seed).validation[0]!);
    expect([...starts].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('leaves a gap of excluded slices around each block', () => {
    const { train, validation } = heldOutBlocks(80, 2, 6, 3, 2);
    for (const index of train) {
      const nearest = Math.min(...validation.map((v) => Math.abs(v - index)));
      expect(nearest).toBeGreaterThan(2);
    }
    expect(validation).toHaveLength(12);
  });

  it('fills the whole range when the blocks cover it', () => {
    expect(heldOutBlocks(10, 2, 5, 1)).toEqual({ train: [], validation: Array.from({ length: 10 }, (_, i) => i) });
  });

  it('rejects: blocks that do not fit', () => {
    let caught: unknown;
    try {
      heldOutBlocks(10, 3, 4, 0);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/^nBlocks must be at most count \/ blockSize = 2 blocks of 4; got 3/);
  });

  it('rejects: block size 0', () => {
    const run = () => heldOutBlocks(10, 1, 0, 0);
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/^blockSize must be an integer >= 1; got 0$/);
  });
});
