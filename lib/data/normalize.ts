// SPDX-License-Identifier: MIT
//
// Per-volume intensity normalisation: clip to percentiles, then rescale to [0, 1] or z-score.

import { checkEach, checkNumber, checkOneOf, checkOptions, rangeError, typeError } from '../validate.js';

/** Rescaling that `normalizeIntensity` applies after clipping. */
export type NormalizeMode = 'minmax' | 'zscore';

/** Options of `normalizeIntensity`. */
export interface NormalizeOptions {
  /**
   * 'minmax' maps the clipped range to [0, 1], and 'zscore' subtracts the mean and divides by
   * the standard deviation (default 'minmax').
   */
  mode?: NormalizeMode;
  /** Lower clipping percentile in [0, 100] (default 0.5). 0 means the minimum, so no clipping. */
  lowerPercentile?: number;
  /** Upper clipping percentile in [0, 100] (default 99.5). 100 means the maximum. */
  upperPercentile?: number;
}

/** Arrays of intensities that normalisation accepts; bigint arrays are converted through Number. */
export type IntensityArray = ArrayLike<number> | BigInt64Array | BigUint64Array;

const HISTOGRAM_BINS = 4096;
const SORT_THRESHOLD = 256;

/**
 * Normalises the intensities of one volume (or image) into a new Float32Array.
 *
 * NaN and infinite voxels are read as 0. Values are clipped to the `lowerPercentile` and
 * `upperPercentile` percentiles (linear interpolation between order statistics, as numpy's
 * default), then rescaled by `mode`. A constant image, or one whose percentiles coincide,
 * becomes all zeros, so the output never contains NaN or Infinity. Percentiles are exact but
 * need no full sort: 8- and 16-bit integer arrays are counted per value, and other arrays are
 * narrowed down with histograms.
 *
 * @param data - Intensities in any order; the input is not modified.
 * @param options - `mode` (default 'minmax'), `lowerPercentile` (0.5), `upperPercentile` (99.5).
 * @returns Normalised values, same length as `data`.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `data` is not an array of numbers.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` for percentiles outside [0, 100] or lower > upper.
 * @example
 * const image = normalizeIntensity(readNifti('ch2.nii.gz').data, { mode: 'zscore' });
 * @see https://docs.monai.io/en/stable/transforms.html#scaleintensityrangepercentiles
 */
export function normalizeIntensity(data: IntensityArray, options?: NormalizeOptions): Float32Array {
  const opts = checkOptions<NormalizeOptions>('options', options);
  const mode =
    opts.mode === undefined ? 'minmax' : checkOneOf('options.mode', opts.mode, ['minmax', 'zscore'] as const);
  const lower =
    opts.lowerPercentile === undefined ? 0.5 : checkNumber('options.lowerPercentile', opts.lowerPercentile, 0, 100);
  const upper =
    opts.upperPercentile === undefined
      ? 99.5
      : checkNumber('options.upperPercentile', opts.upperPercentile, lower, 100);

  checkIntensityArray(data);
  if (data.length === 0) return new Float32Array(0);
  const histogram = integerHistogram(data);
  if (histogram !== null) {
    // 8- and 16-bit integers are exact in float32, so they are clipped and rescaled straight from `data`.
    const [low, high] = percentilesFromCounts(histogram, data.length, [lower, upper]).map(Math.fround) as [number, number];
    return clipAndRescale(data as ArrayLike<number>, new Float32Array(data.length), low, high, mode);
  }
  const { values, min, max } = finiteCopy(data);
  if (values.length === 0) return values;
  // Round the bounds to float32, the precision of the clipped values, so the bounds map exactly to 0 and 1.
  const [low, high] = percentilesOf(values, [lower, upper], min, max).map(Math.fround) as [number, number];
  return clipAndRescale(values, values, low, high, mode);
}

/**
 * Computes percentiles of `data` (each in [0, 100]) with linear interpolation between order statistics,
 * as `numpy.percentile` computes them by default. NaN and infinite values are read as 0.
 *
 * @example
 * percentiles(new Float32Array([1, 2, 3, 4]), [50]); // [2.5]
 */
export function percentiles(data: IntensityArray, ps: readonly number[]): number[] {
  if (!Array.isArray(ps)) throw typeError('ps', 'an array of percentiles', ps);
  checkEach(ps, (p, i) => checkNumber(`ps[${i}]`, p, 0, 100));
  checkIntensityArray(data);
  const histogram = integerHistogram(data);
  if (histogram !== null) return data.length === 0 ? ps.map(() => 0) : percentilesFromCounts(histogram, data.length, ps);
  const { values, min, max } = finiteCopy(data);
  if (values.length === 0) return ps.map(() => 0);
  return percentilesOf(values, ps, min, max);
}

/** Throws unless `data` is array-like with a valid length. */
function checkIntensityArray(data: unknown): asserts data is IntensityArray {
  if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
    throw typeError('data', 'an array of intensities', data);
  }
  const length = (data as ArrayLike<number>).length;
  if (!Number.isSafeInteger(length) || length < 0) throw rangeError('data.length', 'a non-negative integer', length);
}

/** Copies `data` into a Float32Array with non-finite values replaced by 0, and finds its minimum and maximum. */
function finiteCopy(data: IntensityArray): { values: Float32Array; min: number; max: number } {
  const isBig = data instanceof BigInt64Array || data instanceof BigUint64Array;
  if (ArrayBuffer.isView(data as object) && !isBig) {
    // The typed-array conversion rounds to float32 as Math.fround does.
    const values = data instanceof Float32Array ? data.slice() : new Float32Array(data as ArrayLike<number>);
    return { values, ...replaceNonFinite(values) };
  }
  const length = data.length;
  let values: Float32Array;
  try {
    values = new Float32Array(length);
  } catch {
    throw rangeError('data.length', 'a length that fits in a Float32Array', length);
  }
  for (let i = 0; i < values.length; i++) {
    const raw = isBig ? Number((data as BigInt64Array)[i]!) : (data as ArrayLike<number>)[i]!;
    // Storing a bigint or a symbol into a Float32Array throws, and storing an object calls its
    // valueOf or toString, which may throw too, so only numbers are accepted.
    if (typeof raw !== 'number') throw typeError(`data[${i}]`, 'a number', raw);
    values[i] = raw;
  }
  return { values, ...replaceNonFinite(values) };
}

/** Replaces NaN and infinite values by 0 in place, and returns the minimum and maximum after that. */
function replaceNonFinite(values: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    let value = values[i]!;
    // value - value is NaN for NaN and for both infinities, and 0 otherwise.
    if (value - value !== 0) {
      value = 0;
      values[i] = 0;
    }
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { min, max };
}

/** Counts of each value of an 8- or 16-bit integer typed array; `counts[v - offset]` counts v. */
interface IntegerHistogram {
  counts: Uint32Array;
  offset: number;
}

/** Counts the values of an 8- or 16-bit integer typed array in one pass; returns null for other arrays. */
function integerHistogram(data: IntensityArray): IntegerHistogram | null {
  let offset: number;
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray || data instanceof Uint16Array) offset = 0;
  else if (data instanceof Int8Array) offset = -128;
  else if (data instanceof Int16Array) offset = -32768;
  else return null;
  const counts = new Uint32Array(data.BYTES_PER_ELEMENT === 1 ? 256 : 65536);
  for (let i = 0; i < data.length; i++) counts[data[i]! - offset]!++;
  return { counts, offset };
}

/** Computes percentiles, as {@link percentilesOf} does, from the counts of a non-empty integer array. */
function percentilesFromCounts(histogram: IntegerHistogram, n: number, ps: readonly number[]): number[] {
  return interpolatePercentiles(n, ps, (ranks) => {
    const { counts, offset } = histogram;
    const results = new Map<number, number>();
    for (const rank of ranks) {
      let value = 0;
      let below = counts[0]!;
      while (below <= rank) below += counts[++value]!;
      results.set(rank, value + offset);
    }
    return results;
  });
}

function percentilesOf(values: Float32Array, ps: readonly number[], min: number, max: number): number[] {
  return interpolatePercentiles(values.length, ps, (ranks) => orderStatistics(values, ranks, min, max));
}

/**
 * Interpolates linearly between the order statistics around each percentile position of `n`
 * values; `orderStatisticsOf` returns the value of each rank it is given (0 = smallest).
 */
function interpolatePercentiles(
  n: number,
  ps: readonly number[],
  orderStatisticsOf: (ranks: number[]) => Map<number, number>,
): number[] {
  const positions = ps.map((p) => (p / 100) * (n - 1));
  const ranks = new Set<number>();
  for (const position of positions) {
    ranks.add(Math.floor(position));
    if (Math.floor(position) < n - 1) ranks.add(Math.floor(position) + 1);
  }
  const stats = orderStatisticsOf([...ranks]);
  return positions.map((position) => {
    const below = Math.floor(position);
    const fraction = position - below;
    const low = stats.get(below)!;
    return fraction > 0 ? low + fraction * (stats.get(below + 1)! - low) : low;
  });
}

/** Finds the values of rank `ranks[i]` (0 = smallest) of `values`, from one histogram of the whole array. */
function orderStatistics(
  values: Float32Array,
  ranks: readonly number[],
  min: number,
  max: number,
): Map<number, number> {
  const results = new Map<number, number>();
  if (min === max) {
    for (const rank of ranks) results.set(rank, min);
    return results;
  }
  const scale = HISTOGRAM_BINS / (max - min);
  const bins = new Uint16Array(values.length);
  const counts = new Uint32Array(HISTOGRAM_BINS);
  for (let i = 0; i < values.length; i++) {
    // (value - min) * scale lies in [0, HISTOGRAM_BINS], so truncation is Math.floor.
    const bin = Math.min(HISTOGRAM_BINS - 1, ((values[i]! - min) * scale) | 0);
    bins[i] = bin;
    counts[bin]!++;
  }

  // Find each rank's bin and its rank within that bin.
  const cumulative = new Float64Array(HISTOGRAM_BINS + 1);
  for (let bin = 0; bin < HISTOGRAM_BINS; bin++) cumulative[bin + 1] = cumulative[bin]! + counts[bin]!;
  const located = ranks.map((rank) => {
    let bin = 0;
    while (cumulative[bin + 1]! <= rank) bin++;
    return { rank, bin, rankInBin: rank - cumulative[bin]! };
  });

  // Gather the members of the bins needed, in one more pass.
  const slotOfBin = new Int32Array(HISTOGRAM_BINS).fill(-1);
  const gathered: Float32Array[] = [];
  for (const { bin } of located) {
    if (slotOfBin[bin] === -1) {
      slotOfBin[bin] = gathered.length;
      gathered.push(new Float32Array(counts[bin]!));
    }
  }
  const sizes = new Int32Array(gathered.length);
  for (let i = 0; i < values.length; i++) {
    const slot = slotOfBin[bins[i]!]!;
    if (slot >= 0) gathered[slot]![sizes[slot]!++] = values[i]!;
  }
  for (const { rank, bin, rankInBin } of located) results.set(rank, kthSmallest(gathered[slotOfBin[bin]!]!, rankInBin));
  return results;
}

/** Finds the k-th smallest value (0-based) by repeated histogram narrowing, sorting once few values remain. */
function kthSmallest(input: Float32Array, k: number): number {
  let values = input;
  for (;;) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < values.length; i++) {
      if (values[i]! < min) min = values[i]!;
      if (values[i]! > max) max = values[i]!;
    }
    if (min === max) return min;
    if (values.length <= SORT_THRESHOLD) return Float32Array.from(values).sort()[k]!;

    const scale = HISTOGRAM_BINS / (max - min);
    const binOf = (value: number): number => Math.min(HISTOGRAM_BINS - 1, Math.floor((value - min) * scale));
    const counts = new Uint32Array(HISTOGRAM_BINS);
    for (let i = 0; i < values.length; i++) counts[binOf(values[i]!)]!++;
    let bin = 0;
    while (k >= counts[bin]!) k -= counts[bin++]!;
    if (counts[bin] === values.length) return Float32Array.from(values).sort()[k]!; // Rounding stopped progress.

    const next = new Float32Array(counts[bin]!);
    let size = 0;
    for (let i = 0; i < values.length; i++) if (binOf(values[i]!) === bin) next[size++] = values[i]!;
    values = next;
  }
}

/**
 * Clips each value of `source` to [low, high] and rescales it by `mode` into `out`, which may be
 * `source` itself, and returns `out`.
 */
function clipAndRescale(source: ArrayLike<number>, out: Float32Array, low: number, high: number, mode: NormalizeMode): Float32Array {
  if (mode === 'zscore') {
    let sum = 0;
    for (let i = 0; i < out.length; i++) {
      let clipped = source[i]!;
      if (clipped < low) clipped = low;
      else if (clipped > high) clipped = high;
      out[i] = clipped;
      sum += clipped;
    }
    return rescaleZScore(out, sum);
  }
  const range = high - low;
  if (!(range > 0)) return out.fill(0);
  for (let i = 0; i < out.length; i++) {
    let clipped = source[i]!;
    if (clipped < low) clipped = low;
    else if (clipped > high) clipped = high;
    out[i] = (clipped - low) / range;
  }
  return out;
}

/** Subtracts the mean and divides by the standard deviation in place; `sum` is the sum of `values`. */
function rescaleZScore(values: Float32Array, sum: number): Float32Array {
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i]! - mean) ** 2;
  const std = Math.sqrt(squares / values.length);
  // A spread below float32 resolution of the mean is rounding noise of a constant image.
  if (!(std > 1e-7 * Math.max(1, Math.abs(mean)))) return values.fill(0);
  for (let i = 0; i < values.length; i++) values[i] = (values[i]! - mean) / std;
  return values;
}
