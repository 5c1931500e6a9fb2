// SPDX-License-Identifier: MIT
//
// Train/validation splits of slice indices that hold out whole blocks of neighbouring slices,
// because adjacent slices of a volume are nearly identical and would leak between the sets.

import { checkInt, rangeError } from '../validate.js';
import { Random } from './random.js';

/** Slice indices for training and validation, each sorted ascending. */
export interface SliceSplit {
  train: number[];
  validation: number[];
}

/**
 * Splits the slice indices 0..count-1 into training and validation sets, where validation is
 * `nBlocks` blocks of `blockSize` contiguous slices at random, non-overlapping positions.
 *
 * Blocks may touch, forming one longer run. With `gap` > 0, the `gap` slices on each side of
 * every validation block are left out of both sets, so no training slice borders a validation
 * slice.
 *
 * @param count - Number of slices, e.g. `sliceCount(dims, axis)`.
 * @param nBlocks - Number of validation blocks (0 gives an empty validation set).
 * @param blockSize - Slices per block (at least 1).
 * @param seed - Seed of the block positions; the same seed gives the same split.
 * @param gap - Slices dropped on each side of each block (default 0).
 * @returns Disjoint, sorted `train` and `validation` index lists.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when the blocks do not fit in `count` slices.
 * @example
 * const { train, validation } = heldOutBlocks(181, 3, 10, 42);
 * const trainSet = new MedicalImageDataset([{ image, mask, slices: train }]);
 */
export function heldOutBlocks(count: number, nBlocks: number, blockSize: number, seed: number, gap = 0): SliceSplit {
  checkInt('count', count, 0);
  checkInt('nBlocks', nBlocks, 0);
  checkInt('blockSize', blockSize, 1);
  checkInt('gap', gap, 0);
  const free = count - nBlocks * blockSize;
  if (free < 0) {
    throw rangeError(
      'nBlocks',
      `at most count / blockSize = ${Math.floor(count / blockSize)} blocks of ${blockSize}`,
      nBlocks,
    );
  }
  const rng = new Random(seed);

  // Choose nBlocks distinct slots among free + nBlocks; slot s_j places block j at s_j + j * (blockSize - 1).
  // Every arrangement of non-overlapping blocks corresponds to exactly one such choice.
  const slots = Array.from({ length: free + nBlocks }, (_, i) => i);
  for (let i = 0; i < nBlocks; i++) {
    const j = i + rng.int(slots.length - i);
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  const starts = slots
    .slice(0, nBlocks)
    .sort((a, b) => a - b)
    .map((slot, block) => slot + block * (blockSize - 1));

  const role = new Uint8Array(count); // 0 train, 1 validation, 2 excluded
  for (const start of starts) {
    for (let i = Math.max(0, start - gap); i < Math.min(count, start + blockSize + gap); i++) {
      if (role[i] === 0) role[i] = 2;
    }
  }
  for (const start of starts) role.fill(1, start, start + blockSize);
  const train: number[] = [];
  const validation: number[] = [];
  role.forEach((value, index) => {
    if (value === 0) train.push(index);
    else if (value === 1) validation.push(index);
  });
  return { train, validation };
}
