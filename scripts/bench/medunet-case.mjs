// SPDX-License-Identifier: MIT
//
// Runs one medunet side of a `npm run bench` case and prints one JSON line with its timings.
//
//   node scripts/bench/medunet-case.mjs '<case JSON>'
//
// scripts/bench.mjs starts one such process per case and repeat, alternating with
// scripts/bench/torch_case.py. The case JSON has `kind`:
//   setup    writes one checkpoint per entry of `widths` (seeded default initialisation, output bias centred on the sample MRI) into
//            `folder`, and the sample volume as raw float32 voxels, for both sides to load;
//   train    `width`, `size` [H, W], `batch`, `warmup`, `iterations`, `seed`, `checkpoint`:
//            one step is zeroGrad, forward, Dice loss, loss.item(), backward and an Adam step;
//   predict  `checkpoint`, `volume`, `dims`, `slices`, `batchSize`, `maskOut`: predictVolume;
//   data     `image`, `mask`, `batchSize`, `slices`, `seed`, `width`: loader throughput with
//            augmentation, then trainModel epochs on the same loader, for the data-wait share.
// It imports the built package (dist/), so run `npm run build` first.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  Adam,
  DataLoader,
  DiceLoss,
  MedicalImageDataset,
  RandomAugment,
  UNet,
  getNumThreads,
  loadModel,
  manualSeed,
  noGrad,
  predictVolume,
  rand,
  randn,
  readNifti,
  saveCheckpoint,
  tidy,
  toFloat32Array,
  trainModel,
  versions,
} from '../../dist/index.js';

const spec = JSON.parse(process.argv[2] ?? '{}');

/** Seconds elapsed since `start` (a performance.now() value). */
function since(start) {
  return (performance.now() - start) / 1000;
}

/** CPU seconds (user and system, all threads) this process has used so far. */
function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Shifts the output bias of a freshly initialised model so that half the voxels of the middle
 * axial slice fall on each side of the 0.5 threshold. With the raw initialisation every voxel is
 * foreground, and masks compared between the two sides or two precisions would agree trivially.
 */
async function centreOutputBias(model, nifti) {
  const [nx, ny, nz] = nifti.dims;
  const middle = Math.floor(nz / 2);
  const { probabilities } = await predictVolume(model, nifti, { slices: [middle], probabilities: true, thread: 'main' });
  const plane = Array.from(probabilities.subarray(middle * nx * ny, (middle + 1) * nx * ny)).sort((a, b) => a - b);
  const median = Math.min(Math.max(plane[plane.length >> 1], 1e-6), 1 - 1e-6);
  const bias = model.namedParameters().find(([name]) => name === 'outc.bias')?.[1];
  if (bias === undefined) throw new Error('the U-Net has no parameter outc.bias');
  noGrad(() => bias.add_(-Math.log(median / (1 - median))));
}

async function runSetup({ folder, widths, seed, sample }) {
  let volume = null;
  let nifti = null;
  if (sample !== null) {
    nifti = readNifti(sample);
    const data = toFloat32Array(nifti.data);
    volume = { path: join(folder, 'volume.f32'), dims: nifti.dims.slice(0, 3) };
    writeFileSync(volume.path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  const checkpoints = {};
  for (const width of widths) {
    manualSeed(seed);
    const path = join(folder, `unet-w${width}.pt`);
    const model = new UNet({ inChannels: 1, numClasses: 1, baseWidth: width });
    if (nifti !== null) await centreOutputBias(model, nifti);
    saveCheckpoint(path, model);
    checkpoints[width] = path;
  }
  return { checkpoints, volume };
}

function runTrain({ seed, size, batch, checkpoint, warmup, iterations }) {
  manualSeed(seed);
  const shape = [batch, 1, size[0], size[1]];
  // Drawn in the same order as torch_case.py, from the same libtorch generator.
  const images = randn(shape);
  const masks = tidy(() => rand(shape).gt(0.5).to('float32'));
  const model = loadModel(checkpoint);
  model.train();
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const criterion = new DiceLoss();

  const phases = { zeroGrad: [], forward: [], loss: [], backward: [], step: [] };
  const seconds = [];
  const cpu = [];
  const losses = [];
  for (let index = 0; index < warmup + iterations; index++) {
    const cpuStart = cpuSeconds();
    const marks = tidy(() => {
      const t0 = performance.now();
      optimizer.zeroGrad();
      const t1 = performance.now();
      const logits = model.forward(images);
      const t2 = performance.now();
      const loss = criterion.forward(logits, masks);
      losses.push(loss.item());
      const t3 = performance.now();
      loss.backward();
      const t4 = performance.now();
      optimizer.step();
      return [t0, t1, t2, t3, t4, performance.now()];
    });
    const cpuUsed = cpuSeconds() - cpuStart;
    if (index < warmup) continue;
    seconds.push((marks[5] - marks[0]) / 1000);
    cpu.push(cpuUsed);
    Object.keys(phases).forEach((name, i) => phases[name].push((marks[i + 1] - marks[i]) / 1000));
  }
  return { seconds, cpuSeconds: cpu, phases, firstLoss: losses[0], slicesPerIteration: batch };
}

async function runPredict({ checkpoint, volume, dims, slices, batchSize, maskOut, autocast = null }) {
  const bytes = readFileSync(volume);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const model = loadModel(checkpoint);
  const input = { data, dims };
  // Warm-up: one batch of slices, so one-time allocations happen before timing.
  await predictVolume(model, input, { batchSize, autocast, slices: slices.slice(0, batchSize) });
  const start = performance.now();
  const cpuStart = cpuSeconds();
  const { mask } = await predictVolume(model, input, { batchSize, autocast, slices });
  const seconds = since(start);
  const cpu = cpuSeconds() - cpuStart;
  if (maskOut) writeFileSync(maskOut, mask);
  let foreground = 0;
  for (const value of mask) foreground += value;
  return { seconds: [seconds], cpuSeconds: [cpu], slicesPerIteration: slices.length, foreground };
}

/** Times `epochs` passes of the loader alone; returns seconds per pass. */
async function timeLoaderEpochs(loader, epochs) {
  const seconds = [];
  let slices = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const start = performance.now();
    for await (const batch of loader) slices += batch.shape[0];
    seconds.push(since(start));
  }
  return { seconds, slicesPerEpoch: slices / epochs };
}

async function runData({ image, mask, batchSize, slices, seed, width, checkpoint, epochs }) {
  // As lib/cli/train.ts builds its training loader (default augmentation, padding to 16).
  const makeLoader = () => {
    const dataset = new MedicalImageDataset([{ image, mask, slices }], {
      axis: 'axial',
      maskMode: 'binary',
      padMultiple: 16,
      transform: new RandomAugment(),
      seed,
    });
    return new DataLoader(dataset, { batchSize, shuffle: true, seed, dropLast: dataset.length % batchSize === 1 });
  };
  // The first pass reads and decodes the volumes; later passes take them from the dataset's cache.
  const loaderOnly = await timeLoaderEpochs(makeLoader(), epochs);

  manualSeed(seed);
  const model = loadModel(checkpoint);
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const stepSeconds = [];
  const history = await trainModel(model, makeLoader(), optimizer, new DiceLoss(), 'cpu', epochs, {
    onBatch: (info) => {
      stepSeconds[info.epoch - 1] = (stepSeconds[info.epoch - 1] ?? 0) + info.seconds;
    },
  });
  const records = history.epochs.map((record, i) => ({
    seconds: record.seconds,
    stepSeconds: stepSeconds[i] ?? 0,
    // A build whose EpochRecord measures the wait itself reports it; otherwise it is derived.
    dataWaitSeconds: typeof record.dataWaitSeconds === 'number' ? record.dataWaitSeconds : null,
  }));
  return {
    seconds: loaderOnly.seconds,
    slicesPerIteration: loaderOnly.slicesPerEpoch,
    width,
    epochs: records,
  };
}

const kinds = { setup: runSetup, train: runTrain, predict: runPredict, data: runData };
const run = kinds[spec.kind];
if (run === undefined) {
  process.stderr.write(`medunet-case: \`kind\` must be one of ${Object.keys(kinds).join(', ')}; got ${JSON.stringify(spec.kind)}\n`);
  process.exit(2);
}
const result = await run(spec);
result.side = 'medunet';
result.maxRssKb = process.resourceUsage().maxRSS;
result.threads = { intraOp: getNumThreads(), openblas: 'set by the addon at load', omp: process.env.OMP_NUM_THREADS ?? null };
result.libtorch = versions.torch;
result.node = process.version;
process.stdout.write(`${JSON.stringify(result)}\n`);
