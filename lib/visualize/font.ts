// SPDX-License-Identifier: MIT
//
// A 5x9 bitmap font for titles and captions in rendered pictures, so that drawing text needs
// no font files or system libraries. Each glyph is 5 pixels wide. Rows 0-6 contain capitals,
// digits and the body of lowercase letters (x-height rows 2-6). Rows 7-8 contain descenders
// (g, j, p, q, y, comma, semicolon). Glyphs advance by 6 pixels, leaving one blank column.

import type { RgbImage } from './canvas.js';
import { setPixel } from './canvas.js';
import type { Rgb } from './colors.js';

/** Width of one glyph in pixels at scale 1. */
export const GLYPH_WIDTH = 5;
/** Height of one glyph cell in pixels at scale 1, descenders included. */
export const GLYPH_HEIGHT = 9;
/** Horizontal distance between the left edges of two neighbouring glyphs at scale 1. */
export const GLYPH_ADVANCE = 6;

// One string per glyph: rows from the top separated by '/', '#' for an inked pixel and '.' for a
// blank one. Rows left out at the bottom are blank.
const GLYPH_ROWS: Record<string, string> = {
  ' ': '',
  A: '.###./#...#/#...#/#####/#...#/#...#/#...#',
  B: '####./#...#/#...#/####./#...#/#...#/####.',
  C: '.###./#...#/#..../#..../#..../#...#/.###.',
  D: '####./#...#/#...#/#...#/#...#/#...#/####.',
  E: '#####/#..../#..../####./#..../#..../#####',
  F: '#####/#..../#..../####./#..../#..../#....',
  G: '.###./#...#/#..../#.###/#...#/#...#/.####',
  H: '#...#/#...#/#...#/#####/#...#/#...#/#...#',
  I: '.###./..#../..#../..#../..#../..#../.###.',
  J: '..###/...#./...#./...#./...#./#..#./.##..',
  K: '#...#/#..#./#.#../##.../#.#../#..#./#...#',
  L: '#..../#..../#..../#..../#..../#..../#####',
  M: '#...#/##.##/#.#.#/#.#.#/#...#/#...#/#...#',
  N: '#...#/#...#/##..#/#.#.#/#..##/#...#/#...#',
  O: '.###./#...#/#...#/#...#/#...#/#...#/.###.',
  P: '####./#...#/#...#/####./#..../#..../#....',
  Q: '.###./#...#/#...#/#...#/#.#.#/#..#./.##.#',
  R: '####./#...#/#...#/####./#.#../#..#./#...#',
  S: '.####/#..../#..../.###./....#/....#/####.',
  T: '#####/..#../..#../..#../..#../..#../..#..',
  U: '#...#/#...#/#...#/#...#/#...#/#...#/.###.',
  V: '#...#/#...#/#...#/#...#/#...#/.#.#./..#..',
  W: '#...#/#...#/#...#/#.#.#/#.#.#/#.#.#/.#.#.',
  X: '#...#/#...#/.#.#./..#../.#.#./#...#/#...#',
  Y: '#...#/#...#/.#.#./..#../..#../..#../..#..',
  Z: '#####/....#/...#./..#../.#.../#..../#####',
  a: '...../...../.###./....#/.####/#...#/.####',
  b: '#..../#..../#.##./##..#/#...#/#...#/####.',
  c: '...../...../.###./#..../#..../#...#/.###.',
  d: '....#/....#/.##.#/#..##/#...#/#...#/.####',
  e: '...../...../.###./#...#/#####/#..../.###.',
  f: '..##./.#..#/.#.../###../.#.../.#.../.#...',
  g: '...../...../.####/#...#/#...#/#...#/.####/....#/.###.',
  h: '#..../#..../#.##./##..#/#...#/#...#/#...#',
  i: '..#../...../.##../..#../..#../..#../.###.',
  j: '...#./...../..##./...#./...#./...#./...#./#..#./.##..',
  k: '#..../#..../#..#./#.#../##.../#.#../#..#.',
  l: '.##../..#../..#../..#../..#../..#../.###.',
  m: '...../...../##.#./#.#.#/#.#.#/#.#.#/#.#.#',
  n: '...../...../#.##./##..#/#...#/#...#/#...#',
  o: '...../...../.###./#...#/#...#/#...#/.###.',
  p: '...../...../####./#...#/#...#/#...#/####./#..../#....',
  q: '...../...../.####/#...#/#...#/#...#/.####/....#/....#',
  r: '...../...../#.##./##..#/#..../#..../#....',
  s: '...../...../.####/#..../.###./....#/####.',
  t: '.#.../.#.../###../.#.../.#.../.#..#/..##.',
  u: '...../...../#...#/#...#/#...#/#..##/.##.#',
  v: '...../...../#...#/#...#/#...#/.#.#./..#..',
  w: '...../...../#...#/#...#/#.#.#/#.#.#/.#.#.',
  x: '...../...../#...#/.#.#./..#../.#.#./#...#',
  y: '...../...../#...#/#...#/#...#/#...#/.####/....#/.###.',
  z: '...../...../#####/...#./..#../.#.../#####',
  '0': '.###./#...#/#..##/#.#.#/##..#/#...#/.###.',
  '1': '..#../.##../..#../..#../..#../..#../.###.',
  '2': '.###./#...#/....#/...#./..#../.#.../#####',
  '3': '#####/...#./..#../...#./....#/#...#/.###.',
  '4': '...#./..##./.#.#./#..#./#####/...#./...#.',
  '5': '#####/#..../####./....#/....#/#...#/.###.',
  '6': '..##./.#.../#..../####./#...#/#...#/.###.',
  '7': '#####/....#/...#./..#../.#.../.#.../.#...',
  '8': '.###./#...#/#...#/.###./#...#/#...#/.###.',
  '9': '.###./#...#/#...#/.####/....#/...#./.##..',
  '.': '...../...../...../...../...../.##../.##..',
  ',': '...../...../...../...../...../.##../.##../..#../.#...',
  ':': '...../.##../.##../...../.##../.##../.....',
  ';': '...../.##../.##../...../.##../.##../..#../.#...',
  '!': '..#../..#../..#../..#../..#../...../..#..',
  '?': '.###./#...#/....#/...#./..#../...../..#..',
  "'": '..#../..#../.#...',
  '"': '.#.#./.#.#./.#.#.',
  '`': '.#.../..#..',
  '-': '...../...../...../.###.',
  '+': '...../..#../..#../#####/..#../..#..',
  '=': '...../...../#####/...../#####',
  '_': '...../...../...../...../...../...../#####',
  '*': '...../..#../#.#.#/.###./#.#.#/..#..',
  '/': '....#/....#/...#./..#../.#.../#..../#....',
  '\\': '#..../#..../.#.../..#../...#./....#/....#',
  '|': '..#../..#../..#../..#../..#../..#../..#..',
  '(': '...#./..#../.#.../.#.../.#.../..#../...#.',
  ')': '.#.../..#../...#./...#./...#./..#../.#...',
  '[': '.###./.#.../.#.../.#.../.#.../.#.../.###.',
  ']': '.###./...#./...#./...#./...#./...#./.###.',
  '{': '..##./.#.../.#.../#..../.#.../.#.../..##.',
  '}': '.##../...#./...#./....#/...#./...#./.##..',
  '<': '...#./..#../.#.../#..../.#.../..#../...#.',
  '>': '.#.../..#../...#./....#/...#./..#../.#...',
  '%': '##..#/##..#/...#./..#../.#.../#..##/#..##',
  '#': '.#.#./.#.#./#####/.#.#./#####/.#.#./.#.#.',
  '&': '.##../#..#./#.#../.#.../#.#.#/#..#./.##.#',
  '@': '.###./#...#/#.###/#.#.#/#.###/#..../.###.',
  $: '..#../.####/#.#../.###./..#.#/####./..#..',
  '^': '..#../.#.#./#...#',
  '~': '...../...../.#.../#.#.#/...#.',
  '×': '...../#...#/.#.#./..#../.#.#./#...#',
  '°': '.##../#..#./#..#./.##..',
  '±': '..#../..#../#####/..#../..#../...../#####',
  // Drawn for any character without a glyph of its own.
  '\uFFFD': '#####/#...#/#...#/#...#/#...#/#...#/#####',
};

const REPLACEMENT = '\uFFFD';

/** Inked pixels of each glyph, one row of `GLYPH_WIDTH` flags per line, `GLYPH_HEIGHT` rows. */
const GLYPHS: ReadonlyMap<string, readonly boolean[][]> = new Map(
  Object.entries(GLYPH_ROWS).map(([character, rows]) => [character, parseGlyph(character, rows)]),
);

function parseGlyph(character: string, rows: string): boolean[][] {
  const lines = rows === '' ? [] : rows.split('/');
  if (lines.length > GLYPH_HEIGHT || lines.some((line) => line.length !== GLYPH_WIDTH)) {
    throw new Error(`glyph for ${JSON.stringify(character)} is not ${GLYPH_WIDTH} pixels wide and at most ${GLYPH_HEIGHT} high`);
  }
  const bitmap: boolean[][] = [];
  for (let row = 0; row < GLYPH_HEIGHT; row++) {
    const line = lines[row] ?? '.'.repeat(GLYPH_WIDTH);
    bitmap.push([...line].map((pixel) => pixel === '#'));
  }
  return bitmap;
}

/** Returns whether `character` has a glyph of its own. Other characters draw as a hollow box. */
export function hasGlyph(character: string): boolean {
  return character !== REPLACEMENT && GLYPHS.has(character);
}

/** Returns the size in pixels of `text` drawn at integer `scale`. An empty string is 0 wide. */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const length = [...text].length;
  const width = length === 0 ? 0 : (length * GLYPH_ADVANCE - (GLYPH_ADVANCE - GLYPH_WIDTH)) * scale;
  return { width, height: GLYPH_HEIGHT * scale };
}

/**
 * Draws one line of `text` with its top-left corner at (x, y), each font pixel as a
 * `scale` x `scale` square. Pixels that fall outside the image are clipped. Characters without
 * a glyph, line breaks included, draw as a hollow box.
 */
export function drawText(image: RgbImage, text: string, x: number, y: number, color: Rgb, scale = 1): void {
  let left = x;
  for (const character of text) {
    const glyph = GLYPHS.get(character) ?? (GLYPHS.get(REPLACEMENT) as readonly boolean[][]);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      for (let column = 0; column < GLYPH_WIDTH; column++) {
        if (glyph[row]?.[column]) fillSquare(image, left + column * scale, y + row * scale, scale, color);
      }
    }
    left += GLYPH_ADVANCE * scale;
  }
}

function fillSquare(image: RgbImage, x: number, y: number, size: number, color: Rgb): void {
  for (let dy = 0; dy < size; dy++) {
    for (let dx = 0; dx < size; dx++) setPixel(image, x + dx, y + dy, color);
  }
}
