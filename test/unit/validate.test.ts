// SPDX-License-Identifier: MIT
//
// Argument checks and the shape of their messages.

import { describe, expect, it } from 'vitest';

import { checkInt, checkKnownKeys, checkNumber } from '../../lib/validate.js';

/** Asserts that `call` throws a RangeError with code ERR_OUT_OF_RANGE and exactly `message`. */
function expectRangeError(call: () => unknown, message: string): void {
  expect(call).toThrow(RangeError);
  expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message }));
}

describe('checkInt', () => {
  // Each row: the bounds passed (undefined keeps the default), the value, the expected message.
  it.each([
    ['a lower bound only', 1, undefined, 0, 'n must be an integer >= 1; got 0'],
    ['an upper bound only', undefined, 10, 11, 'n must be an integer <= 10; got 11'],
    ['both bounds', 0, 3, 4, 'n must be an integer in [0, 3]; got 4'],
    ['a negative lower bound', -2, undefined, -3, 'n must be an integer >= -2; got -3'],
  ] as const)('rejects: a value outside %s', (_case, min, max, value, message) => {
    expectRangeError(() => checkInt('n', value, min, max), message);
  });

  it('rejects: a fraction without naming a range', () => {
    expectRangeError(() => checkInt('n', 1.5, 1), 'n must be an integer; got 1.5');
  });

  it('returns a value inside the bounds', () => {
    expect(checkInt('n', 1, 1)).toBe(1);
    expect(checkInt('n', Number.MAX_SAFE_INTEGER, 1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(checkInt('n', -Number.MAX_SAFE_INTEGER)).toBe(-Number.MAX_SAFE_INTEGER);
  });
});

describe('checkNumber', () => {
  it.each([
    ['a lower bound only', 0, undefined, -0.5, 'x must be a number >= 0; got -0.5'],
    ['an upper bound only', undefined, 1, 2, 'x must be a number <= 1; got 2'],
    ['both bounds', 0, 1, 1.5, 'x must be in [0, 1]; got 1.5'],
    ['a lower bound only, at infinity', 0, undefined, Number.NEGATIVE_INFINITY, 'x must be a number >= 0; got -Infinity'],
  ] as const)('rejects: a value outside %s', (_case, min, max, value, message) => {
    expectRangeError(() => checkNumber('x', value, min, max), message);
  });

  it('accepts infinity without bounds', () => {
    expect(checkNumber('x', Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('checkKnownKeys', () => {
  const allowed = ['inChannels', 'numClasses', 'baseWidth'];

  it('accepts known keys and an empty object', () => {
    expect(() => checkKnownKeys('options', { inChannels: 1, baseWidth: 8 }, allowed, 'UNet')).not.toThrow();
    expect(() => checkKnownKeys('options', {}, allowed, 'UNet')).not.toThrow();
  });

  // Each row: the unknown key, and the suggestion the message must end with ('' for none).
  it.each([
    ['basewidth', ' (did you mean baseWidth?)'],
    ['BASEWIDTH', ' (did you mean baseWidth?)'],
    ['numClass', ' (did you mean numClasses?)'],
    ['inChanels', ' (did you mean inChannels?)'],
    ['depth', ''],
    ['bilinear', ''],
  ])('rejects: the unknown key %s', (key, hint) => {
    expectRangeError(
      () => checkKnownKeys('options', { [key]: 1 }, allowed, 'UNet'),
      `options.${key} is not an option of UNet; expected inChannels, numClasses or baseWidth${hint}`,
    );
  });

  it('rejects: an unknown key next to known ones', () => {
    expectRangeError(
      () => checkKnownKeys('config', { lr: 1, step: 2 }, ['lr'], 'train'),
      'config.step is not an option of train; expected lr',
    );
  });

  it('lists two options with "or"', () => {
    expectRangeError(
      () => checkKnownKeys('options', { devise: 'cpu' }, ['device', 'strict'], 'loadModel'),
      'options.devise is not an option of loadModel; expected device or strict (did you mean device?)',
    );
  });
});
