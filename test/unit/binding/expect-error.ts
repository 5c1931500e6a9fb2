// SPDX-License-Identifier: MIT
//
// Assertion helper for the addon's errors: the class, the `code` property and the message.

import { expect } from 'vitest';

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

/** Calls `fn`, expects it to throw an instance of `errorClass` with `code`, and returns the error. */
export function expectNativeError(fn: () => unknown, errorClass: ErrorClass, code: string, message: RegExp): Error {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'the call did not throw').toBeInstanceOf(errorClass);
  const error = thrown as Error & { code?: unknown };
  expect(error.constructor).toBe(errorClass);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  return error;
}
