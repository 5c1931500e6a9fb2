// SPDX-License-Identifier: MIT
//
// Garbage collection of tensors that are never disposed, and what memoryStats() counts.
// The addon reports each storage's bytes to V8 as external memory, so that V8 collects
// small JavaScript handles that keep large native buffers alive.

import { describe, expect, it } from 'vitest';

import { memoryStats, ones, zeros } from '../../../lib/index.js';
import { liveTensorsAfterGc } from '../gc.js';

const MB = 1024 * 1024;

function rssMB(): number {
  return process.memoryUsage.rss() / MB;
}

describe('garbage collection', () => {
  // Node runs Node-API finalizers on the event loop after the collection that found the handles
  // dead, so native memory comes back only when the code that dropped the tensors yields.

  it('reclaims dropped tensors in a loop that yields', async () => {
    const startCount = await liveTensorsAfterGc();
    const startRss = rssMB();
    let peakRss = startRss;
    // 400 tensors of 1 MiB each, written so that their pages are resident. Nothing calls gc()
    // here: only the external-memory report can make V8 collect the small handles.
    for (let i = 0; i < 400; i++) {
      ones([256 * 1024]);
      if (i % 10 === 9) {
        peakRss = Math.max(peakRss, rssMB());
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect(peakRss - startRss).toBeLessThan(250);
    expect(await liveTensorsAfterGc()).toBe(startCount);
    expect(rssMB() - startRss).toBeLessThan(100);
  });

  it('reclaims dropped tensors after a synchronous loop', async () => {
    const startCount = await liveTensorsAfterGc();
    const startBytes = memoryStats().cpuBytes;
    for (let i = 0; i < 200; i++) ones([256 * 1024]);
    // Until this test yields, every dropped tensor still holds its memory.
    expect(memoryStats().cpuBytes - startBytes).toBeGreaterThan(100 * MB);
    expect(await liveTensorsAfterGc()).toBe(startCount);
    expect(memoryStats().cpuBytes).toBe(startBytes);
  });
});

describe('memoryStats', () => {
  it('counts a tensor and its bytes', () => {
    const start = memoryStats();
    const x = zeros([64, 64], { dtype: 'float64' });
    const stats = memoryStats();
    expect(stats.liveTensors).toBe(start.liveTensors + 1);
    expect(stats.cpuBytes).toBe(start.cpuBytes + 64 * 64 * 8);
    expect(stats.cudaBytes).toBe(start.cudaBytes);
    x.dispose();
    expect(memoryStats()).toEqual(start);
  });

  it('counts shared storage once across views and aliases', () => {
    const start = memoryStats();
    const base = zeros([1000]);
    const views = [base.reshape([10, 100]), base.narrow(0, 10, 20), base.detach(), base.select(0, 3)];
    const stats = memoryStats();
    expect(stats.liveTensors).toBe(start.liveTensors + 5);
    expect(stats.cpuBytes).toBe(start.cpuBytes + 4000);
    base.dispose();
    // The views keep the whole storage alive, so its bytes are still counted.
    expect(memoryStats().cpuBytes).toBe(start.cpuBytes + 4000);
    for (const view of views) view.dispose();
    expect(memoryStats()).toEqual(start);
  });

  it('counts a copy as new storage', () => {
    const start = memoryStats();
    const base = zeros([1000]);
    const copy = base.clone();
    expect(memoryStats().cpuBytes).toBe(start.cpuBytes + 8000);
    base.dispose();
    copy.dispose();
    expect(memoryStats()).toEqual(start);
  });

  it('counts each read of a gradient as a handle on one storage', () => {
    const weight = ones([100], { requiresGrad: true });
    weight.mul(2).sum().backward();
    const start = memoryStats();
    const first = weight.grad;
    const second = weight.grad;
    const stats = memoryStats();
    expect(stats.liveTensors).toBe(start.liveTensors + 2);
    // The gradient's storage is owned by the parameter and was not counted before the reads.
    expect(stats.cpuBytes).toBe(start.cpuBytes + 400);
    first?.dispose();
    second?.dispose();
    expect(memoryStats()).toEqual(start);
    weight.dispose();
  });
});
