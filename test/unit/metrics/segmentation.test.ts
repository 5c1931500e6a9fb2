// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { dice, jaccardIndex, SegmentationMetric } from '../../../lib/metrics/index.js';
import { tensor } from '../../../lib/tensor.js';

describe('dice and jaccardIndex', () => {
  // Each row: prediction labels, target labels, expected Dice, expected Jaccard (foreground).
  const binary: Array<[string, number[], number[], number, number]> = [
    ['identical masks', [0, 1, 1, 0], [0, 1, 1, 0], 1, 1],
    ['disjoint masks', [1, 1, 0, 0], [0, 0, 1, 1], 0, 0],
    ['half overlap', [1, 1, 0, 0], [0, 1, 1, 0], 0.5, 1 / 3],
    ['empty prediction and empty target', [0, 0, 0, 0], [0, 0, 0, 0], 1, 1],
    ['empty prediction, full target', [0, 0, 0, 0], [1, 1, 1, 1], 0, 0],
    ['one of three found', [1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0], 0.5, 1 / 3],
  ];

  it.each(binary)('scores %s from Uint8Array labels', (_name, prediction, target, expectedDice, expectedJaccard) => {
    expect(dice(Uint8Array.from(prediction), Uint8Array.from(target))).toBeCloseTo(expectedDice, 10);
    expect(jaccardIndex(Uint8Array.from(prediction), Uint8Array.from(target))).toBeCloseTo(expectedJaccard, 10);
  });

  it('thresholds one-channel probabilities at 0.5', () => {
    const probabilities = tensor([0.9, 0.51, 0.5, 0.1], [1, 1, 2, 2]);
    const target = tensor([1, 1, 1, 0], [1, 1, 2, 2]);
    // Predicted {0, 1} against {0, 1, 2}: 2 * 2 / (2 + 3).
    expect(dice(probabilities, target)).toBeCloseTo(0.8, 10);
    expect(dice(new Float32Array([0.9, 0.51, 0.5, 0.1]), new Float32Array([1, 1, 1, 0]))).toBeCloseTo(0.8, 10);
    expect(dice(probabilities, target, { threshold: 0.2 })).toBeCloseTo(1, 10);
  });

  it('takes the argmax of multi-class scores and averages the foreground classes', () => {
    // Pixels: argmax -> 0, 1, 2, 2; target -> 0, 1, 1, 2.
    const scores = tensor([5, 0, 0, 0, 0, 9, 0, 0, 0, 0, 9, 9], [1, 3, 2, 2]);
    const target = tensor([0, 1, 1, 2], [1, 1, 2, 2]);
    // class 1: pred {1}, target {1, 2} -> 2/3; class 2: pred {2, 3}, target {3} -> 2/3.
    expect(dice(scores, target)).toBeCloseTo(2 / 3, 10);
    // Jaccard: class 1 -> 1/2, class 2 -> 1/2.
    expect(jaccardIndex(scores, target)).toBeCloseTo(0.5, 10);
    // With background: class 0 pred {0}, target {0} -> 1.
    expect(dice(scores, target, { includeBackground: true })).toBeCloseTo((1 + 2 / 3 + 2 / 3) / 3, 10);
  });

  it('rejects: inputs with different voxel counts, naming both sizes', () => {
    const call = (): unknown => dice(new Uint8Array(4), new Uint8Array(5));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^target must be labels for as many voxels as `prediction` has per channel \(4\); got "a Uint8Array of 5 elements"/) }));
  });

  it('rejects: labels outside the class range', () => {
    const call = (): unknown => dice(Uint8Array.from([0, 3]), Uint8Array.from([0, 1]));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^prediction must be labels in \[0, 1\]/) }));
  });

  it('rejects: a prediction that is neither tensor nor typed array', () => {
    const call = (): unknown => dice([0, 1] as unknown as Uint8Array, Uint8Array.from([0, 1]));
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^prediction must be/) }));
  });

  it('rejects: a channel count that differs from numClasses', () => {
    const call = (): unknown => dice(tensor(new Float32Array(8), [1, 2, 2, 2]), new Uint8Array(4), { numClasses: 3 });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^prediction must be/) }));
  });
});

describe('SegmentationMetric', () => {
  it('accumulates counts over batches instead of averaging batch scores', () => {
    const metric = new SegmentationMetric();
    // Batch 1: perfect on 1 voxel. Batch 2: 1 of 3 voxels found.
    metric.update(Uint8Array.from([1, 0]), Uint8Array.from([1, 0]));
    metric.update(Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([1, 1, 1, 0]));
    const { dice: total, jaccard, perClass } = metric.compute();
    // Over all voxels: prediction {a, b}, target {a, b, c, d} -> 2 * 2 / (2 + 4).
    expect(total).toBeCloseTo(2 / 3, 10);
    expect(jaccard).toBeCloseTo(0.5, 10);
    expect(perClass[1]).toMatchObject({ label: 1, predicted: 2, actual: 4, intersection: 2 });
    // The mean of the two batch scores would be (1 + 0.5) / 2 = 0.75.
    expect(total).not.toBeCloseTo(0.75, 3);
  });

  it('equals the score of all batches joined', () => {
    const predictions = [Uint8Array.from([1, 1, 0, 0, 1]), Uint8Array.from([0, 1, 1]), Uint8Array.from([0, 0])];
    const targets = [Uint8Array.from([1, 0, 0, 1, 1]), Uint8Array.from([1, 1, 1]), Uint8Array.from([0, 1])];
    const metric = new SegmentationMetric();
    predictions.forEach((p, i) => metric.update(p, targets[i]!));
    const joined = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
    expect(metric.compute().dice).toBeCloseTo(dice(joined(predictions), joined(targets)), 12);
    expect(metric.compute().jaccard).toBeCloseTo(jaccardIndex(joined(predictions), joined(targets)), 12);
  });

  it('starts over after reset', () => {
    const metric = new SegmentationMetric();
    metric.update(Uint8Array.from([1, 1]), Uint8Array.from([0, 0]));
    metric.reset();
    metric.update(Uint8Array.from([1, 0]), Uint8Array.from([1, 0]));
    expect(metric.compute().dice).toBe(1);
  });

  it('fails: compute before any update', () => {
    expect(() => new SegmentationMetric().compute()).toThrow(/needs at least one update/);
  });

  it.each([
    ['numClasses', { numClasses: 0 }, RangeError, /^options\.numClasses must be/],
    ['threshold', { threshold: 'half' as unknown as number }, TypeError, /^options\.threshold must be/],
    ['includeBackground', { includeBackground: 1 as unknown as boolean }, TypeError, /^options\.includeBackground must be/],
  ] as const)('rejects: a bad %s', (_name, options, errorClass, message) => {
    const call = (): unknown => new SegmentationMetric(options);
    expect(call).toThrow(errorClass);
    const code = errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE';
    expect(call).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });
});
