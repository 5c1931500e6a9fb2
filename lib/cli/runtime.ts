// SPDX-License-Identifier: MIT
//
// Settings shared by every subcommand: the device and the CPU thread count.

import { resolveDevice } from '../device.js';
import { native } from '../native.js';
import { numberOption, stringOption, UsageError, type OptionValues } from './options.js';

/** Applies `--threads` and resolves `--device` to a concrete device such as 'cpu' or 'cuda:0'. */
export function applyRuntimeOptions(values: OptionValues): string {
  const threads = numberOption(values, 'threads', { integer: true, min: 1, max: 1024 });
  if (threads !== undefined) native.setNumThreads(threads);
  const device = stringOption(values, 'device') ?? 'auto';
  if (!/^(cpu|auto|cuda(:\d+)?)$/.test(device)) throw new UsageError(`--device must be cpu, cuda, cuda:N or auto; got ${JSON.stringify(device)}`);
  return resolveDevice(device);
}

/** Writes one line of results to standard output. */
export function writeLine(line: string): void {
  process.stdout.write(`${line}\n`);
}
