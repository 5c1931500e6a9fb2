// SPDX-License-Identifier: MIT
//
// The promise forms of NIfTI reading and writing pause between ranges of voxels. These tests
// check that they return and write exactly what the synchronous forms do, on volumes large
// enough to span several pauses.

import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readNifti, readNiftiAsync, writeNifti, writeNiftiAsync, type ReadNiftiOptions } from '../../../lib/data/nifti.js';
import { VOXELS_PER_STEP } from '../../../lib/data/nifti-steps.js';
import { buildNifti1, encode, tempDir, type CodeName } from './fixtures.js';

const folder = tempDir('nifti-async');
afterAll(() => folder.remove());

/** 48 x 40 x 40 voxels: more than one step of voxels, and 1920 voxels per slice. */
const DIMS = [48, 40, 40];
const COUNT = DIMS[0]! * DIMS[1]! * DIMS[2]!;

/** Voxel values that fit every integer datatype tested, with a fractional part for floats. */
function values(datatype: CodeName): number[] {
  const fraction = datatype.startsWith('float') ? 0.25 : 0;
  return Array.from({ length: COUNT }, (_, i) => ((i * 37) % 251) + fraction);
}

/** Voxel i runs to the subject's left, j superior, k anterior: an LSA file that 'RAS' permutes and flips. */
const LSA_SROW = [
  [-1, 0, 0, 40],
  [0, 0, 1, -20],
  [0, 1, 0, -30],
];

interface Case {
  name: string;
  datatype: CodeName;
  littleEndian: boolean;
  slope: number;
  gzip: boolean;
  options: ReadNiftiOptions;
}

const CASES: Case[] = [
  // Straight reads: a view of the file's bytes, and a big-endian file that needs a byte swap.
  { name: 'float32 little-endian', datatype: 'float32', littleEndian: true, slope: 1, gzip: false, options: {} },
  { name: 'int16 big-endian', datatype: 'int16', littleEndian: false, slope: 1, gzip: false, options: {} },
  { name: 'int16 big-endian gzip', datatype: 'int16', littleEndian: false, slope: 1, gzip: true, options: {} },
  // Scaling, float32 conversion and reorientation, alone and together.
  { name: 'uint8 scaled', datatype: 'uint8', littleEndian: true, slope: 0.5, gzip: true, options: {} },
  { name: 'float64 scaled', datatype: 'float64', littleEndian: true, slope: 3, gzip: false, options: {} },
  { name: 'int16 to float32', datatype: 'int16', littleEndian: true, slope: 1, gzip: false, options: { toFloat32: true } },
  { name: 'uint8 reoriented', datatype: 'uint8', littleEndian: true, slope: 1, gzip: false, options: { orientation: 'RAS' } },
  {
    name: 'int16 big-endian scaled and reoriented',
    datatype: 'int16',
    littleEndian: false,
    slope: 2,
    gzip: true,
    options: { toFloat32: true, orientation: 'RAS' },
  },
];

function writeCase(test: Case): string {
  const bytes = buildNifti1({
    dims: DIMS,
    datatype: test.datatype,
    voxels: encode(values(test.datatype), test.datatype, test.littleEndian),
    littleEndian: test.littleEndian,
    slope: test.slope,
    inter: test.slope === 1 ? 0 : -1,
    sformCode: 1,
    srow: LSA_SROW,
  });
  const path = folder.path(`${test.name.replaceAll(' ', '-')}.nii${test.gzip ? '.gz' : ''}`);
  writeFileSync(path, test.gzip ? gzipSync(bytes) : bytes);
  return path;
}

describe('readNiftiAsync', () => {
  it('reads volumes of several steps', () => {
    expect(COUNT).toBeGreaterThan(VOXELS_PER_STEP);
  });

  for (const test of CASES) {
    it(`matches readNifti: ${test.name}`, async () => {
      const path = writeCase(test);
      const expected = readNifti(path, test.options);
      const actual = await readNiftiAsync(path, test.options);
      expect(actual.data.constructor).toBe(expected.data.constructor);
      expect(actual.data).toEqual(expected.data);
      expect(actual.dims).toEqual(expected.dims);
      expect(actual.affine).toEqual(expected.affine);
      expect(actual.header).toEqual(expected.header);
    });
  }

  it('scales and reorients as specified', async () => {
    const test = CASES[CASES.length - 1]!;
    const volume = await readNiftiAsync(writeCase(test), test.options);
    // RAS voxel (i, j, k) is file voxel (nx - 1 - i, k, j), because file i runs left, j superior and k anterior.
    const [nx, ny, nz] = DIMS as [number, number, number];
    expect(volume.dims).toEqual([nx, nz, ny]);
    const raw = values(test.datatype);
    for (const [i, j, k] of [[0, 0, 0], [5, 7, 9], [nx - 1, nz - 1, ny - 1]] as const) {
      const fileIndex = nx - 1 - i + nx * (k + ny * j);
      expect(volume.data[i + nx * (j + nz * k)]).toBe(raw[fileIndex]! * 2 - 1);
    }
  });
});

describe('writeNiftiAsync', () => {
  const data = new Float32Array(values('float32'));
  const affine = [[-1, 0, 0, 40], [0, 0, 1, -20], [0, 1, 0, -30], [0, 0, 0, 1]];

  for (const datatype of ['float32', 'int16', 'auto'] as const) {
    it(`writes the bytes of writeNifti: ${datatype}`, async () => {
      const expectedPath = folder.path(`sync-${datatype}.nii`);
      const actualPath = folder.path(`async-${datatype}.nii`);
      writeNifti(expectedPath, { data, dims: DIMS, affine }, { datatype });
      await writeNiftiAsync(actualPath, { data, dims: DIMS, affine }, { datatype });
      expect(readFileSync(actualPath).equals(readFileSync(expectedPath))).toBe(true);
    });
  }

  it('writes the bytes of writeNifti: gzip', async () => {
    const mask = new Uint8Array(COUNT).map((_, i) => (i >> 7) & 1);
    writeNifti(folder.path('sync-mask.nii.gz'), { data: mask, dims: DIMS, affine });
    await writeNiftiAsync(folder.path('async-mask.nii.gz'), { data: mask, dims: DIMS, affine });
    const expected = gunzipSync(readFileSync(folder.path('sync-mask.nii.gz')));
    expect(gunzipSync(readFileSync(folder.path('async-mask.nii.gz'))).equals(expected)).toBe(true);
  });

  it('ignores changes to the data after the call', async () => {
    const source = new Float32Array(data);
    const path = folder.path('changed.nii');
    const writing = writeNiftiAsync(path, { data: source, dims: DIMS, affine }, { datatype: 'auto' });
    source.fill(7);
    await writing;
    expect(readNifti(path).data).toEqual(data);
  });
});
