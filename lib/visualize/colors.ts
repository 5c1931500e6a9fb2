// SPDX-License-Identifier: MIT
//
// Colours and intensity windowing for rendered slices: the default palette, validation of
// user-supplied colours, and the percentile window that maps scan intensities to grey levels.

import { rangeError, typeError } from '../validate.js';

/** An 8-bit sRGB colour as `[red, green, blue]`, each an integer in [0, 255]. */
export type Rgb = readonly [number, number, number];

/** Default colours of rendered pictures. */
export const Palette = {
  /** Canvas behind the panels. */
  background: [24, 24, 27],
  /** Title and footer text. */
  text: [235, 235, 235],
  /** Default overlay for a predicted mask. */
  prediction: [255, 48, 48],
  /** Suggested overlay for a ground-truth mask, distinct from `prediction` for red-green colour blindness. */
  groundTruth: [0, 200, 255],
  /** Foreground of a mask drawn as a binary image. */
  maskForeground: [255, 255, 255],
  /** Background of a mask drawn as a binary image. */
  maskBackground: [0, 0, 0],
} as const satisfies Record<string, Rgb>;

/** Returns `value` as an `Rgb`, throwing unless it is an `[r, g, b]` array of integers in [0, 255]. */
export function checkColor(name: string, value: unknown): Rgb {
  const rule = 'an [r, g, b] array of integers in [0, 255]';
  if (!Array.isArray(value)) throw typeError(name, rule, value);
  if (value.length !== 3) throw rangeError(name, rule, value);
  for (const channel of value) {
    if (typeof channel !== 'number') throw typeError(name, rule, value);
    if (!Number.isInteger(channel) || channel < 0 || channel > 255) throw rangeError(name, rule, value);
  }
  return [value[0], value[1], value[2]];
}

/** Intensity range mapped to grey levels: `low` and below become black, `high` and above white. */
export interface IntensityWindow {
  low: number;
  high: number;
}

/**
 * Computes the window spanning the `lowPercentile`-th to `highPercentile`-th percentile of the
 * finite values in `values`, interpolating linearly between order statistics (NumPy's default
 * `linear` method). NaN and infinite values are ignored. With no finite value the window is
 * `{ low: 0, high: 0 }`.
 *
 * @param values - Intensities, in any order.
 * @param lowPercentile - Percentile in [0, 100] mapped to black. Default 1.
 * @param highPercentile - Percentile in [lowPercentile, 100] mapped to white. Default 99.
 */
export function percentileWindow(values: ArrayLike<number>, lowPercentile = 1, highPercentile = 99): IntensityWindow {
  const sorted = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (Number.isFinite(value)) sorted[count++] = value;
  }
  if (count === 0) return { low: 0, high: 0 };
  const finite = sorted.subarray(0, count).sort();
  return { low: percentileOfSorted(finite, lowPercentile), high: percentileOfSorted(finite, highPercentile) };
}

function percentileOfSorted(sorted: Float64Array, percentile: number): number {
  const position = (percentile / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const fraction = position - below;
  return (sorted[below] as number) * (1 - fraction) + (sorted[above] as number) * fraction;
}

/**
 * Maps an intensity to a grey level in [0, 255] through `window`, clamping outside it.
 * NaN becomes 0. When the window is empty (`high <= low`), values above `low` become 255 and
 * all others 0, so a constant image renders black rather than as NaN.
 */
export function greyLevel(value: number, window: IntensityWindow): number {
  if (Number.isNaN(value)) return 0;
  const { low, high } = window;
  if (high <= low) return value > low ? 255 : 0;
  if (value <= low) return 0;
  if (value >= high) return 255;
  return Math.round(((value - low) / (high - low)) * 255);
}

/** Mixes `color` over the grey or colour channel value `base` with opacity `alpha` in [0, 1]. */
export function blendChannel(base: number, color: number, alpha: number): number {
  return Math.round(base * (1 - alpha) + color * alpha);
}
