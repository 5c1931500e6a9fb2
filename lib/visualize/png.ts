// SPDX-License-Identifier: MIT
//
// PNG pictures of 2D slices: side-by-side panels (scan, ground truth, prediction) and montages
// of many slices of one volume. Pure TypeScript over typed arrays, encoded with pngjs.

import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import pngjs from 'pngjs';

import { ErrorCode, withCode } from '../errors.js';
import { checkBoolean, checkEach, checkInt, checkNumber, checkOptions, rangeError, typeError } from '../validate.js';
import type { RgbImage } from './canvas.js';
import type { IntensityWindow, Rgb } from './colors.js';
import { checkColor, Palette, percentileWindow } from './colors.js';
import type { GridStyle, NumericArray, TileStyle } from './layout.js';
import { composeGrid, renderTile } from './layout.js';

export type { NumericArray } from './layout.js';
export type { Rgb } from './colors.js';
export { Palette } from './colors.js';

/**
 * One picture in a row of panels. Slices are `height` x `width`, stored row-major: element
 * `r * width + c` is row `r`, column `c`.
 *
 * - `image` alone: a greyscale slice.
 * - `mask` with `image` or `overlayOn`: the mask in colour over that greyscale slice.
 * - `mask` alone: the mask as a binary image, white on black.
 */
export interface Panel {
  /** Text in the bar above the panel, possibly empty. */
  title: string;
  /** Greyscale slice, windowed to the percentiles in `percentiles` unless `window` is set. */
  image?: NumericArray;
  /** Mask slice. Elements above `maskThreshold` are foreground. */
  mask?: NumericArray;
  /** Greyscale slice under `mask`. It is an alternative to `image`, so give one of the two. */
  overlayOn?: NumericArray;
  /** Overlay colour of this panel's mask. Default: the `maskColor` option. */
  color?: Rgb;
}

/** Display options shared by {@link renderPanels} and {@link renderMontage}. */
export interface RenderOptions {
  /**
   * Integer upscaling of each slice (nearest neighbour), 1-32. Default: the smallest factor
   * that makes the slice's shorter side at least 128 pixels, capped at 8.
   */
  zoom?: number;
  /** Integer size multiplier of the 5x9-pixel font, 1-8. Default 2. */
  fontScale?: number;
  /**
   * Reverse the row order, so that the last row of a slice is drawn at the top. Set it for
   * slices whose row index grows towards anterior or superior (NIfTI voxel axes in RAS order),
   * so the picture shows anterior or superior at the top. Default false.
   */
  flipVertical?: boolean;
  /** Reverse the column order. Default false. */
  flipHorizontal?: boolean;
  /** Line of text below the pictures, such as `'slice 90  Dice 0.95'`. */
  footer?: string;
  /** Overlay colour of masks. Default red, `[255, 48, 48]`. */
  maskColor?: Rgb;
  /** Opacity of the overlay colour inside the mask, in [0, 1]. Default 0.45. */
  maskAlpha?: number;
  /** Mask elements above this value are foreground. Default 0.5, so 0/1 masks and probabilities both work. */
  maskThreshold?: number;
  /** Also draw the boundary of each overlaid mask at full opacity. Default false. */
  outline?: boolean;
  /** Percentiles `[low, high]` of each slice's intensities mapped to black and white. Default `[1, 99]`. */
  percentiles?: readonly [number, number];
  /** Fixed intensity window `[low, high]`, which overrides `percentiles`. */
  window?: readonly [number, number];
  /** Canvas colour. Default a near-black grey. */
  background?: Rgb;
  /** Text colour. Default a near-white grey. */
  textColor?: Rgb;
}

/** Options of {@link renderMontage}. */
export interface MontageOptions extends RenderOptions {
  /** Mask volume of the same shape, overlaid in `maskColor`. */
  mask?: NumericArray;
  /** Axis of `shape` that slices are taken across: 0, 1 or 2. Default 0. */
  axis?: number;
  /**
   * Slice indices along `axis`, or how many to pick at even spacing. Given a count, the slices
   * span the mask's extent when the mask has foreground. Otherwise they span the volume, leaving
   * out the outermost slices. Default 12.
   */
  slices?: number | readonly number[];
  /** Number of grid columns. Default `ceil(sqrt(number of slices))`. */
  columns?: number;
  /** Line of text above the grid. */
  title?: string;
}

/**
 * Renders 2D slices side by side, each under a title bar, as PNG bytes.
 *
 * @param panels - Pictures from left to right. Each array has `height * width` elements, row-major.
 * @param height - Rows of every slice.
 * @param width - Columns of every slice.
 * @param options - Display options; see {@link RenderOptions}.
 * @returns The encoded PNG (8-bit RGB).
 * @throws TypeError (code `ERR_INVALID_ARG_TYPE`) or RangeError (code `ERR_OUT_OF_RANGE`) naming
 *   the invalid argument, such as `panels[2].mask` when its length is not `height * width`.
 * @example
 * const png = renderPanels(
 *   [
 *     { title: 'scan', image: slice },
 *     { title: 'ground truth', mask: truth, overlayOn: slice, color: Palette.groundTruth },
 *     { title: 'prediction', mask: predicted, overlayOn: slice },
 *   ],
 *   217, 181, { flipVertical: true, footer: 'slice 90  Dice 0.95' },
 * );
 * await writePng('slice-90.png', png);
 */
export function renderPanels(panels: readonly Panel[], height: number, width: number, options?: RenderOptions): Buffer {
  if (!Array.isArray(panels)) throw typeError('panels', 'an array of panels', panels);
  if (panels.length === 0) throw rangeError('panels', 'a non-empty array', panels);
  checkInt('height', height, 1);
  checkInt('width', width, 1);
  const display = resolveDisplay(options, height, width);

  const tiles = checkEach(panels, (panel, i) => {
    const content = checkPanel(panel as Panel, `panels[${i}]`, height * width);
    const window = display.window ?? percentileWindow(content.base ?? [], ...display.percentiles);
    const tile = renderTile(height, width, { ...content, window, maskColor: content.color ?? display.maskColor }, display.tile);
    return { title: content.title, image: tile };
  });
  return encodePng(composeGrid(tiles, tiles.length, { ...display.grid, footer: display.footer }));
}

/**
 * Renders a grid of slices through one volume, with an optional mask overlay, as PNG bytes:
 * an overview of a whole predicted volume. Each tile is titled with its slice index.
 *
 * @param volume - Intensities of shape `shape`, row-major (the last axis varies fastest). A
 *   NIfTI volume stored x-fastest is `[nz, ny, nx]` in this order, so axis 0 gives axial slices.
 * @param shape - `[D, H, W]`, the size of each axis.
 * @param options - Mask, slice selection and display options; see {@link MontageOptions}.
 * @returns The encoded PNG (8-bit RGB).
 * @throws TypeError (code `ERR_INVALID_ARG_TYPE`) or RangeError (code `ERR_OUT_OF_RANGE`) naming the invalid argument.
 * @example
 * const png = renderMontage(scan, [181, 217, 181], { mask: predicted, flipVertical: true, title: 'prediction' });
 */
export function renderMontage(volume: NumericArray, shape: readonly [number, number, number], options?: MontageOptions): Buffer {
  if (!Array.isArray(shape) || shape.length !== 3) throw typeError('shape', 'an array [D, H, W] of 3 positive integers', shape);
  shape.forEach((size, i) => checkInt(`shape[${i}]`, size, 1));
  const voxels = shape[0] * shape[1] * shape[2];
  checkData('volume', volume, voxels, `${voxels} (${shape.join(' x ')})`);
  const opts = checkOptions<MontageOptions>('options', options);
  const axis = opts.axis === undefined ? 0 : checkInt('options.axis', opts.axis, 0, 2);
  if (opts.mask !== undefined) checkData('options.mask', opts.mask, voxels, `${voxels} (${shape.join(' x ')})`);

  const [height, width] = sliceSize(shape, axis);
  const display = resolveDisplay(opts, height, width);
  const slices = resolveSlices(opts.slices, opts.mask, shape, axis, display.tile.maskThreshold);
  const columns = opts.columns === undefined ? Math.ceil(Math.sqrt(slices.length)) : checkInt('options.columns', opts.columns, 1);
  const title = opts.title === undefined ? undefined : checkText('options.title', opts.title);

  // One window for all tiles, so that the same intensity looks the same in every slice.
  const images = slices.map((index) => extractSlice(volume, shape, axis, index));
  const masks = slices.map((index) => (opts.mask ? extractSlice(opts.mask, shape, axis, index) : undefined));
  const window = display.window ?? percentileWindow(concatenate(images), ...display.percentiles);
  const tiles = slices.map((index, i) => ({
    title: `slice ${index}`,
    image: renderTile(height, width, { base: images[i], mask: masks[i], window, maskColor: display.maskColor }, display.tile),
  }));
  return encodePng(composeGrid(tiles, Math.min(columns, tiles.length), { ...display.grid, header: title, footer: display.footer }));
}

/**
 * Encodes an RGB image as PNG bytes (8 bits per channel, no alpha).
 *
 * @param image - Pixels row by row from the top, three bytes per pixel.
 * @returns The PNG file contents.
 * @throws TypeError when `image` is not an object with integer `width` and `height` and a Uint8Array `data`;
 *   RangeError when the sizes are below 1 or `data` does not contain `3 * width * height` bytes.
 */
export function encodePng(image: RgbImage): Buffer {
  if (image === null || typeof image !== 'object') throw typeError('image', 'an object with `width`, `height` and `data`', image);
  const width = checkInt('image.width', image.width, 1);
  const height = checkInt('image.height', image.height, 1);
  if (!(image.data instanceof Uint8Array)) throw typeError('image.data', 'a Uint8Array', image.data);
  if (image.data.length !== 3 * width * height) {
    throw rangeError('image.data', `${3 * width * height} bytes (3 per pixel of a ${width}x${height} image)`, `${image.data.length} bytes`);
  }
  const png = new pngjs.PNG({ width: image.width, height: image.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return pngjs.PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6 });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Writes PNG bytes to `path` through a temporary file in the same directory and a rename, so
 * a reader never sees a half-written picture. The temporary file is removed when writing fails.
 *
 * @param path - Destination file; its directory must exist.
 * @param png - Bytes from {@link renderPanels}, {@link renderMontage} or {@link encodePng}.
 * @throws TypeError (code `ERR_INVALID_ARG_TYPE`) or RangeError (code `ERR_OUT_OF_RANGE`) for an
 *   invalid argument, such as bytes that do not start with the PNG signature.
 * @throws The `fs` error, such as `ENOENT`, when writing or renaming fails.
 */
export async function writePng(path: string, png: Uint8Array): Promise<void> {
  if (typeof path !== 'string') throw typeError('path', 'a string', path);
  if (path.length === 0) throw rangeError('path', 'a non-empty string', path);
  if (!(png instanceof Uint8Array)) throw typeError('png', 'a Buffer or Uint8Array', png);
  if (png.length < PNG_SIGNATURE.length || !PNG_SIGNATURE.equals(png.subarray(0, PNG_SIGNATURE.length))) {
    throw rangeError('png', 'PNG bytes starting with the PNG signature', png);
  }

  const temporary = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, png);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {
      // The temporary file may never have been created, and the write error is the one to report.
    });
    throw error;
  }
}

// ---- Option and argument checks --------------------------------------------------------------

interface Display {
  tile: TileStyle;
  grid: Omit<GridStyle, 'header' | 'footer'>;
  footer: string | undefined;
  maskColor: Rgb;
  window: IntensityWindow | undefined;
  percentiles: [number, number];
}

const MAX_AUTO_ZOOM = 8;
const AUTO_ZOOM_TARGET = 128;

function resolveDisplay(options: RenderOptions | undefined, height: number, width: number): Display {
  const opts = checkOptions<RenderOptions>('options', options);
  const autoZoom = Math.min(MAX_AUTO_ZOOM, Math.max(1, Math.ceil(AUTO_ZOOM_TARGET / Math.min(height, width))));
  const percentiles = opts.percentiles === undefined ? ([1, 99] as [number, number]) : checkPair('options.percentiles', opts.percentiles, 0, 100);
  const window = opts.window === undefined ? undefined : checkPair('options.window', opts.window, -Infinity, Infinity);
  if (window && !(window[0] < window[1])) throw rangeError('options.window', 'a pair [low, high] with low < high', opts.window);
  return {
    tile: {
      zoom: opts.zoom === undefined ? autoZoom : checkInt('options.zoom', opts.zoom, 1, 32),
      flipVertical: opts.flipVertical === undefined ? false : checkBoolean('options.flipVertical', opts.flipVertical),
      flipHorizontal: opts.flipHorizontal === undefined ? false : checkBoolean('options.flipHorizontal', opts.flipHorizontal),
      maskThreshold: opts.maskThreshold === undefined ? 0.5 : checkFinite('options.maskThreshold', opts.maskThreshold),
      maskAlpha: opts.maskAlpha === undefined ? 0.45 : checkNumber('options.maskAlpha', opts.maskAlpha, 0, 1),
      outline: opts.outline === undefined ? false : checkBoolean('options.outline', opts.outline),
    },
    grid: {
      fontScale: opts.fontScale === undefined ? 2 : checkInt('options.fontScale', opts.fontScale, 1, 8),
      background: opts.background === undefined ? Palette.background : checkColor('options.background', opts.background),
      textColor: opts.textColor === undefined ? Palette.text : checkColor('options.textColor', opts.textColor),
    },
    footer: opts.footer === undefined ? undefined : checkText('options.footer', opts.footer),
    maskColor: opts.maskColor === undefined ? Palette.prediction : checkColor('options.maskColor', opts.maskColor),
    window: window && { low: window[0], high: window[1] },
    percentiles,
  };
}

function checkPanel(panel: Panel, name: string, length: number): { title: string; base?: NumericArray; mask?: NumericArray; color?: Rgb } {
  if (panel === null || typeof panel !== 'object' || Array.isArray(panel)) throw typeError(name, 'an object { title, image?, mask?, overlayOn? }', panel);
  const title = checkText(`${name}.title`, panel.title);
  const image = panel.image === undefined ? undefined : checkData(`${name}.image`, panel.image, length);
  const overlayOn = panel.overlayOn === undefined ? undefined : checkData(`${name}.overlayOn`, panel.overlayOn, length);
  const mask = panel.mask === undefined ? undefined : checkData(`${name}.mask`, panel.mask, length);
  if (image && overlayOn) throw rangeError(`${name}.overlayOn`, 'left out when image is set (both name the greyscale slice)', overlayOn);
  if (!image && !overlayOn && !mask) throw rangeError(name, 'a panel with an image, a mask, or both', panel);
  const color = panel.color === undefined ? undefined : checkColor(`${name}.color`, panel.color);
  return { title, base: image ?? overlayOn, mask, color };
}

function checkData(name: string, value: unknown, length: number, lengthText = `${length} (height x width)`): NumericArray {
  const isNumeric = ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
  if (!isNumeric) throw typeError(name, 'a numeric typed array such as Float32Array', value);
  const data = value as NumericArray;
  if (data.length !== length) {
    throw withCode(new RangeError(`${name} must have length ${lengthText}; got length ${data.length}`), ErrorCode.OUT_OF_RANGE);
  }
  return data;
}

function checkText(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(name, 'a string', value);
  return value;
}

function checkFinite(name: string, value: unknown): number {
  checkNumber(name, value);
  if (!Number.isFinite(value)) throw rangeError(name, 'a finite number', value);
  return value as number;
}

function checkPair(name: string, value: unknown, min: number, max: number): [number, number] {
  const rule = `a pair [low, high] of finite numbers in [${min}, ${max}] with low <= high`;
  if (!Array.isArray(value) || value.length !== 2) throw typeError(name, rule, value);
  const [low, high] = value as unknown[];
  if (typeof low !== 'number' || typeof high !== 'number') throw typeError(name, rule, value);
  if (!Number.isFinite(low) || !Number.isFinite(high) || low < min || high > max || low > high) throw rangeError(name, rule, value);
  return [low, high];
}

// ---- Volume slicing -----------------------------------------------------------------------------

/** Rows and columns of a slice across `axis`: the two remaining axes in order. */
function sliceSize(shape: readonly [number, number, number], axis: number): [number, number] {
  const [depth, height, width] = shape;
  if (axis === 0) return [height, width];
  if (axis === 1) return [depth, width];
  return [depth, height];
}

function extractSlice(volume: NumericArray, shape: readonly [number, number, number], axis: number, index: number): Float32Array {
  const [, height, width] = shape;
  const [rows, columns] = sliceSize(shape, axis);
  const slice = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let offset: number;
      if (axis === 0) offset = (index * height + r) * width + c;
      else if (axis === 1) offset = (r * height + index) * width + c;
      else offset = (r * height + c) * width + index;
      slice[r * columns + c] = volume[offset] as number;
    }
  }
  return slice;
}

function resolveSlices(
  slices: unknown,
  mask: NumericArray | undefined,
  shape: readonly [number, number, number],
  axis: number,
  threshold: number,
): number[] {
  const count = shape[axis] as number;
  if (Array.isArray(slices)) {
    if (slices.length === 0) throw rangeError('options.slices', 'a non-empty array of slice indices', slices);
    return checkEach(slices, (index, i) => checkInt(`options.slices[${i}]`, index, 0, count - 1));
  }
  const requested = slices === undefined ? 12 : checkInt('options.slices', slices, 1);
  const extent = mask ? maskExtent(mask, shape, axis, threshold) : undefined;
  return evenlySpaced(requested, count, extent);
}

/**
 * First and last slice index along `axis` whose foreground is at least 5% of the largest
 * slice's foreground, or undefined for an empty mask. The 5% cut keeps a few stray voxels, common
 * in predicted masks, from stretching the range into empty slices.
 */
function maskExtent(mask: NumericArray, shape: readonly [number, number, number], axis: number, threshold: number): [number, number] | undefined {
  const [, height, width] = shape;
  const counts = new Float64Array(shape[axis] as number);
  for (let i = 0; i < mask.length; i++) {
    if (!((mask[i] as number) > threshold)) continue;
    let position: number;
    if (axis === 0) position = Math.floor(i / (height * width));
    else if (axis === 1) position = Math.floor(i / width) % height;
    else position = i % width;
    counts[position] = (counts[position] as number) + 1;
  }
  const cut = 0.05 * counts.reduce((max, count) => Math.max(max, count), 0);
  if (cut === 0) return undefined;
  let first = 0;
  while ((counts[first] as number) < cut) first++;
  let last = counts.length - 1;
  while ((counts[last] as number) < cut) last--;
  return [first, last];
}

/**
 * Picks up to `requested` distinct indices evenly spread over `[first, last]` when `extent` is
 * given, otherwise over the interior of `[0, count)`, because the outermost slices are often empty.
 */
function evenlySpaced(requested: number, count: number, extent: [number, number] | undefined): number[] {
  const picks = new Set<number>();
  for (let i = 0; i < requested; i++) {
    let position: number;
    if (!extent) position = ((i + 1) * count) / (requested + 1);
    else if (requested === 1) position = (extent[0] + extent[1]) / 2;
    else position = extent[0] + ((extent[1] - extent[0]) * i) / (requested - 1);
    picks.add(Math.min(count - 1, Math.round(position)));
  }
  return [...picks].sort((a, b) => a - b);
}

function concatenate(slices: readonly Float32Array[]): Float32Array {
  const total = slices.reduce((sum, slice) => sum + slice.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const slice of slices) {
    all.set(slice, offset);
    offset += slice.length;
  }
  return all;
}
