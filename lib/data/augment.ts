// SPDX-License-Identifier: MIT
//
// Random 2D augmentation of (image, mask) slices: one spatial transform shared by image and
// mask, and intensity changes to the image alone.

import { checkInt, checkNumber, checkOptions, rangeError, typeError } from '../validate.js';
import { Random } from './random.js';
import { lengthError } from './slices.js';

/** Options of {@link RandomAugment}; every range is sampled uniformly. */
export interface RandomAugmentOptions {
  /** Largest rotation in degrees; the angle is drawn from [-rotation, rotation] (default 10). */
  rotation?: number;
  /** Range of the zoom factor; above 1 enlarges the content (default [0.9, 1.1]). */
  scale?: readonly [number, number];
  /** Largest shift as a fraction of the width (columns) and height (rows) (default 0.05). */
  translation?: number;
  /** Probability of mirroring left-right, reversing the columns (default 0.5). */
  horizontalFlip?: number;
  /** Probability of mirroring top-bottom, reversing the rows (default 0). */
  verticalFlip?: number;
  /** Largest additive intensity offset; the offset is drawn from [-brightness, brightness] (default 0.1). */
  brightness?: number;
  /**
   * Largest relative contrast change; the factor about the mean is drawn from
   * [1 - contrast, 1 + contrast] (default 0.1).
   */
  contrast?: number;
  /** Range of the gamma exponent, or null for no gamma change (default null). */
  gamma?: readonly [number, number] | null;
}

/** One draw of augmentation parameters. */
export interface AugmentParams {
  /** Rotation in degrees, counter-clockwise as displayed with row 0 at the top. */
  angle: number;
  scale: number;
  /** Shift of the content in pixels along columns (x) and rows (y). */
  translateX: number;
  translateY: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
  /** Contrast factor about the per-channel mean (1 = unchanged). */
  contrast: number;
  /** Offset added to every image value (0 = unchanged). */
  brightness: number;
  /** Gamma exponent on the per-channel [min, max] range (1 = unchanged). */
  gamma: number;
}

/** Image and mask after augmentation; new arrays with the input layouts. */
export interface Augmented {
  image: Float32Array;
  mask: Float32Array | null;
}

/**
 * Random augmentation for 2D segmentation samples, in the manner of MONAI's `RandAffined`,
 * `RandFlipd`, `RandScaleIntensityd`, `RandShiftIntensityd` and `RandAdjustContrastd`.
 *
 * Each call draws ONE spatial transform (rotation about the image centre, zoom, shift, flips)
 * and applies it to every channel of the image with bilinear interpolation and to the mask
 * with nearest-neighbour interpolation, so labels stay labels. Samples from outside the input
 * are 0. Contrast, brightness and gamma change the image only. The same generator state
 * gives the same output.
 *
 * @example
 * const augment = new RandomAugment({ rotation: 15, verticalFlip: 0 });
 * const rng = new Random(7);
 * const { image, mask } = augment.apply(item.image, item.mask, item.height, item.width, 1, rng);
 * @see https://docs.monai.io/en/stable/transforms.html#randaffined
 */
export class RandomAugment {
  readonly options: Readonly<Required<RandomAugmentOptions>>;

  /**
   * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` for options of the wrong type.
   * @throws {RangeError} code `ERR_OUT_OF_RANGE` for probabilities outside [0, 1], negative
   *   ranges, a rotation above 180, a non-positive scale or gamma, or a range with low > high.
   */
  constructor(options?: RandomAugmentOptions) {
    const opts = checkOptions<RandomAugmentOptions>('options', options);
    this.options = Object.freeze({
      rotation: opts.rotation === undefined ? 10 : checkNumber('options.rotation', opts.rotation, 0, 180),
      scale: opts.scale === undefined ? ([0.9, 1.1] as const) : checkRange('options.scale', opts.scale),
      translation: opts.translation === undefined ? 0.05 : checkNumber('options.translation', opts.translation, 0, 1),
      horizontalFlip:
        opts.horizontalFlip === undefined ? 0.5 : checkNumber('options.horizontalFlip', opts.horizontalFlip, 0, 1),
      verticalFlip: opts.verticalFlip === undefined ? 0 : checkNumber('options.verticalFlip', opts.verticalFlip, 0, 1),
      brightness: opts.brightness === undefined ? 0.1 : checkNumber('options.brightness', opts.brightness, 0),
      contrast: opts.contrast === undefined ? 0.1 : checkNumber('options.contrast', opts.contrast, 0, 1),
      gamma: opts.gamma === undefined || opts.gamma === null ? null : checkRange('options.gamma', opts.gamma),
    });
  }

  /**
   * Draws one set of parameters. The draws happen in a fixed order and number whatever the
   * options, so a generator advances the same way for every configuration.
   */
  sample(rng: Random, height: number, width: number): AugmentParams {
    checkRng(rng);
    const o = this.options;
    const angle = rng.uniform(-o.rotation, o.rotation);
    const scale = rng.uniform(o.scale[0], o.scale[1]);
    const translateX = rng.uniform(-o.translation, o.translation) * width;
    const translateY = rng.uniform(-o.translation, o.translation) * height;
    const flipHorizontal = rng.bernoulli(o.horizontalFlip);
    const flipVertical = rng.bernoulli(o.verticalFlip);
    const contrast = rng.uniform(1 - o.contrast, 1 + o.contrast);
    const brightness = rng.uniform(-o.brightness, o.brightness);
    const gammaDraw = rng.next();
    const gamma = o.gamma === null ? 1 : o.gamma[0] + (o.gamma[1] - o.gamma[0]) * gammaDraw;
    return { angle, scale, translateX, translateY, flipHorizontal, flipVertical, contrast, brightness, gamma };
  }

  /**
   * Augments one sample with parameters drawn from `rng`.
   *
   * @param image - [channels, height, width] values, row-major.
   * @param mask - [maskChannels, height, width] labels, or null.
   * @param height - Rows.
   * @param width - Columns.
   * @param channels - Image channels.
   * @param rng - Generator to draw from; it advances.
   * @returns New image and mask arrays.
   * @throws {RangeError} code `ERR_OUT_OF_RANGE` when an array length does not fit the shape.
   */
  apply(
    image: Float32Array,
    mask: Float32Array | null,
    height: number,
    width: number,
    channels: number,
    rng: Random,
  ): Augmented {
    checkSample(image, mask, height, width, channels);
    return this.applyParams(image, mask, height, width, channels, this.sample(rng, height, width));
  }

  /** Augments one sample with the given parameters; see {@link RandomAugment.apply}. */
  applyParams(
    image: Float32Array,
    mask: Float32Array | null,
    height: number,
    width: number,
    channels: number,
    params: AugmentParams,
  ): Augmented {
    checkSample(image, mask, height, width, channels);
    const mapping = inverseMapping(params, height, width);
    const outImage = new Float32Array(image.length);
    const plane = height * width;
    for (let channel = 0; channel < channels; channel++) {
      const source = image.subarray(channel * plane, (channel + 1) * plane);
      const target = outImage.subarray(channel * plane, (channel + 1) * plane);
      warpBilinear(source, target, height, width, mapping);
      adjustIntensity(target, params);
    }
    let outMask: Float32Array | null = null;
    if (mask !== null) {
      outMask = new Float32Array(mask.length);
      for (let channel = 0; channel < mask.length / plane; channel++) {
        const source = mask.subarray(channel * plane, (channel + 1) * plane);
        warpNearest(source, outMask.subarray(channel * plane, (channel + 1) * plane), height, width, mapping);
      }
    }
    return { image: outImage, mask: outMask };
  }
}

/**
 * Output pixel (col, row) reads the input at (ax * col + bx * row + ox, ay * col + by * row + oy).
 * Pixel centres are at integer coordinates; rotation, zoom and flips act about the centre
 * ((width - 1) / 2, (height - 1) / 2).
 */
interface Mapping {
  ax: number;
  bx: number;
  ox: number;
  ay: number;
  by: number;
  oy: number;
}

function inverseMapping(params: AugmentParams, height: number, width: number): Mapping {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const theta = (params.angle * Math.PI) / 180;
  const cos = Math.cos(theta) / params.scale;
  const sin = Math.sin(theta) / params.scale;
  const fx = params.flipHorizontal ? -1 : 1;
  const fy = params.flipVertical ? -1 : 1;
  // The forward map is out = centre + shift + scale * R(-theta) * flip(in - centre), where R(a)
  // turns (x, y) into (x cos a - y sin a, x sin a + y cos a). The inverse undoes the shift,
  // applies R(theta) / scale, then flips about the centre.
  const ux = -cx - params.translateX;
  const uy = -cy - params.translateY;
  return {
    ax: fx * cos,
    bx: fx * -sin,
    ox: cx + fx * (cos * ux - sin * uy),
    ay: fy * sin,
    by: fy * cos,
    oy: cy + fy * (sin * ux + cos * uy),
  };
}

function warpBilinear(source: Float32Array, target: Float32Array, height: number, width: number, m: Mapping): void {
  for (let row = 0; row < height; row++) {
    let sx = m.bx * row + m.ox;
    let sy = m.by * row + m.oy;
    for (let col = 0; col < width; col++, sx += m.ax, sy += m.ay) {
      const index = row * width + col;
      if (sx <= -1 || sy <= -1 || sx >= width || sy >= height) {
        target[index] = 0;
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const wx = sx - x0;
      const wy = sy - y0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
        const top = y0 * width + x0;
        const bottom = top + width;
        target[index] =
          (1 - wy) * ((1 - wx) * source[top]! + wx * source[top + 1]!) +
          wy * ((1 - wx) * source[bottom]! + wx * source[bottom + 1]!);
      } else {
        // Border pixels: neighbours outside the input count as 0.
        const at = (x: number, y: number): number =>
          x >= 0 && y >= 0 && x < width && y < height ? source[y * width + x]! : 0;
        target[index] =
          (1 - wy) * ((1 - wx) * at(x0, y0) + wx * at(x0 + 1, y0)) +
          wy * ((1 - wx) * at(x0, y0 + 1) + wx * at(x0 + 1, y0 + 1));
      }
    }
  }
}

function warpNearest(source: Float32Array, target: Float32Array, height: number, width: number, m: Mapping): void {
  for (let row = 0; row < height; row++) {
    let sx = m.bx * row + m.ox;
    let sy = m.by * row + m.oy;
    for (let col = 0; col < width; col++, sx += m.ax, sy += m.ay) {
      const x = Math.floor(sx + 0.5);
      const y = Math.floor(sy + 0.5);
      target[row * width + col] = x >= 0 && y >= 0 && x < width && y < height ? source[y * width + x]! : 0;
    }
  }
}

/** Gamma on the channel's [min, max] range, then contrast about its mean, then the brightness offset. */
function adjustIntensity(values: Float32Array, params: AugmentParams): void {
  if (params.gamma !== 1) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < values.length; i++) {
      if (values[i]! < min) min = values[i]!;
      if (values[i]! > max) max = values[i]!;
    }
    const range = max - min;
    if (range > 0) {
      for (let i = 0; i < values.length; i++) values[i] = ((values[i]! - min) / range) ** params.gamma * range + min;
    }
  }
  if (params.contrast !== 1) {
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[i]!;
    const mean = sum / values.length;
    for (let i = 0; i < values.length; i++) values[i] = (values[i]! - mean) * params.contrast + mean;
  }
  if (params.brightness !== 0) {
    for (let i = 0; i < values.length; i++) values[i] = values[i]! + params.brightness;
  }
}

function checkRange(name: string, value: unknown): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw typeError(name, 'a [low, high] pair of numbers', value);
  const low = checkNumber(`${name}[0]`, value[0]);
  const high = checkNumber(`${name}[1]`, value[1]);
  if (!(low > 0)) throw rangeError(`${name}[0]`, 'a positive number', low);
  if (low > high) throw rangeError(name, 'a range with low <= high', value);
  return [low, high];
}

function checkRng(rng: unknown): void {
  if (!(rng instanceof Random)) throw typeError('rng', 'a Random', rng);
}

function checkSample(image: unknown, mask: unknown, height: number, width: number, channels: number): void {
  checkInt('height', height, 1);
  checkInt('width', width, 1);
  checkInt('channels', channels, 1);
  if (!(image instanceof Float32Array)) throw typeError('image', 'a Float32Array', image);
  const plane = height * width;
  if (image.length !== channels * plane)
    throw lengthError('image', `${channels} x ${height} x ${width} values`, image.length);
  if (mask === null) return;
  if (!(mask instanceof Float32Array)) throw typeError('mask', 'a Float32Array or null', mask);
  if (mask.length === 0 || mask.length % plane !== 0) {
    throw lengthError('mask', `a multiple of ${height} x ${width} values`, mask.length);
  }
}
