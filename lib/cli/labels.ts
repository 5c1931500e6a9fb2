// SPDX-License-Identifier: MIT
//
// Checks of mask volumes against the number of classes, so that a bad label fails before
// training with the file and the value named, instead of deep inside a loss function.

import { UsageError } from './options.js';

/** Summary of a mask's values. */
export interface LabelSummary {
  min: number;
  max: number;
  /** A value that is not an integer, if any. */
  fraction: number | null;
}

/** Returns the smallest and largest value of a mask and its first non-integer value, if any. */
export function summarizeLabels(data: ArrayLike<number | bigint>): LabelSummary {
  let min = Infinity;
  let max = -Infinity;
  let fraction: number | null = null;
  for (let i = 0; i < data.length; i++) {
    const value = Number(data[i]);
    if (value < min) min = value;
    if (value > max) max = value;
    if (fraction === null && !Number.isInteger(value)) fraction = value;
  }
  return { min, max, fraction };
}

/**
 * Checks that every voxel of the mask `data`, read from `path`, is a class label for
 * `numClasses` classes.
 * One class: voxels > 0 are foreground, so any values work, but negative or non-finite ones
 * are rejected because they are most likely a mistake. Several classes: integers in
 * [0, numClasses - 1].
 */
export function checkMaskLabels(path: string, data: ArrayLike<number | bigint>, numClasses: number, option = 'classes'): void {
  const { min, max, fraction } = summarizeLabels(data);
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new UsageError(`${path}: the mask contains NaN or infinite values`);
  if (numClasses === 1) {
    if (min < 0) throw new UsageError(`${path}: the mask has negative values (min ${min}); voxels > 0 are foreground, so give a mask of 0 and positive values`);
    return;
  }
  if (fraction !== null) throw new UsageError(`${path}: with --${option} ${numClasses} the mask must contain integer class labels; found ${fraction}`);
  if (min < 0 || max > numClasses - 1) {
    throw new UsageError(`${path}: with --${option} ${numClasses} the labels must be in [0, ${numClasses - 1}]; found values from ${min} to ${max}`);
  }
}

/**
 * Counts the NaN and infinite voxels of an image. None: returns quietly. Some: writes a warning
 * to standard error, because normalisation treats them as 0. All: throws, because nothing is
 * left to learn from or segment.
 */
export function checkImageValues(path: string, data: ArrayLike<number | bigint>): void {
  let nonFinite = 0;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (typeof value === 'number' && !Number.isFinite(value)) nonFinite++;
  }
  if (nonFinite === 0) return;
  if (nonFinite === data.length) throw new UsageError(`${path}: every voxel is NaN or infinite`);
  process.stderr.write(`medunet: warning: ${path} has ${nonFinite} NaN or infinite voxels of ${data.length}; they are treated as 0\n`);
}
