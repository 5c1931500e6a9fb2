// SPDX-License-Identifier: MIT
//
// The engine driven by the real data path: NIfTI files on disk, MedicalImageDataset, DataLoader.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataLoader, MedicalImageDataset, readNifti, writeNifti } from '../../../lib/data/index.js';
import { loadModel, saveCheckpoint } from '../../../lib/engine/checkpoint.js';
import { predictVolume } from '../../../lib/engine/predict.js';
import { trainModel } from '../../../lib/engine/train.js';
import { DiceLoss } from '../../../lib/losses/dice.js';
import { UNet } from '../../../lib/models/unet.js';
import { Adam } from '../../../lib/optim/adam.js';
import { manualSeed } from '../../../lib/tensor.js';
import { seededRandom } from './synthetic.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-pipeline-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Writes a 24 x 20 x 6 volume with a bright box and its mask; returns both paths. */
function writeBoxVolume(name: string, seed: number): { image: string; mask: string } {
  const [nx, ny, nz] = [24, 20, 6];
  const random = seededRandom(seed);
  const image = new Int16Array(nx * ny * nz);
  const mask = new Uint8Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const inside = x >= 6 && x < 16 && y >= 5 && y < 13;
        const i = x + nx * (y + ny * z);
        image[i] = Math.round((inside ? 800 : 200) + random() * 300);
        mask[i] = inside ? 1 : 0;
      }
    }
  }
  const paths = { image: join(folder, `${name}.nii.gz`), mask: join(folder, `${name}-mask.nii.gz`) };
  writeNifti(paths.image, { data: image, dims: [nx, ny, nz], pixdim: [1, 1, 2] });
  writeNifti(paths.mask, { data: mask, dims: [nx, ny, nz], pixdim: [1, 1, 2] });
  return paths;
}

describe('engine with the data path', () => {
  it('trains from a DataLoader, checkpoints, and predicts a NIfTI volume', async () => {
    const train = writeBoxVolume('train', 1);
    const val = writeBoxVolume('val', 2);
    const loader = new DataLoader(new MedicalImageDataset([train]), { batchSize: 3, shuffle: true, seed: 3 });
    const valLoader = new DataLoader(new MedicalImageDataset([val]), { batchSize: 3 });
    manualSeed(4);
    const model = new UNet({ baseWidth: 2 });
    const optimizer = new Adam(model.parameters(), { lr: 0.03 });
    const history = await trainModel(model, loader, optimizer, new DiceLoss(), 'cpu', 3, { valLoader });
    expect(history.epochs).toHaveLength(3);
    expect(history.epochs.every((e) => e.valDice !== undefined && e.valDice >= 0 && e.valDice <= 1)).toBe(true);

    const checkpoint = join(folder, 'model.pt');
    saveCheckpoint(checkpoint, model, { epochs: 3 });
    const restored = loadModel(checkpoint);
    const volume = readNifti(val.image);
    const first = await predictVolume(model, volume);
    const second = await predictVolume(restored, volume);
    expect(second.dims).toEqual(volume.dims);
    expect(second.mask).toHaveLength(24 * 20 * 6);
    expect(Array.from(second.mask)).toEqual(Array.from(first.mask));
  });
});
