// SPDX-License-Identifier: MIT
//
// Live tensor counts for memory tests. Handles that are garbage but not yet finalised would blur
// a count, so this collects garbage (vitest runs with --expose-gc) and lets the finalisers, which
// Node runs after the collection, finish first.

import { native } from '../../lib/native.js';

/** Live tensor handles after a garbage collection and its finalisers. */
export async function liveTensorsAfterGc(): Promise<number> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('memory tests need node --expose-gc (set in vitest.config.ts)');
  for (let round = 0; round < 3; round++) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return native.memoryStats().liveTensors;
}
