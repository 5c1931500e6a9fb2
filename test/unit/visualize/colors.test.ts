// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { blendChannel, checkColor, greyLevel, percentileWindow } from '../../../lib/visualize/colors.js';

describe('percentileWindow', () => {
  it('returns exact order statistics', () => {
    const values = Float32Array.from({ length: 101 }, (_, i) => 100 - i);
    expect(percentileWindow(values)).toEqual({ low: 1, high: 99 });
    expect(percentileWindow(values, 0, 100)).toEqual({ low: 0, high: 100 });
  });

  it('interpolates between order statistics', () => {
    expect(percentileWindow([0, 10], 25, 50)).toEqual({ low: 2.5, high: 5 });
  });

  it('ignores NaN and infinite values', () => {
    expect(percentileWindow([NaN, 4, Infinity, 2, -Infinity], 0, 100)).toEqual({ low: 2, high: 4 });
  });

  it('returns an empty window without finite values', () => {
    expect(percentileWindow([])).toEqual({ low: 0, high: 0 });
    expect(percentileWindow([NaN, NaN])).toEqual({ low: 0, high: 0 });
  });
});

describe('greyLevel', () => {
  const window = { low: 10, high: 20 };

  it('maps the window linearly to 0..255', () => {
    expect(greyLevel(10, window)).toBe(0);
    expect(greyLevel(15, window)).toBe(128);
    expect(greyLevel(20, window)).toBe(255);
  });

  it('clamps outside the window', () => {
    expect(greyLevel(-1e9, window)).toBe(0);
    expect(greyLevel(1e9, window)).toBe(255);
    expect(greyLevel(Infinity, window)).toBe(255);
  });

  it('maps NaN to black', () => {
    expect(greyLevel(NaN, window)).toBe(0);
  });

  it('handles an empty window without NaN', () => {
    const constant = { low: 7, high: 7 };
    expect(greyLevel(7, constant)).toBe(0);
    expect(greyLevel(8, constant)).toBe(255);
    expect(greyLevel(6, constant)).toBe(0);
  });
});

describe('blendChannel', () => {
  it('mixes by alpha', () => {
    expect(blendChannel(100, 200, 0)).toBe(100);
    expect(blendChannel(100, 200, 1)).toBe(200);
    expect(blendChannel(100, 200, 0.25)).toBe(125);
  });
});

describe('checkColor', () => {
  it('accepts an RGB triple', () => {
    expect(checkColor('color', [0, 128, 255])).toEqual([0, 128, 255]);
  });

  const rejections: Array<[string, unknown, ErrorConstructor]> = [
    ['string colour', '#ff0000', TypeError],
    ['four channels', [1, 2, 3, 4], RangeError],
    ['channel above 255', [0, 0, 256], RangeError],
    ['fractional channel', [0, 0.5, 0], RangeError],
    ['string channel', [0, '1', 0], TypeError],
  ];
  for (const [name, value, errorClass] of rejections) {
    it(`rejects: ${name}`, () => {
      let caught: unknown;
      try {
        checkColor('options.maskColor', value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(errorClass);
      expect((caught as { code?: string }).code).toBe(errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
      expect((caught as Error).message).toMatch(/^options\.maskColor must/);
    });
  }
});
