// SPDX-License-Identifier: MIT
//
// Shared set-up of the end-to-end tests: the built package and a small synthetic volume.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeNifti } from '../../lib/data/nifti.js';

export const root = join(import.meta.dirname, '..', '..');
export const cliPath = join(root, 'dist', 'cli', 'main.js');

/** Throws with the command to run when dist/ is missing, rather than failing obscurely. */
export function requireBuild(): void {
  if (!existsSync(cliPath) || !existsSync(join(root, 'dist', 'index.cjs'))) {
    throw new Error(`${cliPath} is missing: run 'npm run build' (npm test does it) before the end-to-end tests`);
  }
}

/** Runs the `medunet` command and returns its status and output. */
export function medunet(args: string[], cwd = root): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, ...args], { cwd, encoding: 'utf8', env: { ...process.env, MEDUNET_NUM_THREADS: '2' } });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The last line of a command's standard output, parsed as JSON. */
export function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
}

/** An affine with 1.5 mm voxels and an offset, so that tests notice an affine that is lost. */
export const TEST_AFFINE = [
  [1.5, 0, 0, -24],
  [0, 1.5, 0, -30],
  [0, 0, 2, -20],
  [0, 0, 0, 1],
];

/**
 * Writes a 32x32x24 image of a bright ellipsoid on noise and its mask (the ellipsoid) to `dir`,
 * as image.nii.gz and mask.nii.gz.
 */
export function writeSyntheticPair(dir: string, seed = 1): { image: string; mask: string } {
  const [nx, ny, nz] = [32, 32, 24];
  const image = new Float32Array(nx * ny * nz);
  const mask = new Uint8Array(nx * ny * nz);
  let state = seed;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const r = ((x - 15) / 10) ** 2 + ((y - 17) / 8) ** 2 + ((z - 12) / 9) ** 2;
        const i = x + nx * (y + ny * z);
        mask[i] = r < 1 ? 1 : 0;
        image[i] = (r < 1 ? 300 : 80) + 40 * noise();
      }
    }
  }
  const header = { sformCode: 2, qformCode: 1 };
  const paths = { image: join(dir, 'image.nii.gz'), mask: join(dir, 'mask.nii.gz') };
  writeNifti(paths.image, { data: image, dims: [nx, ny, nz], pixdim: [1.5, 1.5, 2], affine: TEST_AFFINE, header });
  writeNifti(paths.mask, { data: mask, dims: [nx, ny, nz], pixdim: [1.5, 1.5, 2], affine: TEST_AFFINE, header });
  return paths;
}
