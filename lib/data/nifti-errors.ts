// SPDX-License-Identifier: MIT
//
// Conversion of any failure while reading or writing a NIfTI file into a NiftiError that names
// the file, so callers see one error class whatever failed underneath (fs, zlib, decoding).

import { ErrorCode, NiftiError } from '../errors.js';

/** Runs `body`, turning any error other than NiftiError into one that names the path. @internal */
export function withNiftiErrors<T>(path: string, verb: 'read' | 'written', body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw asNiftiError(path, verb, error);
  }
}

/** Like `withNiftiErrors` for an async `body`. @internal */
export async function withNiftiErrorsAsync<T>(
  path: string,
  verb: 'read' | 'written',
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw asNiftiError(path, verb, error);
  }
}

function asNiftiError(path: string, verb: 'read' | 'written', error: unknown): Error {
  if (error instanceof NiftiError) return error;
  // Argument checks that need the header (such as a volume index) keep their own class and code.
  if (isArgumentError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (verb === 'read' && code === 'ENOENT') return new NiftiError(path, 'not found', { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new NiftiError(path, `could not be ${verb}: ${message}`, { cause: error });
}

function isArgumentError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    (error instanceof RangeError && code === ErrorCode.OUT_OF_RANGE) ||
    (error instanceof TypeError && code === ErrorCode.INVALID_ARG_TYPE)
  );
}
