// SPDX-License-Identifier: MIT
//
// Times ConvTranspose2d and Conv2d forward+backward with OpenBLAS at 1 thread and at one thread
// per available CPU, to choose the OpenBLAS thread count that the addon sets at load
// (DefaultBlasThreads in native/core/threads.cc).
//
//   node scripts/bench-blas-threads.mjs [iterations]
//
// Needs build/Release/medunet.node. OpenBLAS threads only matter when libtorch's BLAS is
// OpenBLAS; on Debian, LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread selects it
// for one run whatever the libblas.so.3 alternative points at.

import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const native = require(fileURLToPath(new URL('../build/Release/medunet.node', import.meta.url)));

const iterations = Number(process.argv[2] ?? 5);
const cpus = availableParallelism();

/** Returns the median of `values`. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `step` once and returns its wall time in milliseconds. */
function timeMs(step) {
  const start = process.hrtime.bigint();
  step();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Forward and backward of one layer on [4, 64, 64, 64], inside a scope that frees its tensors. */
function layerStep(forward) {
  return () => {
    const marker = native.scopeBegin();
    const input = native.randn([4, 64, 64, 64]);
    input.requiresGrad = true;
    forward(input).sum().backward();
    native.scopeEnd(marker, []);
  };
}

const upWeight = native.keep(native.randn([64, 32, 2, 2]));
const convWeight = native.keep(native.randn([64, 64, 3, 3]));
upWeight.requiresGrad = true;
convWeight.requiresGrad = true;

const layers = {
  'conv_transpose2d 64->32, k2 s2': layerStep((x) =>
    native.convTranspose2d(x, upWeight, null, [2, 2], [0, 0], [0, 0], 1, [1, 1]),
  ),
  'conv2d 64->64, k3 p1': layerStep((x) => native.conv2d(x, convWeight, null, [1, 1], [1, 1], [1, 1], 1)),
};

const threadCounts = [1, cpus];
console.log(`libtorch ${native.versions.torch}, intra-op threads ${native.getNumThreads()}, ${cpus} CPUs`);
if (!native.setBlasThreads(1)) console.log('libtorch does not use OpenBLAS here; OpenBLAS threads change nothing');

// Rounds alternate the thread counts, so that load from other processes affects both alike.
const times = new Map();
for (let round = 0; round <= iterations; round += 1) {
  for (const blasThreads of threadCounts) {
    native.setBlasThreads(blasThreads);
    for (const [name, step] of Object.entries(layers)) {
      const elapsed = timeMs(step);
      const key = `OpenBLAS threads ${blasThreads}: ${name}`;
      // Round 0 warms up each configuration and is not counted.
      if (round > 0) times.set(key, [...(times.get(key) ?? []), elapsed]);
    }
  }
}
for (const [key, values] of times) console.log(`${key}: ${median(values).toFixed(1)} ms (median of ${values.length})`);
