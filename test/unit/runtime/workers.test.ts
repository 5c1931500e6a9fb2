// SPDX-License-Identifier: MIT
//
// The addon in worker threads. Several workers train, predict and save checkpoints at once while
// the main thread trains too. Workers exit, also with live tensors or when terminated in the
// middle of work, without disturbing the main thread, and new workers start again.
//
// Workers load the compiled package (dist/index.js), because a worker thread cannot import the
// TypeScript sources that vitest transforms. The main thread uses the same build. Run
// `npm run build` first.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from './worker-job.mjs';

type Medunet = typeof import('../../../lib/index.js');
type JobResult = Awaited<ReturnType<typeof runJob>>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const ENTRY = join(ROOT, 'dist', 'index.js');
const WORKER = new URL('./worker-entry.mjs', import.meta.url);
const distMissing = existsSync(ENTRY) ? false : 'dist/index.js is missing; run `npm run build` first';

/** Adam steps per job. */
const STEPS = 3;
/** Rounds of three workers in the repeated-start test. */
const ROUNDS = 4;
/**
 * Maximum growth of the process's resident memory, in bytes, from the end of the first round
 * to the end of the last. Over 8 rounds, the resident memory levelled off within 20 MB of the
 * first round's (measured on a 2-core x86-64 Linux machine). A leak of whole workers, each with
 * its own V8 heap and tensors, would add several MB per worker and round.
 */
const RSS_GROWTH_LIMIT = 64 * 1024 * 1024;

const folder = mkdtempSync(join(tmpdir(), 'medunet-workers-'));
let medunet: Medunet;

beforeAll(async () => {
  if (distMissing === false) medunet = (await import(pathToFileURL(ENTRY).href)) as Medunet;
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Starts a worker on `task` and resolves with its last message once it has exited with code 0. */
function runWorker<T>(task: string, data: Record<string, unknown> = {}): Promise<T> {
  const worker = new Worker(WORKER, { workerData: { task, entry: pathToFileURL(ENTRY).href, folder, ...data } });
  return new Promise<T>((resolve, reject) => {
    let last: T | undefined;
    worker.on('message', (message: T) => {
      last = message;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code === 0) resolve(last as T);
      else reject(new Error(`worker ${task} exited with code ${code}`));
    });
  });
}

/** The main thread's memoryStats() once garbage handles are collected and their finalizers ran. */
async function settledStats(): Promise<ReturnType<Medunet['memoryStats']>> {
  for (let round = 0; round < 3; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return medunet.memoryStats();
}

function job(seed: number): Promise<{ result: JobResult }> {
  return runWorker('job', { seed, steps: STEPS });
}

describe.skipIf(distMissing !== false)(`the addon in worker threads${distMissing === false ? '' : ` (skipped: ${distMissing})`}`, () => {
  it('workers and main thread match single-thread runs', async () => {
    const seeds = [1, 2, 3];
    const mainSeed = 4;
    const expected = new Map<number, JobResult>();
    for (const seed of [...seeds, mainSeed]) expected.set(seed, await runJob(medunet, { seed, steps: STEPS, folder }));

    const before = await settledStats();
    const workers = Promise.all(seeds.map((seed) => job(seed)));
    const main = await runJob(medunet, { seed: mainSeed, steps: STEPS, folder });
    const results = await workers;

    expect(main).toEqual(expected.get(mainSeed));
    for (const [index, seed] of seeds.entries()) {
      const { result } = results[index]!;
      expect(result).toEqual(expected.get(seed));
      // The reloaded models give the trained model's output, with either form of save and load.
      expect(result.reloaded[0]).toEqual(result.output);
      expect(result.reloaded[1]).toEqual(result.output);
    }
    expect(await settledStats()).toEqual(before);
  });

  it('repeated rounds of workers keep memory bounded', async () => {
    const before = await settledStats();
    const rss: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all([11, 12, 13].map((seed) => job(seed)));
      expect(results.map(({ result }) => result.losses.length)).toEqual([STEPS, STEPS, STEPS]);
      await settledStats();
      rss.push(process.memoryUsage().rss);
    }
    expect(await settledStats()).toEqual(before);
    expect(rss[ROUNDS - 1]! - rss[0]!).toBeLessThan(RSS_GROWTH_LIMIT);
  });

  it('workers exit with live tensors and an optimizer', async () => {
    const before = await settledStats();
    const messages = await Promise.all([1, 2, 3].map(() => runWorker<string>('leave')));
    expect(messages).toEqual(['ready', 'ready', 'ready']);
    expect(await settledStats()).toEqual(before);
    const { result } = await job(21);
    expect(result.losses).toHaveLength(STEPS);
  });

  it('worker terminated mid-training', async () => {
    const before = await settledStats();
    const worker = new Worker(WORKER, { workerData: { task: 'spin', entry: pathToFileURL(ENTRY).href } });
    let steps = 0;
    await new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', () => {
        steps += 1;
        if (steps === 3) resolve();
      });
    });
    expect(await worker.terminate()).toBe(1);
    expect(await settledStats()).toEqual(before);
    const { result } = await job(22);
    expect(result.losses).toHaveLength(STEPS);
  });

  it('worker terminated while loading a checkpoint', async () => {
    const path = join(folder, 'width16.pt');
    const model = new medunet.UNet({ baseWidth: 16 });
    medunet.saveCheckpoint(path, model);
    model.dispose();
    const before = await settledStats();
    for (const loadsBeforeTerminate of [1, 2]) {
      const worker = new Worker(WORKER, { workerData: { task: 'load', path, entry: pathToFileURL(ENTRY).href } });
      let started = 0;
      await new Promise<void>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', () => {
          started += 1;
          if (started === loadsBeforeTerminate) resolve();
        });
      });
      // The load that was just queued is still running on the thread pool.
      expect(await worker.terminate()).toBe(1);
    }
    expect(await settledStats()).toEqual(before);
    const { result } = await job(23);
    expect(result.losses).toHaveLength(STEPS);
  });

  it('manualSeed is shared by every thread', async () => {
    // libtorch's default CPU generator is one per process, so a worker's manualSeed reseeds
    // the main thread's generator too.
    medunet.manualSeed(5);
    const seeded5 = medunet.rand([4]).data();
    medunet.manualSeed(99);
    const seeded99 = medunet.rand([4]).data();
    medunet.manualSeed(5);
    expect(await runWorker<string>('seed', { seed: 99 })).toBe('done');
    const afterWorker = medunet.rand([4]).data();
    expect(afterWorker).toEqual(seeded99);
    expect(afterWorker).not.toEqual(seeded5);
  });
});
