// SPDX-License-Identifier: MIT
//
// 4D and 5D images: dims, volume selection after reading and while reading, checked against
// what nibabel reads from the files it wrote (when /usr/bin/python3 can import nibabel) and
// against hand-built files.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import { readNifti, readNiftiAsync, selectVolume, volumeCount } from '../../../lib/data/nifti.js';
import { buildNifti1, encode, ramp, tempDir } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasNibabel = spawnSync(PYTHON, ['-c', 'import nibabel'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import nibabel`;

const tmp = tempDir('nifti-volumes');
afterAll(() => tmp.remove());

// Writes a 4D int16, a 5D float32 (with scaling) and a 4D file with one time point, then prints
// each file's shape and every 3D volume in Fortran order, as nibabel reads them.
const WRITE_SERIES = `
import json, sys
import numpy as np
import nibabel as nib
folder = sys.argv[1]
affine = np.array([[-1.5, 0, 0, 90], [0, 1.5, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])
series4d = (np.arange(3 * 4 * 2 * 5) * 3 - 40).astype(np.int16).reshape((3, 4, 2, 5), order='F')
series5d = np.linspace(-2, 2, 3 * 4 * 2 * 2 * 3).astype(np.float32).reshape((3, 4, 2, 2, 3), order='F')
images = {
    'series4d.nii.gz': nib.Nifti1Image(series4d, affine),
    'series5d.nii': nib.Nifti1Image(series5d, affine),
    'single4d.nii': nib.Nifti1Image(np.arange(24, dtype=np.uint8).reshape((3, 4, 2, 1), order='F'), affine),
}
images['series4d.nii.gz'].header.set_xyzt_units('mm', 'sec')
images['series4d.nii.gz'].header['pixdim'][4] = 2.5
images['series5d.nii'].header.set_slope_inter(0.5, 1.0)
out = {}
for name, image in images.items():
    image.to_filename(folder + '/' + name)
    loaded = nib.load(folder + '/' + name)
    data = np.asarray(loaded.dataobj)
    flat = data.reshape(data.shape[:3] + (-1,), order='F')
    out[name] = {'shape': list(loaded.shape), 'zooms': [float(z) for z in loaded.header.get_zooms()],
                 'affine': loaded.affine.tolist(),
                 'volumes': [flat[..., v].ravel(order='F').tolist() for v in range(flat.shape[3])]}
print(json.dumps(out))
`;

interface SeriesView {
  shape: number[];
  zooms: number[];
  affine: number[][];
  volumes: number[][];
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 5);
}

function thrown(run: () => unknown): Error & { code?: string } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('4D and 5D files written by nibabel', () => {
  let views: Record<string, SeriesView> = {};

  beforeAll(() => {
    if (!hasNibabel) return;
    const result = spawnSync(PYTHON, ['-c', WRITE_SERIES, tmp.dir], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
    views = JSON.parse(result.stdout) as Record<string, SeriesView>;
  });
  beforeEach((context) => context.skip(!hasNibabel, SKIP_REASON));

  it('reads dims and voxel sizes of every dim', () => {
    for (const [name, view] of Object.entries(views)) {
      const volume = readNifti(tmp.path(name));
      expect(volume.dims, name).toEqual(view.shape);
      expectClose(volume.pixdim, view.zooms);
      expect(volumeCount(volume.dims), name).toBe(view.volumes.length);
    }
  });

  it('selects each volume like nibabel', () => {
    for (const [name, view] of Object.entries(views)) {
      const volume = readNifti(tmp.path(name));
      view.volumes.forEach((expected, index) => {
        const selected = selectVolume(volume, index);
        expect(selected.dims).toEqual(view.shape.slice(0, 3));
        expect(selected.pixdim).toHaveLength(3);
        expectClose(selected.data as ArrayLike<number>, expected);
        expectClose(selected.affine.flat(), view.affine.flat());
      });
    }
  });

  it('reads one volume by option, sync and async', async () => {
    const view = views['series4d.nii.gz']!;
    for (let t = 0; t < 5; t++) {
      const volume = readNifti(tmp.path('series4d.nii.gz'), { volume: t });
      expect(volume.dims).toEqual([3, 4, 2]);
      expect(volume.data).toBeInstanceOf(Int16Array);
      expectClose(volume.data as Int16Array, view.volumes[t]!);
      const viaArray = await readNiftiAsync(tmp.path('series4d.nii.gz'), { volume: [t] });
      expectClose(viaArray.data as Int16Array, view.volumes[t]!);
    }
  });

  it('indexes 5D volumes as [t, c] with t fastest', () => {
    const view = views['series5d.nii']!;
    const whole = readNifti(tmp.path('series5d.nii'));
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < 2; t++) {
        const expected = view.volumes[t + 2 * c]!;
        expectClose(selectVolume(whole, [t, c]).data as Float32Array, expected);
        expectClose(readNifti(tmp.path('series5d.nii'), { volume: [t, c] }).data as Float32Array, expected);
      }
    }
  });
});

describe('volume selection on hand-built files', () => {
  it('reads dim[4] = 0 as one volume', () => {
    const path = tmp.path('dim4-zero.nii');
    writeFileSync(
      path,
      buildNifti1({
        dims: [3, 4, 2],
        rawDim: [4, 3, 4, 2, 0, 1, 1, 1],
        datatype: 'int16',
        voxels: encode(ramp(24, -3), 'int16'),
      }),
    );
    const volume = readNifti(path);
    expect(volume.dims).toEqual([3, 4, 2, 1]);
    expect(volumeCount(volume.dims)).toBe(1);
    expect(Array.from(selectVolume(volume, 0).data as Int16Array)).toEqual(ramp(24, -3));
    expect(Array.from(readNifti(path, { volume: 0 }).data as Int16Array)).toEqual(ramp(24, -3));
  });

  it('treats a 3D volume as volume 0', () => {
    const path = tmp.path('plain3d.nii');
    writeFileSync(path, buildNifti1({ dims: [3, 4, 2], datatype: 'uint8', voxels: Uint8Array.from(ramp(24)) }));
    const volume = readNifti(path);
    expect(volumeCount(volume.dims)).toBe(1);
    const selected = selectVolume(volume, 0);
    expect(selected.data).not.toBe(volume.data);
    expect(Array.from(selected.data as Uint8Array)).toEqual(ramp(24));
  });

  it('reads only the requested volume bytes', () => {
    const path = tmp.path('series-be.nii');
    const values = ramp(3 * 4 * 2 * 3, 100);
    writeFileSync(
      path,
      buildNifti1({
        dims: [3, 4, 2, 3],
        datatype: 'float32',
        voxels: encode(values, 'float32', false),
        littleEndian: false,
      }),
    );
    const volume = readNifti(path, { volume: 2 });
    expect(Array.from(volume.data as Float32Array)).toEqual(values.slice(48, 72));
    expect(volume.pixdim).toHaveLength(3);
  });

  it('rejects: volume index out of range', () => {
    const path = tmp.path('range.nii');
    writeFileSync(path, buildNifti1({ dims: [2, 2, 2, 4], datatype: 'uint8', voxels: new Uint8Array(32) }));
    const volume = readNifti(path);
    const cases: [unknown, string][] = [
      [4, 'index'],
      [-1, 'index'],
      [[0, 1], 'index'],
      [[4], 'index[0]'],
      [1.5, 'index'],
    ];
    for (const [index, name] of cases) {
      const error = thrown(() => selectVolume(volume, index as number));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
      expect(error.message.startsWith(`${name} must be`)).toBe(true);
    }
    const optionError = thrown(() => readNifti(path, { volume: 9 }));
    expect(optionError).toBeInstanceOf(RangeError);
    expect(optionError.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(optionError.message).toMatch(/^options\.volume must be an integer in \[0, 3\]/);
  });

  it('rejects: volume index of the wrong type', () => {
    const path = tmp.path('type.nii');
    writeFileSync(path, buildNifti1({ dims: [2, 2, 2, 2], datatype: 'uint8', voxels: new Uint8Array(16) }));
    const volume = readNifti(path);
    for (const index of ['1', null, { t: 0 }]) {
      const error = thrown(() => selectVolume(volume, index as unknown as number));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe(ErrorCode.INVALID_ARG_TYPE);
      expect(error.message).toMatch(/^index must be an integer or an array of integers/);
    }
    const entryError = thrown(() => selectVolume(volume, ['0'] as unknown as number[]));
    expect(entryError).toBeInstanceOf(TypeError);
    expect(entryError.message).toMatch(/^index\[0\] must be an integer/);
  });
});
