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
  if (!Array.isArray(value)) return false;
  // An index loop, not every(): see checkEach.
  for (let i = 0; i < value.length; i++) if (!isNonNegativeInt(value[i])) return false;
  return true;
}

/**
 * Calls `check` on each element of `array` in index order, reading holes as undefined, and
 * returns the results. Array methods such as every(), forEach() and map() skip holes but still
 * step through every index, so on a sparse array that claims billions of elements they run for
 * minutes. This loop stops at the first element that `check` rejects by throwing.
 */
export function checkEach<T>(array: readonly unknown[], check: (value: unknown, index: number) => T): T[] {
  const results: T[] = [];
  for (let i = 0; i < array.length; i++) results.push(check(array[i], i));
  return results;
}

/**
 * Throws unless `value` is a number; then a RangeError unless it lies in [min, max]. The message
 * leaves out a bound that keeps its default: "a number >= 0", "a number <= 1", "in [0, 1]".
 */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw typeError(name, 'a number', value);
  if (value < min || value > max) {
    let rule = `in [${min}, ${max}]`;
    if (max === Infinity) rule = `a number >= ${min}`;
    else if (min === -Infinity) rule = `a number <= ${max}`;
    throw rangeError(name, rule, value);
  }
  return value;
}

/**
 * Throws unless `value` is an integer in [min, max]. The message leaves out a bound that keeps its
 * default: "an integer >= 1", "an integer <= 10", "an integer in [0, 3]".
 */
export function checkInt(name: string, value: unknown, min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError(name, 'an integer', value);
  if (!Number.isSafeInteger(value)) throw rangeError(name, 'an integer', value);
  if (value < min || value > max) {
    let rule = `an integer in [${min}, ${max}]`;
    if (max === Number.MAX_SAFE_INTEGER) rule = `an integer >= ${min}`;
    else if (min === -Number.MAX_SAFE_INTEGER) rule = `an integer <= ${max}`;
    throw rangeError(name, rule, value);
  }
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

/**
 * Throws a RangeError with code ERR_OUT_OF_RANGE when `options` has a key outside `allowed`, so
 * that a misspelt option fails instead of leaving its default in place. The message names the
 * key, lists the options of `owner`, and suggests the closest one when it is near enough.
 *
 * @param name - How the object is named in messages, such as 'options'.
 * @param options - The object already checked by {@link checkOptions}.
 * @param allowed - The option names `owner` accepts.
 * @param owner - The class or function the options belong to, such as 'UNet'.
 * @example
 * checkKnownKeys('options', { basewidth: 8 }, ['inChannels', 'numClasses', 'baseWidth'], 'UNet');
 * // RangeError: options.basewidth is not an option of UNet; expected inChannels, numClasses or
 * // baseWidth (did you mean baseWidth?)
 */
export function checkKnownKeys(name: string, options: object, allowed: readonly string[], owner: string): void {
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const suggestion = closestName(key, allowed);
    const hint = suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
    const message = `${name}.${key} is not an option of ${owner}; expected ${listNames(allowed)}${hint}`;
    throw withCode(new RangeError(message), ErrorCode.OUT_OF_RANGE);
  }
}

/** Joins names as "a", "a or b", "a, b or c". */
function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/**
 * Returns the entry of `names` closest to `key`, ignoring case, when its edit distance is at most
 * a third of the key's length (at least 1), else undefined. A case-only difference has distance 0.
 */
function closestName(key: string, names: readonly string[]): string | undefined {
  const lowerKey = key.toLowerCase();
  const limit = Math.max(1, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const distance = editDistance(lowerKey, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
