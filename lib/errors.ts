// SPDX-License-Identifier: MIT
//
// Error codes shared by the TypeScript layer and the addon. Every error medunet throws carries
// one of these as its `code` property, so callers can branch on it without parsing messages.

/** Stable error codes. */
export const ErrorCode = {
  /** An argument has the wrong JavaScript type (thrown as TypeError). */
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  /** An argument has the right type but a bad value (thrown as RangeError). */
  OUT_OF_RANGE: 'ERR_OUT_OF_RANGE',
  /** A libtorch operation failed (thrown as Error). */
  TORCH: 'ERR_TORCH',
  /** A tensor or optimizer was used after `dispose()` (thrown as Error). */
  DISPOSED: 'ERR_TENSOR_DISPOSED',
  /** A tensor or optimizer is in use by an off-thread step; await that step first (thrown as Error). */
  BUSY: 'ERR_TENSOR_BUSY',
  /** A module was used after `dispose()` (thrown as Error). */
  MODULE_DISPOSED: 'ERR_MODULE_DISPOSED',
  /** A method was called in a state that does not allow it, such as compute() before update() (thrown as Error). */
  INVALID_STATE: 'ERR_INVALID_STATE',
  /** A base-class method that subclasses must override was called (thrown as Error). */
  NOT_IMPLEMENTED: 'ERR_NOT_IMPLEMENTED',
  /** CUDA was requested but this build or machine has none. */
  CUDA_UNAVAILABLE: 'ERR_CUDA_UNAVAILABLE',
  /** A NIfTI file could not be read or written. */
  NIFTI: 'ERR_NIFTI',
  /** A checkpoint could not be read, written or applied. */
  CHECKPOINT: 'ERR_CHECKPOINT',
  /** A state dict does not fit a module (missing, unexpected or mis-shaped keys). */
  STATE_DICT: 'ERR_STATE_DICT',
  /** Training stopped because a batch's loss was NaN or infinite (thrown as Error). */
  NON_FINITE_LOSS: 'ERR_NON_FINITE_LOSS',
  /** The off-thread executor could not start or stopped unexpectedly (thrown as Error). */
  EXECUTOR: 'ERR_EXECUTOR',
  /** No native addon could be loaded from any of the places searched (thrown as Error). */
  ADDON_NOT_FOUND: 'ERR_ADDON_NOT_FOUND',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Attaches `code` to an error and returns it. */
export function withCode<E extends Error>(error: E, code: ErrorCodeValue): E & { code: ErrorCodeValue } {
  return Object.assign(error, { code });
}

/** Throws a TypeError unless the path and the reason of a file error are strings. */
function checkErrorArguments(path: unknown, reason: unknown): void {
  // validate.ts imports this module, so the message is built here in the same shape.
  for (const [name, value] of [['path', path], ['reason', reason]] as const) {
    if (typeof value !== 'string') {
      throw withCode(new TypeError(`${name} must be a string; got ${value === null ? 'null' : typeof value}`), ErrorCode.INVALID_ARG_TYPE);
    }
  }
}

/** A failure to read or write a NIfTI file; the message starts with the file's path. */
export class NiftiError extends Error {
  readonly code = ErrorCode.NIFTI;
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    checkErrorArguments(path, reason);
    super(`${path}: ${reason}`, options);
    this.name = 'NiftiError';
    this.path = path;
  }
}

/** A failure to read, write or apply a checkpoint; the message starts with the file's path. */
export class CheckpointError extends Error {
  readonly code = ErrorCode.CHECKPOINT;
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    checkErrorArguments(path, reason);
    super(`${path}: ${reason}`, options);
    this.name = 'CheckpointError';
    this.path = path;
  }
}
