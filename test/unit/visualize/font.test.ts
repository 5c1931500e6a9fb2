// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { createImage } from '../../../lib/visualize/canvas.js';
import type { RgbImage } from '../../../lib/visualize/canvas.js';
import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, hasGlyph, measureText } from '../../../lib/visualize/font.js';

const INK = [255, 255, 255] as const;
const PAPER = [0, 0, 0] as const;

/** Inked pixels of `text` drawn at (x, y) on a fresh canvas, as "x,y" strings. */
function inked(text: string, scale = 1, x = 0, y = 0, size = { width: 200, height: 40 }): Set<string> {
  const image = createImage(size.width, size.height, PAPER);
  drawText(image, text, x, y, INK, scale);
  return inkOf(image);
}

function inkOf(image: RgbImage): Set<string> {
  const pixels = new Set<string>();
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) if (image.data[3 * (y * image.width + x)] === 255) pixels.add(`${x},${y}`);
  }
  return pixels;
}

const PRINTABLE_ASCII = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i));

describe('font', () => {
  it('has a glyph for every printable ASCII character', () => {
    const missing = PRINTABLE_ASCII.filter((character) => !hasGlyph(character));
    expect(missing).toEqual([]);
  });

  it('reports no glyph for other characters', () => {
    expect(hasGlyph('\n')).toBe(false);
    expect(hasGlyph('\u00e9')).toBe(false);
    expect(hasGlyph('\uFFFD')).toBe(false);
  });

  it('draws a distinct bitmap for each character', () => {
    const seen = new Map<string, string>();
    for (const character of PRINTABLE_ASCII.slice(1)) {
      const key = [...inked(character)].sort().join(' ');
      expect(key, `${JSON.stringify(character)} draws nothing`).not.toBe('');
      expect(seen.get(key), `${JSON.stringify(character)} looks like ${JSON.stringify(seen.get(key))}`).toBeUndefined();
      seen.set(key, character);
    }
  });

  it('keeps ink inside the measured box', () => {
    for (const scale of [1, 2, 3]) {
      const text = 'Agjy|_,0';
      const { width, height } = measureText(text, scale);
      for (const pixel of inked(text, scale, 4, 3, { width: 200, height: 60 })) {
        const [x, y] = pixel.split(',').map(Number) as [number, number];
        expect(x).toBeGreaterThanOrEqual(4);
        expect(x).toBeLessThan(4 + width);
        expect(y).toBeGreaterThanOrEqual(3);
        expect(y).toBeLessThan(3 + height);
      }
    }
  });

  it('measures width from the glyph advance', () => {
    expect(measureText('')).toEqual({ width: 0, height: GLYPH_HEIGHT });
    expect(measureText('A')).toEqual({ width: GLYPH_WIDTH, height: GLYPH_HEIGHT });
    expect(measureText('AB').width).toBe(GLYPH_ADVANCE + GLYPH_WIDTH);
    expect(measureText('AB', 3)).toEqual({ width: 3 * (GLYPH_ADVANCE + GLYPH_WIDTH), height: 3 * GLYPH_HEIGHT });
    expect(measureText('\u00d7\u00b0').width).toBe(GLYPH_ADVANCE + GLYPH_WIDTH);
  });

  it('draws descenders below the baseline', () => {
    const belowBaseline = (text: string) => [...inked(text)].filter((pixel) => Number(pixel.split(',')[1]) >= 7);
    for (const character of 'gjpqy,;') expect(belowBaseline(character).length, character).toBeGreaterThan(0);
    for (const character of 'AaZz09.') expect(belowBaseline(character), character).toEqual([]);
  });

  it('scales each font pixel to a square', () => {
    const single = inked('Dice 0.95', 1);
    const double = inked('Dice 0.95', 2);
    expect(double.size).toBe(4 * single.size);
    for (const pixel of single) {
      const [x, y] = pixel.split(',').map(Number) as [number, number];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) expect(double.has(`${2 * x + dx},${2 * y + dy}`)).toBe(true);
    }
  });

  it('draws unknown characters as the replacement box', () => {
    expect(inked('\u00e9')).toEqual(inked('\uFFFD'));
    expect(inked('\n').size).toBeGreaterThan(0);
  });

  it('clips text at the image edges', () => {
    const image = createImage(8, 5, PAPER);
    drawText(image, 'Wide text', -3, -2, INK, 2);
    expect(inkOf(image).size).toBeGreaterThan(0);
    expect(image.data.length).toBe(8 * 5 * 3);
  });
});
