// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { extractSlice } from '../../../lib/data/slices.js';
import { normalizeIntensity } from '../../../lib/data/normalize.js';
import { predictVolume } from '../../../lib/engine/predict.js';
import { UNet } from '../../../lib/models/unet.js';
import { native } from '../../../lib/native.js';
import { manualSeed, noGrad, tensor } from '../../../lib/tensor.js';
import { seededRandom } from './synthetic.js';

import { liveTensorsAfterGc } from '../gc.js';
const DIMS = [20, 24, 6];

function syntheticVolume(seed: number): { data: Int16Array; dims: number[] } {
  const random = seededRandom(seed);
  const data = Int16Array.from({ length: DIMS[0]! * DIMS[1]! * DIMS[2]! }, () => Math.floor(random() * 1000));
  return { data, dims: [...DIMS] };
}

function makeModel(numClasses: number, seed: number): UNet {
  manualSeed(seed);
  return new UNet({ baseWidth: 2, numClasses });
}

describe('predictVolume', () => {
  it('predicts only the chosen slices', async () => {
    const model = makeModel(1, 6);
    const volume = syntheticVolume(7);
    const full = await predictVolume(model, volume, { threshold: 0.3, probabilities: true });
    const some = await predictVolume(model, volume, { threshold: 0.3, probabilities: true, slices: [4, 1] });
    const plane = DIMS[0]! * DIMS[1]!;
    for (let z = 0; z < DIMS[2]!; z++) {
      const part = some.probabilities!.subarray(z * plane, (z + 1) * plane);
      if (z === 1 || z === 4) {
        expect(Array.from(part)).toEqual(Array.from(full.probabilities!.subarray(z * plane, (z + 1) * plane)));
      } else {
        expect(part.every((v) => v === 0)).toBe(true);
      }
    }
  });

  it('rejects: a slice index beyond the volume', async () => {
    const call = predictVolume(makeModel(1, 2), syntheticVolume(3), { slices: [0, 6] });
    await expect(call).rejects.toBeInstanceOf(RangeError);
    await expect(predictVolume(makeModel(1, 2), syntheticVolume(3), { slices: [6] })).rejects.toThrow(/options\.slices\[0\]/);
  });

  it('rejects: an unknown option, suggesting the right name', async () => {
    const model = makeModel(1, 2);
    const call = predictVolume(model, syntheticVolume(3), { batchsize: 4 } as never);
    await expect(call).rejects.toBeInstanceOf(RangeError);
    await expect(predictVolume(model, syntheticVolume(3), { batchsize: 4 } as never)).rejects.toThrow(/options\.batchsize is not an option of predictVolume; .*did you mean batchSize\?/);
  });

  it.each([
    // axis, slice count
    ['axial', 6],
    ['coronal', 24],
    ['sagittal', 20],
  ] as const)('returns a mask with the volume dims along the %s axis', async (axis, slices) => {
    const model = makeModel(1, 1);
    const progress: number[] = [];
    const result = await predictVolume(model, syntheticVolume(2), { axis, batchSize: 4, onProgress: (done) => progress.push(done) });
    expect(result.dims).toEqual(DIMS);
    expect(result.mask).toBeInstanceOf(Uint8Array);
    expect(result.mask).toHaveLength(20 * 24 * 6);
    expect(result.mask.every((v) => v === 0 || v === 1)).toBe(true);
    expect(result.probabilities).toBeUndefined();
    expect(progress[progress.length - 1]).toBe(slices);
    expect(progress).toHaveLength(Math.ceil(slices / 4));
  });

  it('restores train mode and leaves eval mode alone', async () => {
    const model = makeModel(1, 3);
    await predictVolume(model, syntheticVolume(4));
    expect(model.modules().every((m) => m.training)).toBe(true);
    model.eval();
    await predictVolume(model, syntheticVolume(4));
    expect(model.modules().every((m) => !m.training)).toBe(true);
  });

  it('matches thresholding the model output of each normalised slice', async () => {
    const model = makeModel(1, 5);
    const volume = syntheticVolume(6);
    const result = await predictVolume(model, volume, { batchSize: 4, probabilities: true });
    const normalized = normalizeIntensity(volume.data, { mode: 'minmax' });
    model.eval();
    const z = 3;
    const slice = extractSlice(normalized, DIMS, 'axial', z);
    const expected = noGrad(() => model.forward(tensor(slice.data, [1, 1, slice.height, slice.width])).sigmoid()).data() as Float32Array;
    const plane = DIMS[0]! * DIMS[1]!;
    const probabilities = result.probabilities!.subarray(z * plane, (z + 1) * plane);
    expected.forEach((p, i) => expect(probabilities[i]).toBeCloseTo(p, 5));
    const maskPlane = result.mask.subarray(z * plane, (z + 1) * plane);
    expected.forEach((p, i) => expect(maskPlane[i]).toBe(p > 0.5 ? 1 : 0));
  });

  it('labels multi-class voxels by argmax and returns class-major probabilities', async () => {
    const model = makeModel(3, 7);
    const result = await predictVolume(model, syntheticVolume(8), { probabilities: true, normalize: 'zscore' });
    const voxels = 20 * 24 * 6;
    expect(result.probabilities).toHaveLength(3 * voxels);
    for (const i of [0, 100, voxels - 1]) {
      const scores = [0, 1, 2].map((k) => result.probabilities![k * voxels + i]!);
      expect(scores.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
      expect(result.mask[i]).toBe(scores.indexOf(Math.max(...scores)));
    }
  });

  it('frees every per-batch tensor', async () => {
    const model = makeModel(1, 9);
    await predictVolume(model, syntheticVolume(10));
    const before = await liveTensorsAfterGc();
    await predictVolume(model, syntheticVolume(10), { batchSize: 2 });
    expect(await liveTensorsAfterGc()).toBe(before);
  });

  it('rejects: data whose length does not match dims', async () => {
    const promise = predictVolume(makeModel(1, 11), { data: new Float32Array(10), dims: DIMS });
    await expect(promise).rejects.toBeInstanceOf(RangeError);
    await expect(promise).rejects.toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^volume\.data must be 2880 voxels/) }));
  });

  it.each([
    ['batchSize', { batchSize: 0 }, RangeError, /^options\.batchSize must be/],
    ['threshold', { threshold: 2 }, RangeError, /^options\.threshold must be/],
    ['axis', { axis: 'transverse' as 'axial' }, RangeError, /^options\.axis must be/],
    ['normalize', { normalize: 'robust' as 'minmax' }, RangeError, /^options\.normalize must be/],
    ['device', { device: 'gpu' }, RangeError, /^options\.device must be/],
  ] as const)('rejects: a bad %s', async (_name, options, errorClass, message) => {
    const promise = predictVolume(makeModel(1, 12), syntheticVolume(13), options);
    await expect(promise).rejects.toBeInstanceOf(errorClass);
    await expect(promise).rejects.toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(message) }));
  });

  it('rejects: a UNet with two input channels', async () => {
    manualSeed(14);
    const promise = predictVolume(new UNet({ inChannels: 2, baseWidth: 2 }), syntheticVolume(15));
    await expect(promise).rejects.toBeInstanceOf(RangeError);
    await expect(promise).rejects.toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^model must be/) }));
  });
});
