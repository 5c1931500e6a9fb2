// SPDX-License-Identifier: MIT
//
// Predicates and one error builder for public arguments, so that every message reads alike:
// "<name> must be <rule>; got <value>".

import { ErrorCode, withCode } from './errors.js';

/** Formats a received value for an error message: its value for primitives, its type otherwise. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describe).join(', ')}]` : `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name ? `an instance of ${name}` : 'an object';
}

/** A TypeError with code ERR_INVALID_ARG_TYPE: "`name` must be <expected>; got <value>". */
export function typeError(name: string, expected: string, value: unknown): TypeError {
  return withCode(new TypeError(`${name} must be ${expected}; got ${describe(value)}`), ErrorCode.INVALID_ARG_TYPE);
}

/** A RangeError with code ERR_OUT_OF_RANGE: "`name` must be <expected>; got <value>". */
export function rangeError(name: string, expected: string, value: unknown): RangeError {
  return withCode(new RangeError(`${name} must be ${expected}; got ${describe(value)}`), ErrorCode.OUT_OF_RANGE);
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isPositiveInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

export function isNonNegativeInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every(isNonNegativeInt);
}

/** Throws unless `value` is a number; then a RangeError unless it lies in [min, max]. */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw typeError(name, 'a number', value);
  if (value < min || value > max) throw rangeError(name, `in [${min}, ${max}]`, value);
  return value;
}

/** Throws unless `value` is an integer in [min, max]. */
export function checkInt(name: string, value: unknown, min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError(name, 'an integer', value);
  if (!Number.isSafeInteger(value)) throw rangeError(name, 'an integer', value);
  if (value < min || value > max) throw rangeError(name, `an integer in [${min}, ${max}]`, value);
  return value;
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean', value);
  return value;
}

/** Throws unless `value` is one of `choices`. */
export function checkOneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string') throw typeError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  if (!(choices as readonly string[]).includes(value)) {
    throw rangeError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Throws unless `value` is a non-empty string. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(name, 'a string', value);
  if (value.length === 0) throw rangeError(name, 'a non-empty string', value);
  return value;
}

/** Throws unless `value` is a plain object (or undefined, which becomes {}). */
export function checkOptions<T extends object>(name: string, value: unknown): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(name, 'an object', value);
  return value as Partial<T>;
}
