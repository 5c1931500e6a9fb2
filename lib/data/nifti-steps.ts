// SPDX-License-Identifier: MIT
//
// Voxel loops written as generators that pause between ranges of voxels. The synchronous readers
// and writers run them straight through. The promise forms yield to the event loop between
// ranges, so that decoding, scaling or reorienting a large volume blocks it for a few ms at a
// time. Both run the same loop code, so they give identical results.

import { setImmediate as nextTurn } from 'node:timers/promises';

/** A computation that pauses (yields) between ranges of voxels and returns its result. @internal */
export type Steps<T> = Generator<void, T, void>;

/** Voxels processed between two pauses. @internal */
export const VOXELS_PER_STEP = 1 << 16;

/** Minimum time, in ms, that {@link runStepsAsync} computes before it yields to the event loop. */
const SLICE_MS = 8;

/** Runs `steps` to the end without pausing and returns the result. @internal */
export function runSteps<T>(steps: Steps<T>): T {
  let step = steps.next();
  while (step.done !== true) step = steps.next();
  return step.value;
}

/**
 * Runs `steps` to the end, yielding to the event loop (through `setImmediate`) whenever
 * {@link SLICE_MS} ms have passed since the last yield, and returns the result.
 * @internal
 */
export async function runStepsAsync<T>(steps: Steps<T>): Promise<T> {
  let sliceStart = performance.now();
  let step = steps.next();
  while (step.done !== true) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
    step = steps.next();
  }
  return step.value;
}

/** Calls `body(start, end)` on consecutive ranges of [0, `count`), pausing after each. @internal */
export function* rangeSteps(count: number, body: (start: number, end: number) => void): Steps<void> {
  for (let start = 0; start < count; start += VOXELS_PER_STEP) {
    body(start, Math.min(count, start + VOXELS_PER_STEP));
    yield;
  }
}
