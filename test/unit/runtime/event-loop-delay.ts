// SPDX-License-Identifier: MIT
//
// Measures how long the event loop is blocked while a piece of work runs.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Sampling interval of the delay histogram, in ms. */
export const DELAY_RESOLUTION_MS = 5;

/**
 * Runs `work` while node:perf_hooks samples the event loop every {@link DELAY_RESOLUTION_MS} ms,
 * and returns its result with the maximum delay seen, in ms. The maximum includes one sampling
 * interval. A blocking stretch at the end of `work` is only recorded when the next sample runs,
 * so the measurement waits a few intervals after `work` settles.
 */
export async function measureMaxDelay<T>(work: () => Promise<T> | T): Promise<{ result: T; maxDelayMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  histogram.enable();
  try {
    await sleep(3 * DELAY_RESOLUTION_MS);
    const result = await work();
    await sleep(3 * DELAY_RESOLUTION_MS);
    return { result, maxDelayMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

/**
 * Runs `work` up to `attempts` times and returns the lowest maximum delay seen, stopping at the
 * first attempt under `limitMs`. Other processes on a busy machine, and page faults in other
 * threads of this one, can also delay the event loop now and then. Code that blocks the event
 * loop for longer than `limitMs` exceeds it on every attempt.
 */
export async function lowestMaxDelay(work: () => Promise<void>, limitMs: number, attempts = 5): Promise<number> {
  let lowest = Infinity;
  for (let attempt = 0; attempt < attempts && lowest >= limitMs; attempt++) {
    const { maxDelayMs } = await measureMaxDelay(work);
    lowest = Math.min(lowest, maxDelayMs);
  }
  return lowest;
}
