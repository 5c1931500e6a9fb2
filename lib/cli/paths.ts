// SPDX-License-Identifier: MIT
//
// Checks of the command's output paths, done before any work so that a bad path fails at once
// and never overwrites an input.

import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './options.js';

/** Returns the real path of an existing file, or the resolved path of a file not created yet. */
function canonical(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // A path that does not exist yet cannot be a link; its resolved form is its identity.
    return absolute;
  }
}

/**
 * Throws a UsageError when `--name PATH` would overwrite one of `inputs`, names a folder, or lies
 * in a folder path that is a file. Returns the absolute path.
 */
export function checkOutputFile(name: string, path: string, inputs: readonly string[]): string {
  const absolute = resolve(path);
  const target = canonical(absolute);
  for (const input of inputs) {
    if (canonical(input) === target) throw new UsageError(`--${name} ${path} is also an input file; choose another path so the input is kept`);
  }
  if (existsSync(absolute) && statSync(absolute).isDirectory()) throw new UsageError(`--${name} ${path} is a folder; give a file path`);
  checkParentFolder(name, absolute);
  return absolute;
}

/** Throws a UsageError when `--name DIR` exists as something other than a folder. Returns the absolute path. */
export function checkOutputFolder(name: string, path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute) && !statSync(absolute).isDirectory()) throw new UsageError(`--${name} ${path} is a file, not a folder`);
  checkParentFolder(name, absolute);
  return absolute;
}

/** Throws when some folder above `absolute` exists as a file, so it could not be created. */
function checkParentFolder(name: string, absolute: string): void {
  for (let dir = dirname(absolute); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new UsageError(`--${name} ${absolute}: ${dir} is a file, not a folder`);
      return;
    }
  }
}
