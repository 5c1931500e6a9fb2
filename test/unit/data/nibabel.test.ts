// SPDX-License-Identifier: MIT
//
// Optional cross-check against nibabel, the reference NIfTI library for Python. Runs only when
// /usr/bin/python3 can import nibabel (PYTHONPATH is passed through); otherwise every test is
// skipped with that reason.

import { spawnSync } from 'node:child_process';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { readNifti, writeNifti } from '../../../lib/data/nifti.js';
import { tempDir } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasNibabel = spawnSync(PYTHON, ['-c', 'import nibabel'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import nibabel`;

const tmp = tempDir('nibabel');
afterAll(() => tmp.remove());

/** Runs a Python snippet with `path` as sys.argv[1] and returns the JSON it prints. */
function python<T>(script: string, path: string): T {
  const result = spawnSync(PYTHON, ['-c', script, path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

// Writes files with nibabel: an oblique int16 volume with scaling and differing qform and
// sform, a big-endian float64 volume with only a qform, and a NIfTI-2 uint8 volume.
const WRITE_WITH_NIBABEL = `
import json, sys
import numpy as np
import nibabel as nib
folder = sys.argv[1]
data = (np.arange(4 * 3 * 5, dtype=np.int16).reshape((4, 3, 5), order='F') * 7 - 50)
theta = 0.4
affine = np.array([[np.cos(theta) * 1.5, -np.sin(theta) * 2.0, 0, -60.0],
                   [np.sin(theta) * 1.5, np.cos(theta) * 2.0, 0, 31.5],
                   [0, 0, 2.5, -12.0],
                   [0, 0, 0, 1]])
scaled = nib.Nifti1Image(data, affine)
scaled.header.set_slope_inter(0.5, 3.0)
scaled.set_qform(np.diag([1.5, 2.0, 2.5, 1.0]), code=1)
scaled.set_sform(affine, code=2)
scaled.to_filename(folder + '/scaled.nii.gz')

qform_only = nib.Nifti1Image(np.linspace(-1, 1, 60).reshape((5, 4, 3), order='F'), affine)
qform_only.set_sform(None, code=0)
qform_only.set_qform(affine, code=1)
swapped = qform_only.header.as_byteswapped('>')
nib.Nifti1Image(qform_only.get_fdata(), None, swapped).to_filename(folder + '/big-endian.nii')

nib.Nifti2Image(np.arange(24, dtype=np.uint8).reshape((2, 3, 4), order='F'), affine).to_filename(folder + '/v2.nii.gz')

out = {}
for name in ['scaled.nii.gz', 'big-endian.nii', 'v2.nii.gz']:
    img = nib.load(folder + '/' + name)
    out[name] = {'data': img.get_fdata().ravel(order='F').tolist(), 'affine': img.affine.tolist(),
                 'shape': list(img.shape)}
print(json.dumps(out))
`;

// Reads a file that medunet wrote and prints nibabel's view of it as JSON.
const READ_WITH_NIBABEL = `
import json, sys
import nibabel as nib
img = nib.load(sys.argv[1])
hdr = img.header
print(json.dumps({
    'data': img.get_fdata().ravel(order='F').tolist(),
    'affine': img.affine.tolist(),
    'qform': img.get_qform().tolist(),
    'codes': [int(hdr['qform_code']), int(hdr['sform_code'])],
    'zooms': [float(z) for z in hdr.get_zooms()],
    'dtype': str(img.get_data_dtype()),
}))
`;

// Loads a file that medunet wrote as NIfTI-2 and prints the image class, data and geometry.
const READ_NIFTI2_WITH_NIBABEL = `
import json, sys
import nibabel as nib
img = nib.load(sys.argv[1])
hdr = img.header
print(json.dumps({
    'class': type(img).__name__,
    'data': img.get_fdata().ravel(order='F').tolist(),
    'shape': list(img.shape),
    'affine': img.affine.tolist(),
    'codes': [int(hdr['qform_code']), int(hdr['sform_code'])],
    # nibabel zeroes vox_offset in a loaded image's header; the array proxy keeps the offset read.
    'vox_offset': int(img.dataobj.offset),
    'dtype': str(img.get_data_dtype()),
}))
`;

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, digits);
}

describe('nibabel cross-check', () => {
  beforeEach((context) => context.skip(!hasNibabel, SKIP_REASON));

  it('reads what nibabel writes', () => {
    const expected = python<Record<string, { data: number[]; affine: number[][]; shape: number[] }>>(
      WRITE_WITH_NIBABEL,
      tmp.dir,
    );
    for (const [name, reference] of Object.entries(expected)) {
      const volume = readNifti(tmp.path(name));
      expect(volume.dims).toEqual(reference.shape);
      expectClose(volume.data as Float32Array, reference.data, 4);
      expectClose(volume.affine.flat(), reference.affine.flat(), 4);
    }
    expect(readNifti(tmp.path('big-endian.nii')).header.littleEndian).toBe(false);
  });

  it('writes what nibabel reads, with the source geometry', () => {
    const scanPath = tmp.path('scan.nii.gz');
    const affine = [
      [-0.9, 0.1, 0, 90],
      [0.1, 0.9, 0.05, -126],
      [0, -0.05, 1.2, -72],
      [0, 0, 0, 1],
    ];
    writeNifti(scanPath, { data: Float32Array.from({ length: 60 }, (_, i) => i / 10), dims: [5, 4, 3], affine });
    const scan = readNifti(scanPath);
    const maskPath = tmp.path('mask.nii.gz');
    const mask = Uint8Array.from({ length: 60 }, (_, i) => i % 2);
    writeNifti(maskPath, {
      data: mask,
      dims: scan.dims,
      pixdim: scan.pixdim,
      affine: scan.affine,
      header: scan.header,
    });

    const seen = python<{
      data: number[];
      affine: number[][];
      qform: number[][];
      codes: number[];
      zooms: number[];
      dtype: string;
    }>(READ_WITH_NIBABEL, maskPath);
    expect(seen.dtype).toBe('uint8');
    expect(seen.data).toEqual([...mask]);
    expect(seen.codes).toEqual([2, 2]);
    expectClose(seen.affine.flat(), affine.flat(), 4);
    // The qform is the nearest rotation of the sheared affine, so it agrees only roughly.
    expectClose(seen.qform.flat(), affine.flat(), 0);
    expectClose(seen.zooms, scan.pixdim, 5);
  });

  it('writes NIfTI-2 that nibabel loads as Nifti2Image', () => {
    const affine = [
      [0.7, -0.2, 0, -80.25],
      [0.2, 0.7, 0, 101.5],
      [0, 0, 1.3, -40],
      [0, 0, 0, 1],
    ];
    const data = Int16Array.from({ length: 60 }, (_, i) => i * 13 - 300);
    for (const name of ['v2-out.nii', 'v2-out.nii.gz']) {
      const path = tmp.path(name);
      writeNifti(path, { data, dims: [5, 4, 3], affine }, { niftiVersion: 2 });
      const seen = python<{
        class: string;
        data: number[];
        shape: number[];
        affine: number[][];
        codes: number[];
        vox_offset: number;
        dtype: string;
      }>(READ_NIFTI2_WITH_NIBABEL, path);
      expect(seen.class, name).toBe('Nifti2Image');
      expect(seen.dtype, name).toBe('int16');
      expect(seen.shape, name).toEqual([5, 4, 3]);
      expect(seen.data, name).toEqual([...data]);
      expect(seen.vox_offset, name).toBe(544);
      expect(seen.codes, name).toEqual([2, 2]);
      expectClose(seen.affine.flat(), affine.flat(), 10);
    }
  });
});
