// SPDX-License-Identifier: MIT
//
// One training-and-prediction job, run both in worker threads and on the main thread by
// workers.test.ts. It takes the medunet module as an argument, so that each thread uses the
// copy it loaded. The initial weights and the data come from a seeded JavaScript generator,
// not from libtorch's, because libtorch's default CPU generator is shared by every thread of
// the process.

import { join } from 'node:path';

/** Mulberry32: a small seeded generator of floats in [0, 1). */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills every float32 weight and bias of `model` from `random`, uniform in [-0.3, 0.3). */
function setWeights(medunet, model, random) {
  const values = {};
  for (const [key, value] of model.stateDict()) {
    if (value.dtype !== 'float32' || !key.endsWith('weight') && !key.endsWith('bias')) continue;
    const data = Float32Array.from({ length: value.numel() }, () => random() * 0.6 - 0.3);
    values[key] = medunet.tensor(data, value.shape);
  }
  model.loadStateDict(values, { strict: false });
  for (const value of Object.values(values)) value.dispose();
}

/** Returns the forward output of `model` on `input` as an array, without recording gradients. */
function outputOf(medunet, model, input) {
  return Array.from(medunet.noGrad(() => model.forward(input)).data());
}

/**
 * Builds a width-4 U-Net, takes `steps` Adam steps with DiceLoss on 32x32 images, predicts a
 * 32x32x4 volume, and saves and reloads the model with the synchronous and the promise forms.
 * Returns plain arrays and numbers that can be posted between threads.
 */
export async function runJob(medunet, { seed, steps, folder }) {
  const random = generator(seed);
  const model = new medunet.UNet({ inChannels: 1, numClasses: 1, baseWidth: 4 });
  setWeights(medunet, model, random);
  const images = medunet.tensor(Float32Array.from({ length: 2 * 32 * 32 }, random), [2, 1, 32, 32]);
  const masks = medunet.tensor(Float32Array.from({ length: 2 * 32 * 32 }, () => (random() > 0.6 ? 1 : 0)), [2, 1, 32, 32]);
  const optimizer = new medunet.Adam(model.parameters(), { lr: 0.01 });
  const dice = new medunet.DiceLoss();
  const losses = [];
  model.train();
  for (let step = 0; step < steps; step++) {
    optimizer.zeroGrad();
    const loss = medunet.tidy(() => {
      const value = dice.forward(model.forward(images), masks);
      value.backward();
      return value;
    });
    losses.push(loss.item());
    loss.dispose();
    optimizer.step();
  }
  model.eval();

  const volume = { data: Float32Array.from({ length: 32 * 32 * 4 }, random), dims: [32, 32, 4] };
  const prediction = await medunet.predictVolume(model, volume, { probabilities: true });

  const output = outputOf(medunet, model, images);
  const syncPath = join(folder, `job-${seed}-sync.pt`);
  medunet.saveCheckpoint(syncPath, model);
  const syncLoaded = medunet.loadModel(syncPath);
  const asyncPath = join(folder, `job-${seed}-async.pt`);
  await medunet.saveCheckpointAsync(asyncPath, model);
  const asyncLoaded = await medunet.loadModelAsync(asyncPath);
  const reloaded = [outputOf(medunet, syncLoaded, images), outputOf(medunet, asyncLoaded, images)];

  for (const each of [model, syncLoaded, asyncLoaded]) each.dispose();
  optimizer.dispose();
  images.dispose();
  masks.dispose();
  return { losses, probabilities: Array.from(prediction.probabilities), mask: Array.from(prediction.mask), output, reloaded };
}
