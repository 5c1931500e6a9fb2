// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import { Random } from '../../../lib/data/random.js';

function draws(rng: Random, count: number): number[] {
  return Array.from({ length: count }, () => rng.nextUint32());
}

describe('Random', () => {
  it('repeats its stream for the same seed', () => {
    expect(draws(new Random(123), 50)).toEqual(draws(new Random(123), 50));
  });

  it('differs between nearby seeds', () => {
    expect(draws(new Random(1), 5)).not.toEqual(draws(new Random(2), 5));
  });

  it('uses the high bits of large seeds', () => {
    expect(draws(new Random(2 ** 40), 5)).not.toEqual(draws(new Random(0), 5));
  });

  it('draws floats in [0, 1) with a mean near 1/2', () => {
    const rng = new Random(9);
    const values = Array.from({ length: 20000 }, () => rng.next());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(0.5, 1);
  });

  it('draws every integer of a range about equally often', () => {
    const rng = new Random(4);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.int(6)]++;
    for (const count of counts) expect(Math.abs(count - 10000)).toBeLessThan(500);
  });

  it('draws normals with mean 0 and variance 1', () => {
    const rng = new Random(8);
    const values = Array.from({ length: 40000 }, () => rng.normal());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('shuffles into a permutation', () => {
    const shuffled = new Random(3).shuffle(Array.from({ length: 100 }, (_, i) => i));
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(shuffled).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('derives the same child for a key without advancing', () => {
    const parent = new Random(77);
    const first = draws(parent.derive(5), 10);
    const before = draws(new Random(77), 3);
    expect(draws(parent.derive(5), 10)).toEqual(first);
    expect(draws(parent, 3)).toEqual(before);
    expect(draws(parent.derive(6), 10)).not.toEqual(first);
  });

  it('forks a child that advances the parent', () => {
    const parent = new Random(10);
    const child = parent.fork();
    const reference = new Random(10);
    reference.fork();
    expect(draws(parent, 5)).toEqual(draws(reference, 5));
    expect(draws(child, 5)).not.toEqual(draws(new Random(10), 5));
  });

  it('records a random seed when none is given', () => {
    const rng = new Random();
    expect(Number.isSafeInteger(rng.seed)).toBe(true);
    expect(draws(new Random(rng.seed), 5)).toEqual(draws(rng, 5));
  });

  it('rejects: negative seed', () => {
    let caught: unknown;
    try {
      new Random(-1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/^seed must be an integer >= 0; got -1$/);
  });

  it('rejects: probability above 1', () => {
    const run = () => new Random(1).bernoulli(1.5);
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/^p must be in \[0, 1\]/);
  });
});
