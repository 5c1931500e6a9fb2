// SPDX-License-Identifier: MIT
//
// Device names as PyTorch spells them ('cpu', 'cuda', 'cuda:1'), checked against what this
// build of libtorch and this machine provide.

import { ErrorCode, withCode } from './errors.js';
import { native } from './native.js';
import { rangeError, typeError } from './validate.js';

/** A device request: a concrete device, or 'auto' for CUDA when present and the CPU otherwise. */
export type DeviceSpec = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

/**
 * Turns a device request into a concrete device string: 'cpu' or 'cuda:N'.
 *
 * 'auto' picks 'cuda:0' when libtorch reports a CUDA device and 'cpu' otherwise; 'cuda' means
 * 'cuda:0'.
 *
 * @param spec - 'cpu', 'cuda', 'cuda:N' or 'auto'; default 'auto'.
 * @param name - Argument name used in error messages; default 'device'.
 * @returns 'cpu' or 'cuda:N'.
 * @throws TypeError for a non-string; RangeError for another spelling; Error with code
 *   ERR_CUDA_UNAVAILABLE when CUDA is requested but absent, or N is not below the device count.
 * @example
 * const device = resolveDevice('auto');
 * @see https://pytorch.org/docs/stable/tensor_attributes.html#torch.device
 */
export function resolveDevice(spec: DeviceSpec | string = 'auto', name = 'device'): string {
  if (typeof name !== 'string') throw typeError('name', 'a string', name);
  if (typeof spec !== 'string') throw typeError(name, "'cpu', 'cuda', 'cuda:N' or 'auto'", spec);
  if (spec === 'cpu') return 'cpu';
  if (spec === 'auto') return native.cudaIsAvailable() ? 'cuda:0' : 'cpu';
  const match = /^cuda(?::(\d+))?$/.exec(spec);
  if (match === null) throw rangeError(name, "'cpu', 'cuda', 'cuda:N' or 'auto'", spec);
  const index = match[1] === undefined ? 0 : Number(match[1]);
  if (!native.cudaIsAvailable()) {
    const build = native.versions.cuda === null ? 'this libtorch build has no CUDA support' : 'no CUDA device is visible';
    throw withCode(
      new Error(`${name} ${JSON.stringify(spec)} is unavailable: ${build}; use 'cpu' or 'auto'`),
      ErrorCode.CUDA_UNAVAILABLE,
    );
  }
  const count = native.cudaDeviceCount();
  if (index >= count) {
    throw withCode(
      new Error(`${name} ${JSON.stringify(spec)} is unavailable: ${count} CUDA device(s) are visible (cuda:0 to cuda:${count - 1})`),
      ErrorCode.CUDA_UNAVAILABLE,
    );
  }
  return `cuda:${index}`;
}

/** Returns whether libtorch reports at least one CUDA device (`torch.cuda.is_available()`). */
export function cudaIsAvailable(): boolean {
  return native.cudaIsAvailable();
}

/** Returns the number of CUDA devices libtorch reports (`torch.cuda.device_count()`). */
export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

/** Returns true when two device strings name the same device ('cuda' and 'cuda:0' do). */
export function sameDevice(a: string, b: string): boolean {
  const canonical = (d: string): string => (d === 'cuda' ? 'cuda:0' : d);
  return canonical(a) === canonical(b);
}
