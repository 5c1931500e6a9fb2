// SPDX-License-Identifier: MIT

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Panel } from '../../../lib/visualize/png.js';
import { encodePng, renderMontage, renderPanels, writePng } from '../../../lib/visualize/png.js';
import { Palette } from '../../../lib/visualize/colors.js';
import { createImage } from '../../../lib/visualize/canvas.js';
import type { Box, Decoded } from './decode.js';
import { decodePng, findBox, sameRgb } from './decode.js';

const GREEN = [0, 255, 0] as const;
const isGrey = (value: number) => (rgb: readonly number[]) => sameRgb(rgb, [value, value, value]);
const isText = (rgb: readonly number[]) => sameRgb(rgb, Palette.text);

/** Builds a 0/1 mask with an irregular pattern, so that flips and shifts change it. */
function patternMask(height: number, width: number): Uint8Array {
  const mask = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) mask[r * width + c] = (r * 7 + c * 3) % 5 === 0 || (r === 1 && c < 4) ? 1 : 0;
  }
  return mask;
}

function expectBoxSize(box: Box | undefined, width: number, height: number): Box {
  expect(box).toBeDefined();
  const found = box as Box;
  expect(found.right - found.left + 1).toBe(width);
  expect(found.bottom - found.top + 1).toBe(height);
  return found;
}

/**
 * Renders one panel of `mask` over a constant slice shown as grey 128 (window [-1, 1]), with an
 * opaque green overlay, and returns the decoded picture and the tile's box.
 */
function renderOverlay(height: number, width: number, mask: Uint8Array | Float32Array, options: object = {}) {
  const png = renderPanels([{ title: 'prediction', mask, overlayOn: new Float32Array(height * width) }], height, width, {
    window: [-1, 1],
    maskColor: [...GREEN],
    maskAlpha: 1,
    zoom: 1,
    ...options,
  });
  const image = decodePng(png);
  const box = findBox(image, (rgb) => isGrey(128)(rgb) || sameRgb(rgb, GREEN));
  return { image, box };
}

function expectOverlayMatches(image: Decoded, box: Box, expected: (row: number, column: number) => boolean, zoom = 1): void {
  for (let y = box.top; y <= box.bottom; y++) {
    for (let x = box.left; x <= box.right; x++) {
      const inside = expected(Math.floor((y - box.top) / zoom), Math.floor((x - box.left) / zoom));
      expect(image.pixel(x, y)).toEqual(inside ? [...GREEN] : [128, 128, 128]);
    }
  }
}

describe('renderPanels', () => {
  it('encodes a PNG that pngjs decodes', () => {
    const png = renderPanels([{ title: 'scan', image: new Float32Array(20 * 30) }], 20, 30, { zoom: 1 });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const image = decodePng(png);
    expect(image.width).toBeGreaterThanOrEqual(30);
    expect(image.height).toBeGreaterThanOrEqual(20);
  });

  it('sizes the picture to panels and zoom', () => {
    const slice = new Float32Array(30 * 40);
    const panels: Panel[] = [
      { title: 'a', image: slice },
      { title: 'b', image: slice },
      { title: 'c', image: slice },
    ];
    const single = decodePng(renderPanels(panels, 30, 40, { zoom: 2, fontScale: 1 }));
    const double = decodePng(renderPanels(panels, 30, 40, { zoom: 4, fontScale: 1 }));
    const fewer = decodePng(renderPanels(panels.slice(0, 2), 30, 40, { zoom: 2, fontScale: 1 }));

    expect(single.width).toBeGreaterThanOrEqual(3 * 80);
    expect(single.height).toBeGreaterThanOrEqual(60 + 9);
    expect(double.width - single.width).toBe(3 * 80);
    expect(double.height - single.height).toBe(60);
    expect(single.width - fewer.width).toBeGreaterThanOrEqual(80);
    expect(single.height).toBe(fewer.height);
  });

  it('picks a zoom that enlarges small slices', () => {
    const { box } = renderOverlay(16, 16, new Uint8Array(256), { zoom: undefined });
    const found = expectBoxSize(box, 128, 128);
    expect(found.left).toBeGreaterThan(0);
  });

  it('draws title text above each slice', () => {
    const slice = new Float32Array(20 * 20);
    const titled = decodePng(renderPanels([{ title: 'scan', image: slice }], 20, 20, { zoom: 1 }));
    const untitled = decodePng(renderPanels([{ title: '', image: slice }], 20, 20, { zoom: 1 }));
    const tile = expectBoxSize(findBox(titled, isGrey(0)), 20, 20);

    const text = findBox(titled, isText);
    expect(text).toBeDefined();
    expect((text as Box).bottom).toBeLessThan(tile.top);
    expect(findBox(untitled, isText)).toBeUndefined();
    expect(titled.pixel(0, 0)).toEqual([...Palette.background]);
  });

  it('widens the picture to fit a long title', () => {
    const title = 'a long title for a narrow slice';
    const image = decodePng(renderPanels([{ title, image: new Float32Array(10 * 10) }], 10, 10, { zoom: 1, fontScale: 1 }));
    const text = findBox(image, isText) as Box;
    expect(image.width).toBeGreaterThan(title.length * 6 - 1);
    expect(text.left).toBeGreaterThan(0);
    expect(text.right).toBeLessThan(image.width - 1);
  });

  it('draws the footer below the slices', () => {
    const slice = new Float32Array(20 * 20);
    const image = decodePng(renderPanels([{ title: '', image: slice }], 20, 20, { zoom: 1, footer: 'slice 90  Dice 0.95' }));
    const tile = findBox(image, isGrey(0)) as Box;
    const text = findBox(image, isText);
    expect(text).toBeDefined();
    expect((text as Box).top).toBeGreaterThan(tile.bottom);
  });

  it('overlays the mask colour exactly on mask pixels', () => {
    const mask = patternMask(12, 10);
    const { image, box } = renderOverlay(12, 10, mask);
    const tile = expectBoxSize(box, 10, 12);
    expectOverlayMatches(image, tile, (r, c) => mask[r * 10 + c] === 1);
  });

  it('blends the overlay with maskAlpha', () => {
    const mask = patternMask(6, 6);
    const png = renderPanels([{ title: '', mask, overlayOn: new Float32Array(36) }], 6, 6, {
      window: [-1, 1],
      maskColor: [255, 0, 0],
      maskAlpha: 0.5,
      zoom: 1,
    });
    const image = decodePng(png);
    const tile = expectBoxSize(findBox(image, (rgb) => isGrey(128)(rgb) || sameRgb(rgb, [192, 64, 64])), 6, 6);
    expectOverlayMatches(
      { ...image, pixel: (x, y) => (sameRgb(image.pixel(x, y), [192, 64, 64]) ? [...GREEN] : image.pixel(x, y)) },
      tile,
      (r, c) => mask[r * 6 + c] === 1,
    );
  });

  it('flips rows with flipVertical', () => {
    const mask = patternMask(12, 10);
    const { image, box } = renderOverlay(12, 10, mask, { flipVertical: true });
    const tile = expectBoxSize(box, 10, 12);
    expectOverlayMatches(image, tile, (r, c) => mask[(11 - r) * 10 + c] === 1);
  });

  it('flips columns with flipHorizontal', () => {
    const mask = patternMask(12, 10);
    const { image, box } = renderOverlay(12, 10, mask, { flipHorizontal: true });
    const tile = expectBoxSize(box, 10, 12);
    expectOverlayMatches(image, tile, (r, c) => mask[r * 10 + (9 - c)] === 1);
  });

  it('upscales by the zoom factor with nearest neighbour', () => {
    const mask = patternMask(7, 5);
    const { image, box } = renderOverlay(7, 5, mask, { zoom: 3 });
    const tile = expectBoxSize(box, 15, 21);
    expectOverlayMatches(image, tile, (r, c) => mask[r * 5 + c] === 1, 3);
  });

  it('thresholds probability masks at maskThreshold', () => {
    const mask = Float32Array.from([0.2, 0.7, 0.5, 0.9, 0, 1]);
    const { image, box } = renderOverlay(2, 3, mask);
    expectOverlayMatches(image, expectBoxSize(box, 3, 2), (r, c) => (mask[r * 3 + c] as number) > 0.5);

    const lower = renderOverlay(2, 3, mask, { maskThreshold: 0.1 });
    expectOverlayMatches(lower.image, expectBoxSize(lower.box, 3, 2), (r, c) => (mask[r * 3 + c] as number) > 0.1);
  });

  it('outlines the mask boundary opaquely', () => {
    const size = 9;
    const mask = new Uint8Array(size * size);
    for (let r = 2; r <= 6; r++) for (let c = 2; c <= 6; c++) mask[r * size + c] = 1;
    const png = renderPanels([{ title: '', mask, overlayOn: new Float32Array(size * size) }], size, size, {
      window: [-1, 1],
      maskColor: [255, 0, 0],
      maskAlpha: 0.5,
      outline: true,
      zoom: 1,
    });
    const image = decodePng(png);
    const tile = expectBoxSize(findBox(image, isGrey(128)), size, size);
    for (let r = 2; r <= 6; r++) {
      for (let c = 2; c <= 6; c++) {
        const edge = r === 2 || r === 6 || c === 2 || c === 6;
        expect(image.pixel(tile.left + c, tile.top + r)).toEqual(edge ? [255, 0, 0] : [192, 64, 64]);
      }
    }
    expect(image.pixel(tile.left + 1, tile.top + 4)).toEqual([128, 128, 128]);
  });

  it('shows a mask alone as a binary image', () => {
    const mask = patternMask(8, 8);
    const image = decodePng(renderPanels([{ title: '', mask }], 8, 8, { zoom: 1 }));
    const tile = expectBoxSize(findBox(image, (rgb) => isGrey(0)(rgb) || isGrey(255)(rgb)), 8, 8);
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        expect(image.pixel(tile.left + c, tile.top + r)).toEqual(mask[r * 8 + c] ? [255, 255, 255] : [0, 0, 0]);
      }
    }
  });

  it('uses each panel colour for its own mask', () => {
    const mask = new Uint8Array(16).fill(1);
    const base = new Float32Array(16);
    const png = renderPanels(
      [
        { title: '', mask, overlayOn: base, color: [0, 0, 255] },
        { title: '', mask, overlayOn: base },
      ],
      4,
      4,
      { zoom: 1, maskAlpha: 1, maskColor: [255, 0, 0] },
    );
    const image = decodePng(png);
    const blue = expectBoxSize(findBox(image, (rgb) => sameRgb(rgb, [0, 0, 255])), 4, 4);
    const red = expectBoxSize(findBox(image, (rgb) => sameRgb(rgb, [255, 0, 0])), 4, 4);
    expect(blue.right).toBeLessThan(red.left);
  });

  it('windows greyscale to the 1st and 99th percentiles', () => {
    const size = 20;
    const ramp = Float32Array.from({ length: size * size }, (_, i) => i);
    const image = decodePng(renderPanels([{ title: '', image: ramp }], size, size, { zoom: 1 }));
    const tile = expectBoxSize(findBox(image, (rgb) => rgb[0] === rgb[1] && rgb[1] === rgb[2]), size, size);
    const grey = (i: number) => image.pixel(tile.left + (i % size), tile.top + Math.floor(i / size))[0];

    // Percentiles of 0..399 with linear interpolation: 1st = 3.99, 99th = 395.01.
    expect(grey(3)).toBe(0);
    expect(grey(5)).toBeGreaterThan(0);
    expect(grey(394)).toBeLessThan(255);
    expect(grey(396)).toBe(255);
    expect(grey(200)).toBeGreaterThan(grey(100));
  });

  it('renders a constant image without NaN', () => {
    const image = decodePng(renderPanels([{ title: '', image: new Float32Array(25).fill(7.5) }], 5, 5, { zoom: 1 }));
    expectBoxSize(findBox(image, isGrey(0)), 5, 5);
    expect(findBox(image, (rgb) => rgb.some((channel) => !Number.isFinite(channel)))).toBeUndefined();
  });

  it('draws NaN voxels black', () => {
    const slice = Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? NaN : i));
    const image = decodePng(renderPanels([{ title: '', image: slice }], 4, 4, { zoom: 1, window: [-10, 100] }));
    const tile = expectBoxSize(findBox(image, (rgb) => rgb[0] === rgb[1] && rgb[1] === rgb[2] && rgb[0] > 0), 4, 4);
    expect(image.pixel(tile.left + 1, tile.top + 1)).toEqual([0, 0, 0]);
    expect(image.pixel(tile.left + 2, tile.top + 1)[0]).toBeGreaterThan(0);
  });

  it('accepts integer typed arrays', () => {
    const slice = Int16Array.from({ length: 16 }, (_, i) => i - 8);
    const png = renderPanels([{ title: 'int16', image: slice, mask: Uint8Array.from(slice, (v) => (v > 0 ? 1 : 0)) }], 4, 4);
    expect(decodePng(png).width).toBeGreaterThan(0);
  });

  const slice = new Float32Array(4);
  const rejections: Array<[string, () => unknown, ErrorConstructor, string]> = [
    ['panels not an array', () => renderPanels('scan' as never, 2, 2), TypeError, 'panels'],
    ['no panels', () => renderPanels([], 2, 2), RangeError, 'panels'],
    ['height not an integer', () => renderPanels([{ title: '', image: slice }], 1.5, 2), RangeError, 'height'],
    ['width zero', () => renderPanels([{ title: '', image: slice }], 2, 0), RangeError, 'width'],
    ['title not a string', () => renderPanels([{ title: 3 as never, image: slice }], 2, 2), TypeError, 'panels\\[0\\]\\.title'],
    ['mask of wrong length', () => renderPanels([{ title: '', image: slice }, { title: '', mask: new Uint8Array(5) }], 2, 2), RangeError, 'panels\\[1\\]\\.mask'],
    ['image as plain array', () => renderPanels([{ title: '', image: [1, 2, 3, 4] as never }], 2, 2), TypeError, 'panels\\[0\\]\\.image'],
    ['image and overlayOn together', () => renderPanels([{ title: '', image: slice, overlayOn: slice }], 2, 2), RangeError, 'panels\\[0\\]\\.overlayOn'],
    ['panel with nothing to show', () => renderPanels([{ title: 'empty' }], 2, 2), RangeError, 'panels\\[0\\]'],
    ['zoom above 32', () => renderPanels([{ title: '', image: slice }], 2, 2, { zoom: 33 }), RangeError, 'options\\.zoom'],
    ['fontScale zero', () => renderPanels([{ title: '', image: slice }], 2, 2, { fontScale: 0 }), RangeError, 'options\\.fontScale'],
    ['maskAlpha above 1', () => renderPanels([{ title: '', image: slice }], 2, 2, { maskAlpha: 1.5 }), RangeError, 'options\\.maskAlpha'],
    ['maskColor out of range', () => renderPanels([{ title: '', image: slice }], 2, 2, { maskColor: [0, 0, 256] }), RangeError, 'options\\.maskColor'],
    ['panel color not an array', () => renderPanels([{ title: '', image: slice, color: 'red' as never }], 2, 2), TypeError, 'panels\\[0\\]\\.color'],
    ['empty window', () => renderPanels([{ title: '', image: slice }], 2, 2, { window: [5, 5] }), RangeError, 'options\\.window'],
    ['percentiles above 100', () => renderPanels([{ title: '', image: slice }], 2, 2, { percentiles: [1, 101] }), RangeError, 'options\\.percentiles'],
    ['flipVertical not a boolean', () => renderPanels([{ title: '', image: slice }], 2, 2, { flipVertical: 1 as never }), TypeError, 'options\\.flipVertical'],
    ['footer not a string', () => renderPanels([{ title: '', image: slice }], 2, 2, { footer: 9 as never }), TypeError, 'options\\.footer'],
  ];
  for (const [name, call, errorClass, argument] of rejections) {
    it(`rejects: ${name}`, () => {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(errorClass);
      const error = caught as Error & { code?: string };
      expect(error.code).toBe(errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
      expect(error.message).toMatch(new RegExp(`^${argument} must`));
    });
  }
});

describe('renderMontage', () => {
  // Volume [D, H, W] = [6, 4, 5] whose value is the index along `axis`, drawn with window [0, 5],
  // so slice k shows as grey round(k * 51).
  function indexVolume(axis: number): Float32Array {
    const volume = new Float32Array(6 * 4 * 5);
    for (let d = 0; d < 6; d++) {
      for (let h = 0; h < 4; h++) for (let w = 0; w < 5; w++) volume[(d * 4 + h) * 5 + w] = [d, h, w][axis] as number;
    }
    return volume;
  }
  const grey = (k: number) => isGrey(Math.round(k * 51));

  it('draws the requested slices across axis 0', () => {
    const png = renderMontage(indexVolume(0), [6, 4, 5], { slices: [1, 4], window: [0, 5], zoom: 1, columns: 2 });
    const image = decodePng(png);
    const first = expectBoxSize(findBox(image, grey(1)), 5, 4);
    const second = expectBoxSize(findBox(image, grey(4)), 5, 4);
    expect(first.right).toBeLessThan(second.left);
    expect(first.top).toBe(second.top);
    for (const k of [0, 2, 3, 5]) expect(findBox(image, grey(k))).toBeUndefined();
  });

  it('takes slices across axes 1 and 2', () => {
    // Across axis 1 a slice is D x W; across axis 2 it is D x H.
    const coronal = decodePng(renderMontage(indexVolume(1), [6, 4, 5], { axis: 1, slices: [2], window: [0, 5], zoom: 1 }));
    expectBoxSize(findBox(coronal, grey(2)), 5, 6);
    const sagittal = decodePng(renderMontage(indexVolume(2), [6, 4, 5], { axis: 2, slices: [3], window: [0, 5], zoom: 1 }));
    expectBoxSize(findBox(sagittal, grey(3)), 4, 6);
  });

  it('wraps tiles into rows of columns', () => {
    const image = decodePng(renderMontage(indexVolume(0), [6, 4, 5], { slices: [1, 2, 3], window: [0, 5], zoom: 1, columns: 2 }));
    const one = findBox(image, grey(1)) as Box;
    const two = findBox(image, grey(2)) as Box;
    const three = findBox(image, grey(3)) as Box;
    expect(one.top).toBe(two.top);
    expect(three.top).toBeGreaterThan(one.bottom);
    expect(three.left).toBe(one.left);
  });

  it('spreads a slice count over the volume interior', () => {
    const image = decodePng(renderMontage(indexVolume(0), [6, 4, 5], { slices: 2, window: [0, 5], zoom: 1 }));
    expect(findBox(image, grey(2))).toBeDefined();
    expect(findBox(image, grey(4))).toBeDefined();
    for (const k of [0, 1, 3, 5]) expect(findBox(image, grey(k))).toBeUndefined();
  });

  it('spreads a slice count over the mask extent', () => {
    const mask = new Uint8Array(6 * 4 * 5);
    for (let i = 3 * 20; i < 5 * 20; i++) mask[i] = 1;
    // A transparent overlay keeps each slice's grey level readable.
    const image = decodePng(renderMontage(indexVolume(0), [6, 4, 5], { mask, maskAlpha: 0, slices: 2, window: [0, 5], zoom: 1 }));
    expect(findBox(image, grey(3))).toBeDefined();
    expect(findBox(image, grey(4))).toBeDefined();
    for (const k of [0, 1, 2, 5]) expect(findBox(image, grey(k))).toBeUndefined();
  });

  it('overlays the mask volume', () => {
    const mask = new Uint8Array(6 * 4 * 5);
    mask[(2 * 4 + 1) * 5 + 3] = 1;
    const png = renderMontage(indexVolume(0), [6, 4, 5], { mask, slices: [2], window: [0, 5], zoom: 1, maskAlpha: 1, maskColor: [...GREEN] });
    const image = decodePng(png);
    const tile = findBox(image, (rgb) => isGrey(102)(rgb) || sameRgb(rgb, GREEN)) as Box;
    expectBoxSize(tile, 5, 4);
    expectOverlayMatches(
      { ...image, pixel: (x, y) => (isGrey(102)(image.pixel(x, y)) ? [128, 128, 128] : image.pixel(x, y)) },
      tile,
      (r, c) => r === 1 && c === 3,
    );
  });

  it('draws the title above the grid', () => {
    const volume = indexVolume(0);
    const titled = decodePng(renderMontage(volume, [6, 4, 5], { slices: [1], title: 'prediction', zoom: 1, window: [0, 5] }));
    const plain = decodePng(renderMontage(volume, [6, 4, 5], { slices: [1], zoom: 1, window: [0, 5] }));
    expect(titled.height).toBeGreaterThan(plain.height);
    expect((findBox(titled, grey(1)) as Box).top).toBeGreaterThan((findBox(plain, grey(1)) as Box).top);
  });

  const volume = new Float32Array(6 * 4 * 5);
  const rejections: Array<[string, () => unknown, ErrorConstructor, string]> = [
    ['shape of two axes', () => renderMontage(volume, [6, 20] as never), TypeError, 'shape'],
    ['shape with zero size', () => renderMontage(volume, [6, 0, 5]), RangeError, 'shape\\[1\\]'],
    ['volume of wrong length', () => renderMontage(volume, [6, 4, 4]), RangeError, 'volume'],
    ['mask of wrong length', () => renderMontage(volume, [6, 4, 5], { mask: new Uint8Array(3) }), RangeError, 'options\\.mask'],
    ['axis 3', () => renderMontage(volume, [6, 4, 5], { axis: 3 }), RangeError, 'options\\.axis'],
    ['slice index past the end', () => renderMontage(volume, [6, 4, 5], { slices: [2, 6] }), RangeError, 'options\\.slices\\[1\\]'],
    ['empty slice list', () => renderMontage(volume, [6, 4, 5], { slices: [] }), RangeError, 'options\\.slices'],
    ['zero columns', () => renderMontage(volume, [6, 4, 5], { columns: 0 }), RangeError, 'options\\.columns'],
    ['title not a string', () => renderMontage(volume, [6, 4, 5], { title: 1 as never }), TypeError, 'options\\.title'],
  ];
  for (const [name, call, errorClass, argument] of rejections) {
    it(`rejects: ${name}`, () => {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(errorClass);
      const error = caught as Error & { code?: string };
      expect(error.code).toBe(errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
      expect(error.message).toMatch(new RegExp(`^${argument} must`));
    });
  }
});

describe('writePng', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'medunet-png-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('writes the bytes and leaves no temporary file', async () => {
    const png = encodePng(createImage(3, 2, [10, 20, 30]));
    const path = join(directory, 'picture.png');
    await writePng(path, png);
    expect(await readFile(path)).toEqual(png);
    expect(await readdir(directory)).toEqual(['picture.png']);
    expect(decodePng(png).pixel(2, 1)).toEqual([10, 20, 30]);
  });

  it('replaces an existing file', async () => {
    const path = join(directory, 'picture.png');
    await writePng(path, encodePng(createImage(1, 1, [0, 0, 0])));
    const second = encodePng(createImage(2, 2, [255, 255, 255]));
    await writePng(path, second);
    expect(await readFile(path)).toEqual(second);
  });

  it('fails: missing directory, leaving nothing behind', async () => {
    const path = join(directory, 'missing', 'picture.png');
    await expect(writePng(path, encodePng(createImage(1, 1, [0, 0, 0])))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(directory)).toEqual([]);
  });

  it('rejects: bytes without the PNG signature', async () => {
    const error = await writePng(join(directory, 'x.png'), Buffer.from('not a png')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect((error as Error).message).toMatch(/^png must/);
  });

  it('rejects: empty path', async () => {
    const error = await writePng('', encodePng(createImage(1, 1, [0, 0, 0]))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect((error as Error).message).toMatch(/^path must/);
  });

  it('rejects: string in place of bytes', async () => {
    const error = await writePng(join(directory, 'x.png'), 'png' as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect((error as Error).message).toMatch(/^png must/);
  });
});
