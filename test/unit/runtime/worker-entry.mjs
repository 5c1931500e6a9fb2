// SPDX-License-Identifier: MIT
//
// Entry point of the worker threads in workers.test.ts. The value of workerData.task selects
// what the worker does:
//   'job'    run runJob from worker-job.mjs and post its result
//   'seed'   call manualSeed(workerData.seed) and post nothing but 'done'
//   'leave'  create tensors and an optimizer, post 'ready', and exit with them still alive
//   'spin'   train without end, posting 'step' after each step, until terminated
//   'load'   load workerData.path with loadModelAsync without end, posting 'started' after
//            starting each load, until terminated

import { parentPort, workerData } from 'node:worker_threads';
import { runJob } from './worker-job.mjs';

const medunet = await import(workerData.entry);

async function run() {
  switch (workerData.task) {
    case 'job':
      return { result: await runJob(medunet, workerData) };
    case 'seed':
      medunet.manualSeed(workerData.seed);
      return 'done';
    case 'leave': {
      const model = new medunet.UNet({ baseWidth: 4 });
      globalThis.leftBehind = [model, new medunet.Adam(model.parameters()), medunet.randn([64, 64])];
      return 'ready';
    }
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
    case 'load':
      for (;;) {
        const loading = medunet.loadModelAsync(workerData.path);
        parentPort.postMessage('started');
        (await loading).dispose();
      }
    default:
      throw new Error(`unknown task ${workerData.task}`);
  }
}

parentPort.postMessage(await run());
