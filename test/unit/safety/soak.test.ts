// SPDX-License-Identifier: MIT
//
// Soak tests: 10,000 training steps and 10,000 single-slice predictions through the public
// trainModel and predictVolume paths, which run their batches on the executor's worker thread.
// Both threads must end with the live tensor count and tensor bytes they had after warm-up, and
// resident memory must stay within a bound.
//
// The exact counts catch a leaked tensor of any size. The RSS bound is for native memory that
// is not a tensor. With the worker, resident memory rises in steps for a while after warm-up as
// the second thread's heaps and allocator arenas grow: from step 1,000 to 10,000 it rose by 7 MB
// (training) and 14 to 40 MB (predictions, which start a worker session per call), then by
// 2 MB from 10,000 to 20,000 predictions. A leak of 8 KiB per step (72 MB over the 9,000
// measured steps) exceeds the bound.

import { describe, expect, it } from 'vitest';

import { Adam, DiceLoss, UNet, manualSeed, memoryStats, predictVolume, setNumThreads, trainModel, type TrainBatch } from '../../../lib/index.js';
import { executorMemoryStats } from '../../../lib/engine/executor.js';
import { liveTensorsAfterGc } from '../gc.js';

const STEPS = 10_000;
const WARM_UP = 1_000;
const SIZE = 16;
const MAX_RSS_GROWTH_MB = 64;

interface Sample {
  liveTensors: number;
  cpuBytes: number;
  workerTensors: number;
  workerBytes: number;
  rssMB: number;
}

/** Collects garbage, lets finalizers run, and reads the counters. */
async function sample(): Promise<Sample> {
  const liveTensors = await liveTensorsAfterGc();
  const worker = await executorMemoryStats();
  expect(worker, 'the executor worker runs').not.toBeNull();
  return {
    liveTensors,
    cpuBytes: memoryStats().cpuBytes,
    workerTensors: worker?.liveTensors ?? -1,
    workerBytes: worker?.cpuBytes ?? -1,
    rssMB: process.memoryUsage.rss() / (1024 * 1024),
  };
}

function smallUNet(): UNet {
  manualSeed(0);
  // A narrow UNet keeps each step short. 16x16 is the smallest slice that survives four 2x2
  // poolings; training uses batches of 2, because batch norm needs more than one value per
  // channel at the 1x1 bottleneck.
  return new UNet({ inChannels: 1, numClasses: 1, baseWidth: 2 });
}

function expectFlat(warm: Sample, end: Sample): void {
  expect(end.liveTensors).toBe(warm.liveTensors);
  expect(end.cpuBytes).toBe(warm.cpuBytes);
  expect(end.workerTensors).toBe(warm.workerTensors);
  expect(end.workerBytes).toBe(warm.workerBytes);
  expect(end.rssMB - warm.rssMB).toBeLessThan(MAX_RSS_GROWTH_MB);
}

describe('soak', () => {
  it('keeps memory flat over 10,000 training steps', async () => {
    setNumThreads(1);
    const model = smallUNet();
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    const images = new Float32Array(2 * SIZE * SIZE).map((_, i) => (i % 7) / 7);
    const masks = new Float32Array(2 * SIZE * SIZE).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const batch: TrainBatch = { images, masks, shape: [2, 1, SIZE, SIZE] };
    const samples: Sample[] = [];
    // The loader samples the counters between batches, after the previous step has finished.
    async function* loader(): AsyncGenerator<TrainBatch> {
      for (let step = 0; step < STEPS; step++) {
        if (step === WARM_UP) samples.push(await sample());
        yield batch;
      }
      samples.push(await sample());
    }

    await trainModel(model, loader(), optimizer, new DiceLoss(), 'cpu', 1);

    expect(samples).toHaveLength(2);
    expectFlat(samples[0] as Sample, samples[1] as Sample);
    optimizer.dispose();
    model.dispose();
  }, 900_000);

  it('keeps memory flat over 10,000 predictions', async () => {
    setNumThreads(1);
    const model = smallUNet();
    const volume = { data: new Float32Array(SIZE * SIZE).map((_, i) => i % 5), dims: [SIZE, SIZE, 1] };
    let warm: Sample | undefined;
    let foreground = -1;
    for (let call = 0; call < STEPS; call++) {
      if (call === WARM_UP) warm = await sample();
      const { mask } = await predictVolume(model, volume);
      if (call === 0) foreground = mask.reduce((sum, label) => sum + label, 0);
      else if (call % 1000 === 0) expect(mask.reduce((sum, label) => sum + label, 0)).toBe(foreground);
    }
    const end = await sample();

    expectFlat(warm as Sample, end);
    model.dispose();
  }, 900_000);
});
