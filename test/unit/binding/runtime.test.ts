// SPDX-License-Identifier: MIT
//
// Threads, versions and worker threads.

import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const addonPath = process.env['MEDUNET_ADDON'] || join(root, 'build', 'Release', 'medunet.node');

/** Loads the addon in a new Node.js process with `env` added and returns its exit status and output. */
function loadInChild(env: Record<string, string>): { status: number | null; output: string } {
  const code = `console.log(require(${JSON.stringify(addonPath)}).getNumThreads())`;
  const result = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('threads', () => {
  it('sets and reads the intra-op thread count', () => {
    const before = native.getNumThreads();
    native.setNumThreads(1);
    expect(native.getNumThreads()).toBe(1);
    native.setNumThreads(before);
    expect(native.getNumThreads()).toBe(before);
  });

  it('takes the thread count from MEDUNET_NUM_THREADS', () => {
    const child = loadInChild({ MEDUNET_NUM_THREADS: '1' });
    expect(child.status).toBe(0);
    expect(child.output.trim()).toBe('1');
  });

  it('fails: loading with an invalid MEDUNET_NUM_THREADS', () => {
    const child = loadInChild({ MEDUNET_NUM_THREADS: 'many' });
    expect(child.status).not.toBe(0);
    expect(child.output).toContain("MEDUNET_NUM_THREADS must be an integer in [1, 1024]; got 'many'");
  });

  it('fails: loading with MEDUNET_NUM_THREADS above 1024', () => {
    const child = loadInChild({ MEDUNET_NUM_THREADS: '99999' });
    expect(child.status).not.toBe(0);
    expect(child.output).toContain("MEDUNET_NUM_THREADS must be an integer in [1, 1024]; got '99999'");
  });

  it('rejects: zero threads', () => {
    expectNativeError(() => native.setNumThreads(0), RangeError, 'ERR_OUT_OF_RANGE', /setNumThreads: n must be an integer in \[1, 1024\]; got 0/);
    expectNativeError(() => native.setBlasThreads(0), RangeError, 'ERR_OUT_OF_RANGE', /setBlasThreads: n must be an integer in \[1, 1024\]; got 0/);
  });

  it('rejects: a thread count above 1024', () => {
    expectNativeError(() => native.setNumThreads(99999), RangeError, 'ERR_OUT_OF_RANGE', /setNumThreads: n must be an integer in \[1, 1024\]; got 99999/);
  });

  it('reports whether OpenBLAS serves libtorch', () => {
    expect(typeof native.setBlasThreads(1)).toBe('boolean');
  });
});

describe('versions', () => {
  it('lists the build versions', () => {
    const packageVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    expect(native.versions.medunet).toBe(packageVersion);
    expect(native.versions.napi).toBe(8);
    expect(native.versions.torch).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.isFrozen(native.versions)).toBe(true);
  });
});

describe('worker threads', () => {
  it('imports the addon in a worker thread', async () => {
    // Worker threads run plain JavaScript, so lib/native.ts is compiled next to the package,
    // where its loader finds build/Release/medunet.node as it does from lib/.
    const folder = join(root, 'node_modules', '.cache', 'medunet-binding-test');
    mkdirSync(folder, { recursive: true });
    const source = readFileSync(join(root, 'lib', 'native.ts'), 'utf8');
    const compiled = await transform(source, { loader: 'ts', format: 'esm' });
    writeFileSync(join(folder, 'native.mjs'), compiled.code);
    const script = `
      import { parentPort } from 'node:worker_threads';
      import { native } from ${JSON.stringify(pathToFileURL(join(folder, 'native.mjs')).href)};
      const x = native.tensor([1, 2, 3], [3], 'float32', 'cpu', true);
      x.mul(x).sum().backward();
      parentPort.postMessage({ grad: Array.from(x.grad.data()), live: native.memoryStats().liveTensors });
    `;
    const mainTensor = native.ones([4]);
    const mainLive = native.memoryStats().liveTensors;
    const result = await new Promise<{ grad: number[]; live: number }>((resolve, reject) => {
      const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(script)}`));
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(result.grad).toEqual([2, 4, 6]);
    // Each environment counts its own handles: the worker has x, x * x, the sum and one grad read.
    expect(result.live).toBe(4);
    expect(native.memoryStats().liveTensors).toBe(mainLive);
    expect(mainTensor.sum().item()).toBe(4);
  });
});
