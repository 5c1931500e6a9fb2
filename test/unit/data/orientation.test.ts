// SPDX-License-Identifier: MIT
//
// Reorientation to the closest canonical RAS+ layout, checked against nibabel's
// as_closest_canonical (when /usr/bin/python3 can import nibabel) and by hand.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import {
  axisCodes,
  readNifti,
  readNiftiAsync,
  reorientFromRAS,
  reorientToRAS,
  writeNifti,
  type NiftiVolume,
} from '../../../lib/data/nifti.js';
import { buildNifti1, encode, ramp, tempDir } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasNibabel = spawnSync(PYTHON, ['-c', 'import nibabel'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import nibabel`;

const tmp = tempDir('orientation');
afterAll(() => tmp.remove());

// Axis codes of the test files; an 'o' suffix adds an oblique rotation of about 12 degrees.
const CODES = ['RAS', 'LPS', 'LIA', 'PSR', 'ASL', 'IRP', 'LAS', 'RPI', 'LPSo', 'PSRo', 'AIRo'];

// Writes one int16 file per code (dims 3 x 4 x 5, 4D for 'LIA'), then prints the codes nibabel
// finds and nibabel's as_closest_canonical of each file.
const WRITE_ORIENTED = `
import json, sys
import numpy as np
import nibabel as nib
from nibabel.orientations import axcodes2ornt, aff2axcodes
folder = sys.argv[1]
out = {}
for name in sys.argv[2:]:
    codes = name[:3]
    ornt = axcodes2ornt(tuple(codes))
    zooms = [0.8, 1.1, 2.5]
    linear = np.zeros((3, 3))
    for voxel_axis, (world_axis, sign) in enumerate(ornt):
        linear[int(world_axis), voxel_axis] = sign * zooms[voxel_axis]
    if name.endswith('o'):
        t = 0.21
        tilt = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
        turn = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        linear = tilt @ turn @ linear
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = [-30.5, 12.25, 7.0]
    shape = (3, 4, 5, 2) if codes == 'LIA' else (3, 4, 5)
    data = (np.arange(np.prod(shape)) - 17).astype(np.int16).reshape(shape, order='F')
    path = f'{folder}/{name}.nii.gz'
    nib.Nifti1Image(data, affine).to_filename(path)
    image = nib.load(path)
    canonical = nib.as_closest_canonical(image)
    out[name] = {'codes': ''.join(aff2axcodes(image.affine)), 'shape': list(canonical.shape),
                 'data': np.asarray(canonical.dataobj).ravel(order='F').tolist(),
                 'affine': canonical.affine.tolist(),
                 'zooms': [float(z) for z in canonical.header.get_zooms()]}
print(json.dumps(out))
`;

interface CanonicalView {
  codes: string;
  shape: number[];
  data: number[];
  affine: number[][];
  zooms: number[];
}

function expectAffineClose(actual: number[][], expected: number[][], label: string): void {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) expect(actual[r]![c], `${label} affine[${r}][${c}]`).toBeCloseTo(expected[r]![c]!, 4);
  }
}

function thrown(run: () => unknown): Error & { code?: string } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('reorientation against nibabel as_closest_canonical', () => {
  let views: Record<string, CanonicalView> = {};

  beforeAll(() => {
    if (!hasNibabel) return;
    const result = spawnSync(PYTHON, ['-c', WRITE_ORIENTED, tmp.dir, ...CODES], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
    views = JSON.parse(result.stdout) as Record<string, CanonicalView>;
  });
  beforeEach((context) => context.skip(!hasNibabel, SKIP_REASON));

  it('finds the axis codes nibabel finds', () => {
    for (const name of CODES) {
      const volume = readNifti(tmp.path(`${name}.nii.gz`));
      expect(axisCodes(volume.affine), name).toBe(views[name]!.codes);
      expect(views[name]!.codes, name).toBe(name.slice(0, 3));
    }
  });

  it('reorients data and affine like nibabel', () => {
    for (const name of CODES) {
      const view = views[name]!;
      const reoriented = reorientToRAS(readNifti(tmp.path(`${name}.nii.gz`)));
      expect(reoriented.dims, name).toEqual(view.shape);
      expect(Array.from(reoriented.data as Int16Array), name).toEqual(view.data);
      expectAffineClose(reoriented.affine, view.affine, name);
      reoriented.pixdim.forEach((size, axis) => {
        expect(size, `${name} pixdim ${axis}`).toBeCloseTo(view.zooms[axis]!, 5);
      });
      expect(axisCodes(reoriented.affine), name).toBe('RAS');
    }
  });

  it('reorients on read, sync and async', async () => {
    for (const name of ['LPS', 'PSRo']) {
      const view = views[name]!;
      const sync = readNifti(tmp.path(`${name}.nii.gz`), { orientation: 'RAS' });
      expect(Array.from(sync.data as Int16Array)).toEqual(view.data);
      expectAffineClose(sync.affine, view.affine, name);
      const async = await readNiftiAsync(tmp.path(`${name}.nii.gz`), { orientation: 'RAS' });
      expect(Array.from(async.data as Int16Array)).toEqual(view.data);
    }
  });

  it('maps RAS data back to the file order', () => {
    for (const name of CODES) {
      const original = readNifti(tmp.path(`${name}.nii.gz`));
      const reoriented = reorientToRAS(original);
      const back = reorientFromRAS(reoriented.data, original);
      expect(Array.from(back as Int16Array), name).toEqual(Array.from(original.data as Int16Array));
    }
  });

  it('writes a mask that overlays the original file', () => {
    const original = readNifti(tmp.path('PSRo.nii.gz'));
    const reoriented = reorientToRAS(original);
    // A mask of the voxels with positive values, computed in RAS order.
    const maskRas = Uint8Array.from(reoriented.data as Int16Array, (value) => (value > 0 ? 1 : 0));
    const maskPath = tmp.path('mask-psr.nii.gz');
    writeNifti(maskPath, {
      data: reorientFromRAS(maskRas, original),
      dims: original.dims,
      affine: original.affine,
      header: original.header,
    });
    const mask = readNifti(maskPath);
    expectAffineClose(mask.affine, original.affine, 'mask');
    const expected = Array.from(original.data as Int16Array, (value) => (value > 0 ? 1 : 0));
    expect(Array.from(mask.data as Uint8Array)).toEqual(expected);
  });

  it('keeps the header geometry consistent', () => {
    const reoriented = reorientToRAS(readNifti(tmp.path('LPSo.nii.gz')));
    const path = tmp.path('reoriented.nii.gz');
    writeNifti(path, {
      data: reoriented.data,
      dims: reoriented.dims,
      affine: reoriented.affine,
      header: reoriented.header,
    });
    const again = readNifti(path);
    expectAffineClose(again.affine, views['LPSo']!.affine, 'rewritten');
    expect(axisCodes(again.affine)).toBe('RAS');
  });
});

describe('reorientation by hand', () => {
  const lps = [
    [-2, 0, 0, 10],
    [0, -3, 0, 20],
    [0, 0, 4, 30],
    [0, 0, 0, 1],
  ];

  it('flips LPS x and y axes', () => {
    const path = tmp.path('hand-lps.nii');
    writeFileSync(
      path,
      buildNifti1({
        dims: [2, 3, 2],
        datatype: 'int16',
        voxels: encode(ramp(12), 'int16'),
        pixdim: [2, 3, 4],
        sformCode: 1,
        srow: lps.slice(0, 3),
      }),
    );
    const volume = reorientToRAS(readNifti(path));
    // New voxel (i, j, k) is old voxel (1 - i, 2 - j, k).
    const expected: number[] = [];
    for (let k = 0; k < 2; k++) {
      for (let j = 0; j < 3; j++) {
        for (let i = 0; i < 2; i++) expected.push(1 - i + 2 * (2 - j) + 6 * k);
      }
    }
    expect(Array.from(volume.data as Int16Array)).toEqual(expected);
    expectAffineClose(
      volume.affine,
      [
        [2, 0, 0, 8],
        [0, 3, 0, 14],
        [0, 0, 4, 30],
        [0, 0, 0, 1],
      ],
      'lps',
    );
  });

  it('returns a RAS volume unchanged', () => {
    const volume: NiftiVolume = {
      data: Float32Array.from(ramp(8)),
      dims: [2, 2, 2],
      pixdim: [1, 1, 1],
      affine: [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
      datatype: 'float32',
      header: readNifti(tmp.path('hand-lps.nii')).header,
    };
    expect(reorientToRAS(volume)).toBe(volume);
    expect(reorientFromRAS(volume.data, volume)).toBe(volume.data);
  });

  it('rejects: affine with parallel voxel axes', () => {
    const flat = [
      [1, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const error = thrown(() => axisCodes(flat));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^affine must be/);
  });

  it('rejects: affine that is not 4x4', () => {
    const error = thrown(() => axisCodes([[1, 0, 0]]));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe(ErrorCode.INVALID_ARG_TYPE);
    expect(error.message).toMatch(/^affine must be a 4x4 array/);
  });

  it('rejects: RAS data of the wrong length', () => {
    const original = readNifti(tmp.path('hand-lps.nii'));
    const error = thrown(() => reorientFromRAS(new Int16Array(5), original));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^data must be a typed array whose length is a multiple of 12/);
  });

  it('rejects: unknown orientation option', () => {
    const error = thrown(() => readNifti(tmp.path('hand-lps.nii'), { orientation: 'LPS' as 'RAS' }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(error.message).toMatch(/^options\.orientation must be one of 'native', 'RAS'/);
  });
});
