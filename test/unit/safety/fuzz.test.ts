// SPDX-License-Identifier: MIT
//
// Property test of the whole exported surface: random arguments for every exported function,
// constructor, static method, instance method, getter and setter. Every call must return or
// throw an Error with a code (TypeError or RangeError for bad arguments), no process may die and
// no Promise may hang. The calls run in child processes (fuzz/runner.ts), one per batch, so an
// abort shows up here with the seed and the call that caused it.
//
// MEDUNET_FUZZ_RUNS sets the number of calls (default 8,000, which took 40 s on two busy cores),
// MEDUNET_FUZZ_SEED the seed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

import * as medunet from '../../../lib/index.js';
import { INSTANCE_FACTORIES, SURFACE } from './fuzz/surface.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RUNS = Number(process.env['MEDUNET_FUZZ_RUNS'] ?? 8000);
const SEED = Number(process.env['MEDUNET_FUZZ_SEED'] ?? 20261204);
const RUNS_PER_CHILD = 1000;
/** Wall-clock limit of one child process; a child still running then counts as hung. */
const CHILD_TIMEOUT_MS = 120_000;
/** Address-space limit of a child, so that a call asking for huge tensors fails instead of swapping. */
const CHILD_MEMORY_KB = 8_000_000;

interface LogRecord {
  ev: 'start' | 'end' | 'defect' | 'done';
  i: number;
  target?: string;
  args?: unknown;
  disposeReceiver?: boolean;
  problem?: string;
}

/** Bundles the runner with the library sources into build/, next to the addon it loads. */
function bundleRunner(): string {
  const outfile = join(root, 'build', 'fuzz', 'runner.mjs');
  mkdirSync(dirname(outfile), { recursive: true });
  buildSync({
    entryPoints: [join(root, 'test', 'unit', 'safety', 'fuzz', 'runner.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}

/** Runs one child from `start`; returns its log records and how it ended. */
function runChild(runner: string, workDir: string, start: number, runs: number): { records: LogRecord[]; exit: string | null } {
  const logFile = join(workDir, `log-${start}.jsonl`);
  const jobFile = join(workDir, `job-${start}.json`);
  writeFileSync(jobFile, JSON.stringify({ seed: SEED, start, runs, workDir, logFile, promiseTimeoutMs: 20_000 }));
  const command = `ulimit -v ${CHILD_MEMORY_KB}; exec "${process.execPath}" "${runner}" "${jobFile}"`;
  const result = spawnSync('sh', ['-c', command], { cwd: workDir, timeout: CHILD_TIMEOUT_MS, encoding: 'utf8', killSignal: 'SIGKILL' });
  const records = existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as LogRecord)
    : [];
  const finished = records.some((record) => record.ev === 'done');
  let exit: string | null = null;
  if (result.error !== undefined) exit = `the child failed: ${result.error.message}`;
  else if (!finished || result.status !== 0) {
    const stderr = (result.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    exit = `the child ended with status ${result.status} signal ${result.signal}: ${stderr}`;
  }
  return { records, exit };
}

function describeCall(record: LogRecord | undefined): string {
  if (record === undefined) return 'before the first call';
  const receiver = record.disposeReceiver ? ' (receiver disposed)' : '';
  return `run ${record.i}: ${record.target}${receiver} with ${JSON.stringify(record.args)}`;
}

describe('exported surface', () => {
  it('lists every export in the fuzz table', () => {
    const exported = Object.keys(medunet).sort();
    expect(exported).toEqual(Object.keys(SURFACE).sort());
  });

  it('has a valid instance for every class', () => {
    const classes = Object.entries(SURFACE).filter(([, kind]) => kind === 'class').map(([name]) => name);
    const missing = classes.filter((name) => name !== 'Tensor' && INSTANCE_FACTORIES[name] === undefined);
    expect(missing).toEqual([]);
    for (const name of Object.keys(INSTANCE_FACTORIES)) {
      const value = INSTANCE_FACTORIES[name]?.();
      expect(value, name).toBeInstanceOf((medunet as unknown as Record<string, new () => object>)[name]);
    }
  });

  it(`survives ${RUNS} calls with random arguments (seed ${SEED})`, () => {
    const runner = bundleRunner();
    const workDir = mkdtempSync(join(tmpdir(), 'medunet-fuzz-'));
    const defects: string[] = [];
    let start = 0;
    try {
      while (start < RUNS) {
        const runs = Math.min(RUNS_PER_CHILD, RUNS - start);
        const { records, exit } = runChild(runner, workDir, start, runs);
        const starts = new Map(records.filter((r) => r.ev === 'start').map((r) => [r.i, r]));
        for (const record of records.filter((r) => r.ev === 'defect')) {
          defects.push(`${describeCall(starts.get(record.i))}: ${record.problem}`);
        }
        const lastStart = [...starts.values()].pop();
        if (exit !== null) {
          defects.push(`${describeCall(lastStart)}: ${exit}`);
          // Resume after the call that killed the child, so one abort does not hide the others.
          start = lastStart === undefined ? start + runs : lastStart.i + 1;
        } else {
          start += runs;
        }
      }
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    expect(defects, `seed ${SEED}; set MEDUNET_FUZZ_SEED to repeat`).toEqual([]);
  }, 900_000);
});
