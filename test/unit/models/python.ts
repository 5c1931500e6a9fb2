// SPDX-License-Identifier: MIT
//
// Runs small PyTorch scripts for parity tests. Tests that need them skip, with this reason,
// when /usr/bin/python3 or its torch module is missing.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PYTHON = process.env['MEDUNET_PYTHON'] ?? '/usr/bin/python3';

function probeTorch(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} cannot import torch: ${probe.stderr.trim().split('\n').pop() ?? ''}`;
  return null;
}

/** Null when PyTorch is usable, else why the parity tests are skipped. */
export const torchMissingReason: string | null = probeTorch();

/**
 * The classic U-Net in PyTorch, with the module names medunet mirrors: the model classes of
 * scripts/gen-golden.py (from `class DoubleConv` to its padding helper), so the tests and the
 * fixtures use one definition.
 */
export const PYTHON_UNET = readPythonUNet();

function readPythonUNet(): string {
  const script = readFileSync(join(import.meta.dirname, '..', '..', '..', 'scripts', 'gen-golden.py'), 'utf8');
  const start = script.indexOf('class DoubleConv');
  const end = script.indexOf('\ndef padding_for', start);
  if (start < 0 || end < 0) throw new Error('scripts/gen-golden.py no longer defines class DoubleConv ... def padding_for');
  return ['import torch', 'import torch.nn as nn', 'import torch.nn.functional as F', '', script.slice(start, end)].join('\n');
}

/** Runs a Python script with torch and returns its standard output; throws with stderr on failure. */
export function runPython(script: string, args: string[] = []): string {
  const result = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (result.status !== 0) throw new Error(`python exited with ${result.status}:\n${result.stderr}`);
  return result.stdout;
}
