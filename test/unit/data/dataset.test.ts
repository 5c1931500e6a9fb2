// SPDX-License-Identifier: MIT

import { copyFileSync, unlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorCode, NiftiError } from '../../../lib/errors.js';
import { RandomAugment } from '../../../lib/data/augment.js';
import { MedicalImageDataset } from '../../../lib/data/dataset.js';
import { DataLoader, type Batch } from '../../../lib/data/loader.js';
import { readNifti, writeNifti } from '../../../lib/data/nifti.js';
import { normalizeIntensity } from '../../../lib/data/normalize.js';
import { Random } from '../../../lib/data/random.js';
import { extractSlice } from '../../../lib/data/slices.js';
import { tempDir } from './fixtures.js';

const tmp = tempDir('dataset');
const DIMS = [6, 5, 4]; // 4 axial slices of 5 x 6 per volume
const VOXELS = 6 * 5 * 4;
const VOLUMES = 5;
const images: string[] = [];
const masks: string[] = [];

/** Image v has voxel values 1000 * v + index; mask v labels axial slice z with z % 3 (slice 0 and 3 empty). */
beforeAll(() => {
  for (let v = 0; v < VOLUMES; v++) {
    images.push(tmp.path(`image-${v}.nii.gz`));
    masks.push(tmp.path(`mask-${v}.nii.gz`));
    writeNifti(images[v]!, { data: Int16Array.from({ length: VOXELS }, (_, i) => 1000 * v + i), dims: DIMS });
    writeNifti(masks[v]!, { data: Uint8Array.from({ length: VOXELS }, (_, i) => Math.floor(i / 30) % 3), dims: DIMS });
  }
});
afterAll(() => tmp.remove());

function pairs(count = VOLUMES) {
  return Array.from({ length: count }, (_, v) => ({ image: images[v]!, mask: masks[v]! }));
}

function rejection(run: () => unknown): Error & { code?: string } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('MedicalImageDataset', () => {
  it('counts every slice of every volume', () => {
    const dataset = new MedicalImageDataset(pairs());
    expect(dataset.length).toBe(VOLUMES * 4);
    expect(dataset.entry(6)).toEqual({ volumeIndex: 1, sliceIndex: 2 });
    expect(dataset.volumeDims(3)).toEqual(DIMS);
  });

  it('loads lazily and keeps at most cacheSize volumes', () => {
    const dataset = new MedicalImageDataset(pairs(), { cacheSize: 2 });
    expect(dataset.loads).toBe(0);
    dataset.get(0); // volume 0
    dataset.get(1); // volume 0 again, cached
    expect(dataset.loads).toBe(1);
    dataset.get(4); // volume 1
    dataset.get(2); // volume 0, now the most recently used
    dataset.get(8); // volume 2 evicts volume 1
    expect(dataset.loads).toBe(3);
    expect(dataset.cachedVolumes()).toEqual([0, 2]);
    dataset.get(5); // volume 1 must be read again
    expect(dataset.loads).toBe(4);
    expect(dataset.cachedVolumes()).toEqual([2, 1]);
  });

  it('normalises each volume once, before slicing', () => {
    const dataset = new MedicalImageDataset(pairs(2), { normalize: 'zscore' });
    const volume = readNifti(images[1]!);
    const expected = extractSlice(normalizeIntensity(volume.data, { mode: 'zscore' }), DIMS, 'axial', 2).data;
    const item = dataset.get(6);
    expect(item.image).toEqual(expected);
    expect([item.height, item.width]).toEqual([5, 6]);
    expect([item.volumeIndex, item.sliceIndex]).toEqual([1, 2]);
  });

  it('keeps raw intensities with normalize none', () => {
    const item = new MedicalImageDataset(pairs(1), { normalize: 'none' }).get(1);
    expect(item.image[0]).toBe(30);
  });

  it('binarises masks, or keeps labels on request', () => {
    expect(new Set(new MedicalImageDataset(pairs(1)).get(2).mask)).toEqual(new Set([1]));
    expect(new Set(new MedicalImageDataset(pairs(1), { maskMode: 'labels' }).get(2).mask)).toEqual(new Set([2]));
  });

  it('pads to a multiple with zeros at the bottom and right', () => {
    const item = new MedicalImageDataset(pairs(1), { padMultiple: 4, normalize: 'none' }).get(1);
    expect([item.height, item.width, item.originalHeight, item.originalWidth]).toEqual([8, 8, 5, 6]);
    expect(item.image).toHaveLength(64);
    expect(item.image[0]).toBe(30);
    expect(item.image[1 * 8 + 5]).toBe(30 + 6 + 5);
    expect(item.image[1 * 8 + 6]).toBe(0);
    expect(item.image.subarray(5 * 8).every((v) => v === 0)).toBe(true);
  });

  it('uses only the given slices, in order', () => {
    const dataset = new MedicalImageDataset([{ image: images[0]!, mask: masks[0]!, slices: [3, 1] }]);
    expect(dataset.length).toBe(2);
    expect(dataset.entry(0).sliceIndex).toBe(3);
    expect(dataset.get(1).sliceIndex).toBe(1);
  });

  it('skips slices with an empty mask', () => {
    const dataset = new MedicalImageDataset(pairs(2), { skipEmpty: true });
    expect(dataset.length).toBe(4);
    expect([0, 1, 2, 3].map((i) => dataset.entry(i).sliceIndex)).toEqual([1, 2, 1, 2]);
  });

  it('slices along other axes', () => {
    const dataset = new MedicalImageDataset(pairs(1), { axis: 'sagittal' });
    expect(dataset.length).toBe(6);
    const item = dataset.get(0);
    expect([item.height, item.width]).toEqual([4, 5]);
  });

  it('accepts volumes in memory', () => {
    const image = readNifti(images[2]!);
    const mask = readNifti(masks[2]!);
    const dataset = new MedicalImageDataset([{ image, mask }], { normalize: 'none' });
    expect(dataset.get(0).image[0]).toBe(2000);
  });

  it('gives the same item synchronously and asynchronously', async () => {
    const dataset = new MedicalImageDataset(pairs(3), { cacheSize: 1 });
    const asyncItem = await dataset.getAsync(9);
    expect(dataset.get(9)).toEqual(asyncItem);
  });

  it('shares one load between concurrent async requests', async () => {
    const dataset = new MedicalImageDataset(pairs(1));
    await Promise.all([dataset.getAsync(0), dataset.getAsync(1), dataset.getAsync(2)]);
    expect(dataset.loads).toBe(1);
  });

  it('applies the transform with the given generator', () => {
    const dataset = new MedicalImageDataset(pairs(1), { transform: new RandomAugment({ rotation: 45 }) });
    const first = dataset.get(2, new Random(5));
    expect(dataset.get(2, new Random(5))).toEqual(first);
    expect(dataset.get(2, new Random(6)).image).not.toEqual(first.image);
  });

  it('fails: mask dims differ from the image', () => {
    const odd = tmp.path('odd-mask.nii');
    writeNifti(odd, { data: new Uint8Array(6 * 5 * 3), dims: [6, 5, 3] });
    const error = rejection(() => new MedicalImageDataset([{ image: images[0]!, mask: odd }]));
    expect(error).toBeInstanceOf(NiftiError);
    expect(error.message).toContain(odd);
    expect(error.message).toContain(images[0]!);
    expect(error.message).toMatch(/has dims \[6, 5, 3\] but image .* has dims \[6, 5, 4\]/);
  });

  it('fails: image file missing', () => {
    const missing = tmp.path('missing.nii.gz');
    const error = rejection(() => new MedicalImageDataset([{ image: missing }]));
    expect(error).toBeInstanceOf(NiftiError);
    expect(error.message).toBe(`${missing}: not found`);
  });

  it('fails: 4D image', () => {
    const fourD = tmp.path('four-d.nii');
    writeNifti(fourD, { data: new Float32Array(VOXELS * 2), dims: [...DIMS, 2] });
    const error = rejection(() => new MedicalImageDataset([{ image: fourD }]));
    expect(error).toBeInstanceOf(NiftiError);
    expect(error.message).toMatch(/has dims \[6, 5, 4, 2\]; only 3D volumes/);
  });

  it('rejects: slice index outside the volume', () => {
    const error = rejection(() => new MedicalImageDataset([{ image: images[0]!, slices: [0, 4] }]));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^pairs\[0\]\.slices\[1\] must be an integer in \[0, 3\]; got 4/);
  });

  it('rejects: skipEmpty without a mask', () => {
    const error = rejection(() => new MedicalImageDataset([{ image: images[0]! }], { skipEmpty: true }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^options\.skipEmpty must be false when pairs\[0\] has no mask/);
  });

  it('rejects: empty pair list', () => {
    const error = rejection(() => new MedicalImageDataset([]));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe(ErrorCode.INVALID_ARG_TYPE);
    expect(error.message).toMatch(/^pairs must be a non-empty array/);
  });

  it('rejects: cacheSize 0', () => {
    const error = rejection(() => new MedicalImageDataset(pairs(1), { cacheSize: 0 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^options\.cacheSize must be an integer >= 1; got 0$/);
  });

  it('rejects: a transform that is not a RandomAugment', () => {
    const error = rejection(() => new MedicalImageDataset(pairs(1), { transform: {} as RandomAugment }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^options\.transform must be a RandomAugment or null/);
  });
});

/** Lists every (volume, slice) of an epoch as "v:s" strings. */
function visited(batches: Batch[]): string[] {
  return batches.flatMap((batch) => batch.items.map(({ volumeIndex, sliceIndex }) => `${volumeIndex}:${sliceIndex}`));
}

async function collectAsync(loader: DataLoader): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of loader) batches.push(batch);
  return batches;
}

const ALL_SLICES = Array.from({ length: VOLUMES * 4 }, (_, i) => `${Math.floor(i / 4)}:${i % 4}`);

describe('DataLoader', () => {
  it('batches in dataset order without shuffle', () => {
    const dataset = new MedicalImageDataset(pairs(2));
    const batches = [...new DataLoader(dataset, { batchSize: 3 })];
    expect(batches.map((batch) => batch.shape)).toEqual([
      [3, 1, 5, 6],
      [3, 1, 5, 6],
      [2, 1, 5, 6],
    ]);
    expect(batches[1]!.images.subarray(30, 60)).toEqual(dataset.get(4).image);
    expect(batches[1]!.masks!.subarray(30, 60)).toEqual(dataset.get(4).mask);
  });

  it('covers every slice exactly once per shuffled epoch', () => {
    const loader = new DataLoader(new MedicalImageDataset(pairs()), { batchSize: 3, shuffle: true, seed: 7 });
    const first = visited([...loader]);
    const second = visited([...loader]);
    expect([...first].sort()).toEqual([...ALL_SLICES].sort());
    expect([...second].sort()).toEqual([...ALL_SLICES].sort());
    expect(first).not.toEqual(ALL_SLICES);
    expect(second).not.toEqual(first);
  });

  it('covers every slice exactly once asynchronously', async () => {
    const loader = new DataLoader(new MedicalImageDataset(pairs()), { batchSize: 4, shuffle: true, seed: 8 });
    expect(visited(await collectAsync(loader)).sort()).toEqual([...ALL_SLICES].sort());
  });

  it('loads each volume once per epoch with a small cache', async () => {
    const dataset = new MedicalImageDataset(pairs(), { cacheSize: 2 });
    const loader = new DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 1 });
    [...loader];
    expect(dataset.loads).toBe(VOLUMES);
    await collectAsync(loader);
    expect(dataset.loads).toBeLessThanOrEqual(2 * VOLUMES);
  });

  it('shuffles slices only within windows of cacheSize volumes', () => {
    const loader = new DataLoader(new MedicalImageDataset(pairs(), { cacheSize: 2 }), { shuffle: true, seed: 3 });
    const volumes = loader.order(0).map((index) => Math.floor(index / 4));
    // Each window of 8 slices contains exactly two volumes, and the last window one.
    for (let start = 0; start < volumes.length; start += 8) {
      expect(new Set(volumes.slice(start, start + 8)).size).toBe(start + 8 <= volumes.length ? 2 : 1);
    }
  });

  it('repeats the order and augmentation for the same seed', () => {
    const make = () =>
      new DataLoader(new MedicalImageDataset(pairs(2), { transform: new RandomAugment({ rotation: 30 }) }), {
        batchSize: 2,
        shuffle: true,
        seed: 11,
      });
    const first = [...make()];
    const second = [...make()];
    expect(visited(second)).toEqual(visited(first));
    expect(second.map((batch) => batch.images)).toEqual(first.map((batch) => batch.images));
  });

  it('drops the last partial batch on request', () => {
    const loader = new DataLoader(new MedicalImageDataset(pairs(2)), { batchSize: 3, dropLast: true });
    expect(loader.length).toBe(2);
    expect([...loader].map((batch) => batch.shape[0])).toEqual([3, 3]);
  });

  it('yields null masks for unlabelled data', () => {
    const loader = new DataLoader(new MedicalImageDataset([{ image: images[0]! }]), { batchSize: 4 });
    const [batch] = [...loader];
    expect(batch!.masks).toBeNull();
  });

  it('stops early without leaving a rejected prefetch unhandled', async () => {
    // Volume 1 disappears after the dataset is built, so the prefetch of batch 1 fails. An
    // unhandled rejection would fail the test run.
    const doomed = tmp.path('doomed.nii.gz');
    copyFileSync(images[1]!, doomed);
    const dataset = new MedicalImageDataset([{ image: images[0]! }, { image: doomed }]);
    unlinkSync(doomed);
    const loader = new DataLoader(dataset, { batchSize: 4 });
    for await (const batch of loader) {
      expect(batch.items[0]!.volumeIndex).toBe(0);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(loader.epoch).toBe(1);
  });

  it('fails: a volume file removed before its batch', async () => {
    const doomed = tmp.path('doomed-too.nii.gz');
    copyFileSync(images[1]!, doomed);
    const dataset = new MedicalImageDataset([{ image: images[0]! }, { image: doomed }]);
    unlinkSync(doomed);
    const error = await collectAsync(new DataLoader(dataset, { batchSize: 4 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NiftiError);
    expect((error as Error).message).toBe(`${doomed}: not found`);
  });

  it('fails: slices of different sizes in one batch', () => {
    const wide = tmp.path('wide.nii');
    writeNifti(wide, { data: new Float32Array(8 * 5 * 4), dims: [8, 5, 4] });
    const dataset = new MedicalImageDataset([{ image: images[0]! }, { image: wide }]);
    const error = rejection(() => [...new DataLoader(dataset, { batchSize: 8 })]);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/same height and width.* is 5 x 6 .* is 5 x 8/);
    expect([...new DataLoader(dataset, { batchSize: 1 })]).toHaveLength(8);
  });

  it('fails: a batch mixing labelled and unlabelled slices', () => {
    const dataset = new MedicalImageDataset([{ image: images[0]!, mask: masks[0]! }, { image: images[1]! }]);
    const error = rejection(() => [...new DataLoader(dataset, { batchSize: 8 })]);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/all have masks or all have none/);
  });

  it('rejects: batch size 0', () => {
    const error = rejection(() => new DataLoader(new MedicalImageDataset(pairs(1)), { batchSize: 0 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^options\.batchSize must be an integer >= 1; got 0$/);
  });

  it('rejects: a dataset of the wrong type', () => {
    const error = rejection(() => new DataLoader([] as unknown as MedicalImageDataset));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe(ErrorCode.INVALID_ARG_TYPE);
    expect(error.message).toMatch(/^dataset must be a MedicalImageDataset/);
  });
});
