// SPDX-License-Identifier: MIT
//
// Numerical parity of UNet, DiceLoss, Adam and SGD with PyTorch. scripts/gen-golden.py runs the
// classic U-Net in PyTorch on formula weights, inputs and targets and stores the results in
// test/fixtures/golden. These tests rebuild the same values, run medunet and compare.
//
// Tolerances. Both sides use float32 and the same libtorch build, and this suite pins libtorch to
// one thread as the generator does, so on the machine that generated the fixtures the results
// agree bit for bit. The tolerances leave room for what legitimately changes the last bits: the
// thread count, and the CPU features that choose oneDNN's convolution kernels, both of which
// change the order of summation. An element passes when
// |actual - expected| <= rtol |expected| + atol rms(expected tensor) (+ a floor for updates):
// - Forward values (logits, loss, running statistics after one forward): rtol = atol = 1e-5.
//   The typical error of a reordered float32 sum of k terms grows like sqrt(k) * 6e-8, about 2e-6
//   for the 9 * 128 terms of the widest convolution here. With two threads the logits moved by at
//   most 4e-7 of their largest value.
// - Gradients: rtol = atol = 1e-4. Backward runs every forward sum again in transposed form and
//   through train-mode BatchNorm, which subtracts nearly equal numbers; with two threads the
//   gradients moved by up to 7.5e-6 of their tensor's largest value.
// - Running statistics after the optimizer steps: rtol = atol = 1e-4, since they are computed
//   from weights that carry the gradients' error.
// - Adam updates (after - before): rtol 1e-4, atol 1e-3. Adam divides each gradient element by
//   its own magnitude, so an element with relative error r moves by about lr * r per step; 1e-3
//   of the update's scale allows r up to about 1e-3 on the small gradients (two threads: 3e-6 at most).
// - SGD updates: rtol = atol = 1e-4, the gradients' tolerance, because an SGD update is linear in them.
// - Every update also gets a floor of 4 float32 ULPs of the starting weight, as the parameter
//   after each step is rounded to float32.
// MEDUNET_PARITY_THREADS=N runs medunet on N threads, to check these margins against real reordering.
// The two-thread figures above come from MEDUNET_PARITY_THREADS=2 on a 2-core x86-64 machine, where
// the worst check used a third of its allowance (Adam updates of the width-8 one-class model).

import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { PYTHON, torchMissingReason } from '../unit/models/python.js';
import {
  compareTensor,
  compareTensors,
  GEN_GOLDEN,
  GOLDEN_DIR,
  loadGolden,
  roundingFloors,
  runMedunet,
  type GoldenRecord,
  type MedunetRun,
  type Tolerance,
} from './golden.js';

const FORWARD: Tolerance = { rtol: 1e-5, atol: 1e-5 };
const GRADIENT: Tolerance = { rtol: 1e-4, atol: 1e-4 };
const STATISTICS_AFTER_STEPS: Tolerance = { rtol: 1e-4, atol: 1e-4 };
const ADAM_UPDATE: Tolerance = { rtol: 1e-4, atol: 1e-3 };
const SGD_UPDATE: Tolerance = { rtol: 1e-4, atol: 1e-4 };
const UPDATE_FLOOR_ULPS = 4;

native.setNumThreads(Number(process.env['MEDUNET_PARITY_THREADS'] ?? 1));

const FIXTURES = readdirSync(GOLDEN_DIR)
  .filter((name) => /^unet-w\d+-c\d+-\d+x\d+\.json$/.test(name))
  .sort();

function runFor(golden: GoldenRecord): MedunetRun {
  const { baseWidth, numClasses, inputShape } = golden.config;
  return runMedunet(baseWidth, numClasses, inputShape[2], inputShape[3]);
}

function compareLoss(run: MedunetRun, golden: GoldenRecord): number {
  return compareTensor('loss', { shape: [], values: Float64Array.of(run.loss) }, { shape: [], values: [golden.loss] }, FORWARD);
}

function compareAdam(run: MedunetRun, golden: GoldenRecord): number {
  const floors = roundingFloors(run.adam.before, UPDATE_FLOOR_ULPS);
  return compareTensors('Adam update', run.adam.updates, golden.adam.updates, ADAM_UPDATE, floors);
}

function compareSgd(run: MedunetRun, golden: GoldenRecord): number {
  const floors = roundingFloors(run.sgd.before, UPDATE_FLOOR_ULPS);
  return compareTensors('SGD update', run.sgd.updates, golden.sgd.updates, SGD_UPDATE, floors);
}

/** The comparisons of one configuration, by name; each returns the worst ratio to its allowance. */
const CHECKS: Array<[string, (run: MedunetRun, golden: GoldenRecord) => number]> = [
  ['training-mode logits', (run, golden) => compareTensor('train logits', run.logits.train, golden.logits.train, FORWARD)],
  ['evaluation-mode logits', (run, golden) => compareTensor('eval logits', run.logits.eval, golden.logits.eval, FORWARD)],
  ['Dice loss', compareLoss],
  ['gradient of every parameter', (run, golden) => compareTensors('grad', run.grads, golden.grads, GRADIENT)],
  ['BatchNorm buffers after a training forward', (run, golden) => compareTensors('buffer', run.buffers, golden.buffers, FORWARD)],
  ['parameters after three Adam steps', compareAdam],
  [
    'BatchNorm buffers after three Adam steps',
    (run, golden) => compareTensors('Adam buffer', run.adam.buffers, golden.adam.buffers, STATISTICS_AFTER_STEPS),
  ],
  ['parameters after three SGD steps', compareSgd],
  [
    'BatchNorm buffers after three SGD steps',
    (run, golden) => compareTensors('SGD buffer', run.sgd.buffers, golden.sgd.buffers, STATISTICS_AFTER_STEPS),
  ],
];

describe('golden fixtures', () => {
  it('are present and generated', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(5);
    for (const name of FIXTURES) expect(loadGolden(name).header, name).toMatch(/^generated by scripts\/gen-golden\.py/);
  });
});

describe.each(FIXTURES)('UNet parity with %s', (name) => {
  const golden = loadGolden(name);
  let run: MedunetRun;

  beforeAll(() => {
    run = runFor(golden);
  });

  it('builds bit-identical weights, input and labels', () => {
    expect(run.checksums.weights, 'SHA-256 of the formula weights').toBe(golden.checksums.weights);
    expect(run.checksums.input, 'SHA-256 of the formula input').toBe(golden.checksums.input);
    expect(run.checksums.labels, 'SHA-256 of the blob labels').toBe(golden.checksums.labels);
  });

  it.each(CHECKS)('matches the %s', (_check, compare) => {
    compare(run, golden);
  });
});

describe('UNet parity with live PyTorch', () => {
  // A configuration that no fixture has: its odd size pads the input unevenly (1 + 2 columns, 2 + 3 rows).
  const [baseWidth, numClasses, height, width] = [4, 1, 27, 45];

  it.skipIf(torchMissingReason !== null)(
    `matches scripts/gen-golden.py run now on a fresh configuration${torchMissingReason === null ? '' : ` (skipped: ${torchMissingReason})`}`,
    () => {
      const args = [GEN_GOLDEN, '--base-width', baseWidth, '--classes', numClasses, '--size', height, width].map(String);
      const env = { ...process.env, OMP_NUM_THREADS: '1' };
      const result = spawnSync(PYTHON, args, { encoding: 'utf8', env });
      expect(result.status, result.stderr).toBe(0);
      const golden = JSON.parse(result.stdout) as GoldenRecord;
      expect(golden.padding).toEqual([1, 2, 2, 3]);

      const run = runMedunet(baseWidth, numClasses, height, width);
      expect(run.checksums).toEqual(golden.checksums);
      for (const [check, compare] of CHECKS) expect(compare(run, golden), check).toBeLessThanOrEqual(1);
    },
  );
});
