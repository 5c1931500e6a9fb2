// SPDX-License-Identifier: MIT
//
// The `medunet` command end to end on a synthetic volume: train, predict, evaluate, help and
// failures, through the built dist/cli/main.js as a user runs it.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti, writeNifti } from '../../lib/data/nifti.js';
import { lastJsonLine, medunet, requireBuild, root, TEST_AFFINE, writeSyntheticPair } from './helpers.js';

let dir: string;
let pair: { image: string; mask: string };
let checkpoint: string;

beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(join(tmpdir(), 'medunet-cli-'));
  pair = writeSyntheticPair(dir);
  checkpoint = join(dir, 'model.pt');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('medunet train', () => {
  it('trains, validates on held-out slices and saves a checkpoint', () => {
    const args = ['train', '--image', pair.image, '--mask', pair.mask, '--val-slices', '8:12', '--epochs', '3'];
    const result = medunet([...args, '--batch-size', '4', '--base-width', '4', '--output', checkpoint, '--json', '--device', 'cpu']);
    expect(result.stderr).toContain('epoch 3/3');
    expect(result.status).toBe(0);
    const summary = lastJsonLine(result.stdout);
    expect(summary['command']).toBe('train');
    expect(summary['checkpoint']).toBe(checkpoint);
    expect(summary['trainSlices']).toBe(20);
    expect(summary['heldOutSlices']).toEqual({ [pair.image]: '8:12' });
    expect(summary['valDice']).toBeGreaterThanOrEqual(0);
    expect(summary['valDice']).toBeLessThanOrEqual(1);
    expect(Number.isFinite(summary['loss'])).toBe(true);
    expect(existsSync(checkpoint)).toBe(true);
  });

  it('fails: a missing image names the file', () => {
    const missing = join(dir, 'absent.nii.gz');
    const result = medunet(['train', '--image', missing, '--mask', pair.mask, '--epochs', '1']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(missing);
  });

  it('rejects: an image without its mask', () => {
    const result = medunet(['train', '--image', pair.image]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--mask/);
  });

  it('rejects: a non-numeric epoch count', () => {
    const result = medunet(['train', '--image', pair.image, '--mask', pair.mask, '--epochs', 'ten']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--epochs must be an integer; got "ten"/);
  });

  it('rejects: held-out slices beyond the volume', () => {
    const result = medunet(['train', '--image', pair.image, '--mask', pair.mask, '--val-slices', '20:30']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--val-slices: slice 29 is out of range; the volume has 24 slices/);
  });

  it('fails: cuda on a machine without it', { skip: process.env['MEDUNET_EXPECT_CUDA'] === '1' }, () => {
    const result = medunet(['train', '--image', pair.image, '--mask', pair.mask, '--device', 'cuda']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cuda/i);
  });
});

describe('medunet predict', () => {
  it('writes a mask with the input shape and affine', () => {
    const output = join(dir, 'pred.nii.gz');
    const result = medunet(['predict', '--model', checkpoint, '--input', pair.image, '--output', output, '--png', dir, '--json']);
    expect(result.status).toBe(0);
    const summary = lastJsonLine(result.stdout);
    expect(summary['dims']).toEqual([32, 32, 24]);
    expect(summary['axis']).toBe('axial');
    const mask = readNifti(output);
    expect(mask.dims.slice(0, 3)).toEqual([32, 32, 24]);
    expect(mask.datatype).toBe('uint8');
    expect(mask.affine).toEqual(TEST_AFFINE);
    expect(mask.data.every((v: number) => v === 0 || v === 1)).toBe(true);
    expect(existsSync(join(dir, 'prediction-montage.png'))).toBe(true);
  });

  it('fails: a corrupt checkpoint names the file', () => {
    const corrupt = join(dir, 'corrupt.pt');
    writeFileSync(corrupt, 'not a checkpoint');
    const result = medunet(['predict', '--model', corrupt, '--input', pair.image, '--output', join(dir, 'x.nii.gz')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(corrupt);
  });

  it('fails: a corrupt input volume names the file', () => {
    const corrupt = join(dir, 'corrupt.nii');
    writeFileSync(corrupt, Buffer.alloc(400, 7));
    const result = medunet(['predict', '--model', checkpoint, '--input', corrupt, '--output', join(dir, 'y.nii.gz')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(corrupt);
  });
});

describe('medunet evaluate', () => {
  it('scores the model on chosen slices as JSON', () => {
    const result = medunet(['evaluate', '--model', checkpoint, '--image', pair.image, '--mask', pair.mask, '--slices', '8:12', '--png', join(dir, 'panels'), '--json']);
    expect(result.status).toBe(0);
    const summary = lastJsonLine(result.stdout);
    expect(summary['sliceCount']).toBe(4);
    expect(summary['dice']).toBeGreaterThanOrEqual(0);
    expect(summary['dice']).toBeLessThanOrEqual(1);
    expect(summary['jaccard']).toBeLessThanOrEqual(summary['dice'] as number);
    expect((summary['png'] as string[]).length).toBe(4);
  });

  it('gives Dice 1 for the ground truth scored against itself', () => {
    const result = medunet(['evaluate', '--prediction', pair.mask, '--mask', pair.mask, '--json']);
    expect(result.status).toBe(0);
    const summary = lastJsonLine(result.stdout);
    expect(summary['dice']).toBe(1);
    expect(summary['jaccard']).toBe(1);
  });

  it('rejects: both --model and --prediction', () => {
    const result = medunet(['evaluate', '--model', checkpoint, '--prediction', pair.mask, '--mask', pair.mask]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/either --model/);
  });
});

describe('medunet help', () => {
  it.each(['train', 'predict', 'evaluate'])('prints the options of %s', (command) => {
    const result = medunet([command, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Usage: medunet ${command}`);
    expect(result.stdout).toContain('--device cpu|cuda|auto');
    expect(result.stdout).toContain('--json');
  });

  it('rejects: an unknown command', () => {
    const result = medunet(['segment']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown command "segment"/);
  });

  it('rejects: an unknown option', () => {
    const result = medunet(['predict', '--modle', 'x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--modle/);
  });
});

describe('medunet output and label checks', () => {
  it('rejects: a prediction written over its input', () => {
    const result = medunet(['predict', '--model', checkpoint, '--input', pair.image, '--output', pair.image]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--output .* is also an input file/);
  });

  it('rejects: a checkpoint named like a NIfTI file', () => {
    const result = medunet(['train', '--image', pair.image, '--mask', pair.mask, '--output', join(dir, 'model.nii.gz')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/names a NIfTI file/);
  });

  it('rejects: a --png path that is a file', () => {
    const result = medunet(['predict', '--model', checkpoint, '--input', pair.image, '--output', join(dir, 'z.nii.gz'), '--png', pair.mask]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--png .* is a file, not a folder/);
    expect(existsSync(join(dir, 'z.nii.gz'))).toBe(false);
  });

  it('rejects: class labels beyond --classes, naming the mask', () => {
    // The image's intensities (about 40 to 340) are no labels for two classes.
    const labels = medunet(['evaluate', '--prediction', pair.mask, '--mask', pair.image, '--classes', '2']);
    expect(labels.status).toBe(2);
    expect(labels.stderr).toContain(pair.image);
    expect(labels.stderr).toMatch(/labels must be in \[0, 1\]|integer class labels/);
  });

  it('rejects: an image whose voxels are all NaN', () => {
    const nan = join(dir, 'nan.nii.gz');
    writeNifti(nan, { data: new Float32Array(32 * 32 * 24).fill(Number.NaN), dims: [32, 32, 24] });
    const result = medunet(['train', '--image', nan, '--mask', pair.mask, '--output', join(dir, 'nan.pt')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${nan}: every voxel is NaN or infinite`);
    expect(existsSync(join(dir, 'nan.pt'))).toBe(false);
  });

  it('prints a JSON error object with --json', () => {
    const result = medunet(['predict', '--model', join(dir, 'absent.pt'), '--input', pair.image, '--output', join(dir, 'w.nii.gz'), '--json']);
    expect(result.status).toBe(1);
    const error = lastJsonLine(result.stdout);
    expect(error['command']).toBe('predict');
    expect(error['status']).toBe(1);
    expect(String(error['error'])).toContain('absent.pt');
  });

  it('trains when the last batch would hold one slice', () => {
    // 24 slices minus 3 held out leaves 21 = 2 x 10 + 1 training slices.
    const args = ['train', '--image', pair.image, '--mask', pair.mask, '--val-slices', '0:3', '--batch-size', '10', '--epochs', '1'];
    const result = medunet([...args, '--base-width', '4', '--output', join(dir, 'odd.pt'), '--json']);
    expect(result.stderr).not.toMatch(/more than 1 value per channel/);
    expect(result.status).toBe(0);
    expect(lastJsonLine(result.stdout)['trainSlices']).toBe(21);
  });
});

describe('medunet without its addon', () => {
  it('prints help and names the missing addon', () => {
    // A copy of dist/ under a package root that has no build/ folder, so no addon can be found.
    const bare = join(dir, 'bare');
    cpSync(join(root, 'dist'), join(bare, 'dist'), { recursive: true });
    writeFileSync(join(bare, 'package.json'), '{ "name": "medunet", "type": "module" }');
    writeFileSync(join(bare, 'CMakeLists.txt'), '');
    symlinkSync(join(root, 'node_modules'), join(bare, 'node_modules'), 'dir');
    const env = { ...process.env, MEDUNET_ADDON: '' };
    const cli = join(bare, 'dist', 'cli', 'main.js');
    const help = spawnSync(process.execPath, [cli, 'train', '--help'], { encoding: 'utf8', env });
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: medunet train');
    const run = spawnSync(process.execPath, [cli, 'evaluate', '--prediction', pair.mask, '--mask', pair.mask], { encoding: 'utf8', env });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/could not load the native addon/);
  });
});
