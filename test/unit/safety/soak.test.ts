// SPDX-License-Identifier: MIT
//
// Soak tests: 10,000 training steps and 10,000 single-slice predictions through the public
// trainModel and predictVolume paths must leave the live tensor count and the tensor bytes
// exactly where they were after warm-up, and resident memory within a small bound.
//
// The RSS bound is set below what a leak of one 16x16 float32 tensor per step would add over
// the 9,000 measured steps (1 KiB of data plus its handle, over 9 MiB in all).

import { describe, expect, it } from 'vitest';

import { Adam, DiceLoss, UNet, manualSeed, memoryStats, predictVolume, setNumThreads, trainModel, type TrainBatch } from '../../../lib/index.js';
import { liveTensorsAfterGc } from '../gc.js';

const STEPS = 10_000;
const WARM_UP = 1_000;
const SIZE = 16;
const MAX_RSS_GROWTH_MB = 6;

interface Sample {
  liveTensors: number;
  cpuBytes: number;
  rssMB: number;
}

/** Collects garbage, lets finalizers run, and reads the counters. */
async function sample(): Promise<Sample> {
  const liveTensors = await liveTensorsAfterGc();
  return { liveTensors, cpuBytes: memoryStats().cpuBytes, rssMB: process.memoryUsage.rss() / (1024 * 1024) };
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
