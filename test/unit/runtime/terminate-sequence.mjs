// SPDX-License-Identifier: MIT
//
// Runs, in one process, the sequences of worker start, work, terminate and exit that once
// aborted the process with "terminate called after throwing an instance of 'Napi::Error'":
// a binding called in a worker thread that was being terminated failed, and node-addon-api could
// not throw that error into the dying environment. terminate.test.ts runs this script in a child
// process and expects exit code 0 and the last line `done`.
//
// Usage: node terminate-sequence.mjs ROOT, where ROOT/dist/index.js is the built package.
// As a worker thread (workerData set) it runs one task:
//   'job'     train a few steps in the worker itself and predict with the executor, then exit
//   'spin'    train in the worker without end, posting after each step, until terminated
//   'lend'    lend a tensor with shareTensors, post the loan id, and wait to be terminated
//   'nested'  train with trainModel (the executor, a worker of this worker) without end,
//             posting after each call, until terminated

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const SIZE = 32;

function batchOf(medunet, seed) {
  const images = Float32Array.from({ length: 2 * SIZE * SIZE }, (_, i) => ((i * seed) % 11) / 11);
  const masks = Float32Array.from({ length: 2 * SIZE * SIZE }, (_, i) => ((i + seed) % 3 === 0 ? 1 : 0));
  return { images, masks, shape: [2, 1, SIZE, SIZE] };
}

function volumeOf(seed) {
  return { data: Float32Array.from({ length: SIZE * SIZE * 2 }, (_, i) => ((i * seed) % 5) / 5), dims: [SIZE, SIZE, 2] };
}

/** One short job: steps on this thread, then a prediction and a training epoch on the executor. */
async function job(medunet, seed) {
  const model = new medunet.UNet({ baseWidth: 2 });
  const optimizer = new medunet.Adam(model.parameters());
  const input = medunet.randn([2, 1, SIZE, SIZE]);
  for (let step = 0; step < 2; step++) {
    optimizer.zeroGrad();
    medunet.tidy(() => model.forward(input).mean().backward());
    optimizer.step();
  }
  await medunet.trainModel(model, [batchOf(medunet, seed)], optimizer, new medunet.DiceLoss(), 'cpu', 1, { thread: 'worker' });
  const prediction = await medunet.predictVolume(model, volumeOf(seed), { thread: 'worker' });
  input.dispose();
  optimizer.dispose();
  model.dispose();
  return prediction.mask.length;
}

async function runTask(medunet, task) {
  switch (task) {
    case 'job':
      return job(medunet, workerData.seed);
    case 'spin': {
      const model = new medunet.UNet({ baseWidth: 4 });
      const optimizer = new medunet.Adam(model.parameters());
      const input = medunet.randn([1, 1, 32, 32]);
      for (;;) {
        optimizer.zeroGrad();
        medunet.tidy(() => model.forward(input).mean().backward());
        optimizer.step();
        parentPort.postMessage('step');
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    case 'lend': {
      const { native } = await import(pathToFileURL(join(workerData.root, 'dist', 'native.js')).href);
      parentPort.postMessage(native.shareTensors([medunet.zeros([4])], null));
      return new Promise(() => {});
    }
    case 'nested': {
      const model = new medunet.UNet({ baseWidth: 2 });
      const optimizer = new medunet.Adam(model.parameters());
      const loss = new medunet.DiceLoss();
      const batches = [batchOf(medunet, 1), batchOf(medunet, 2)];
      for (;;) {
        await medunet.trainModel(model, batches, optimizer, loss, 'cpu', 1, { thread: 'worker' });
        parentPort.postMessage('epoch');
        await medunet.predictVolume(model, volumeOf(3), { thread: 'worker' });
        parentPort.postMessage('predicted');
      }
    }
    default:
      throw new Error(`unknown task ${task}`);
  }
}

const SCRIPT = fileURLToPath(import.meta.url);

/** Starts a worker on `task` and resolves with its last message once it exits with code 0. */
function runWorker(root, task, data = {}) {
  const worker = new Worker(SCRIPT, { workerData: { root, task, ...data } });
  return new Promise((resolve, reject) => {
    let last;
    worker.on('message', (message) => {
      last = message;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`worker ${task} exited with code ${code}`))));
  });
}

/** Starts a worker on `task` and terminates it after `messages` messages, plus `delayMs` ms. */
async function terminateAfter(root, task, messages, delayMs) {
  const worker = new Worker(SCRIPT, { workerData: { root, task } });
  await new Promise((resolve, reject) => {
    let count = 0;
    worker.on('error', reject);
    worker.on('message', () => {
      count += 1;
      if (count === messages) resolve();
    });
  });
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const code = await worker.terminate();
  if (code !== 1) throw new Error(`terminated worker ${task} exited with code ${code}, not 1`);
}

/** A loan that a terminated worker made and never released ends with the worker's environment. */
async function expectLoanEndsWithLender(root) {
  const { native } = await import(pathToFileURL(join(root, 'dist', 'native.js')).href);
  const worker = new Worker(SCRIPT, { workerData: { root, task: 'lend' } });
  const id = await new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', resolve);
  });
  await worker.terminate();
  let error = null;
  try {
    native.adoptTensors(id, null);
  } catch (caught) {
    error = caught;
  }
  if (error?.code !== 'ERR_OUT_OF_RANGE' || !/\bid must\b/.test(error.message)) {
    throw new Error(`adoptTensors(${id}) after the lender ended: expected ERR_OUT_OF_RANGE naming \`id\`, got ${error}`);
  }
}

async function main(root) {
  const medunet = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const folder = mkdtempSync(join(tmpdir(), 'medunet-terminate-'));
  try {
    // Rounds of workers that exit by themselves, each with its own executor worker.
    for (let round = 0; round < 2; round++) {
      await Promise.all([1, 2].map((seed) => runWorker(root, 'job', { seed })));
    }
    // Terminated in the middle of native calls, at varied points of a training step.
    for (const delayMs of [0, 1, 3, 7]) await terminateAfter(root, 'spin', 2, delayMs);
    // Terminated while its own executor worker trains or predicts: both environments end.
    for (const delayMs of [0, 5]) await terminateAfter(root, 'nested', 1, delayMs);
    await expectLoanEndsWithLender(root);
    // Fresh workers, and the main thread, start and use the executor again.
    await runWorker(root, 'job', { seed: 3 });
    console.log(`main thread predicted ${await job(medunet, 4)} voxels`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (isMainThread) {
  const root = process.argv[2];
  if (root === undefined) throw new Error('usage: node terminate-sequence.mjs ROOT');
  await main(root);
  console.log('done');
} else {
  const medunet = await import(pathToFileURL(join(workerData.root, 'dist', 'index.js')).href);
  parentPort.postMessage(await runTask(medunet, workerData.task));
}
