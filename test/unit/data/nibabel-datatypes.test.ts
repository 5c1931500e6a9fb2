// SPDX-License-Identifier: MIT
//
// Two-way check against nibabel for every datatype medunet supports, in both byte orders:
// nibabel writes and medunet reads, medunet writes and nibabel reads. Values include each
// type's extremes and are compared exactly, 64-bit integers through decimal strings. RGB and
// complex files, which medunet does not decode, must be rejected naming the datatype. Runs only
// when /usr/bin/python3 can import nibabel.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCode, NiftiError } from '../../../lib/errors.js';
import { readNifti, writeNifti, type NiftiDatatype, type VoxelArray } from '../../../lib/data/nifti.js';
import { buildNifti1, tempDir } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasNibabel = spawnSync(PYTHON, ['-c', 'import nibabel'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import nibabel`;

const tmp = tempDir('nibabel-datatypes');
afterAll(() => tmp.remove());

const DIMS = [3, 4, 2];
const AFFINE = [
  [0, -1.25, 0.1, 91.5],
  [0.9, 0, 0, -120.25],
  [0, 0.05, 2.5, -70],
  [0, 0, 0, 1],
];

/** Fills 24 voxels: the listed values first, then small values of the same type. */
function voxels(first: string[], fill: (i: number) => string): string[] {
  return Array.from({ length: 24 }, (_, i) => first[i] ?? fill(i));
}

const int = (i: number): string => String(i - 12);
const uint = (i: number): string => String(i * 3);

// Values as decimal strings, so 64-bit integers and float specials survive JSON both ways.
const VALUES: Record<NiftiDatatype, string[]> = {
  uint8: voxels(['0', '255', '128'], uint),
  int8: voxels(['-128', '127', '0', '-1'], int),
  int16: voxels(['-32768', '32767', '0', '-1'], int),
  uint16: voxels(['0', '65535', '32768'], uint),
  int32: voxels(['-2147483648', '2147483647', '0', '-1'], int),
  uint32: voxels(['0', '4294967295', '2147483648'], uint),
  int64: voxels(['-9223372036854775808', '9223372036854775807', '9007199254740993', '-1'], int),
  uint64: voxels(['0', '18446744073709551615', '9223372036854775808'], uint),
  float32: voxels(
    ['3.4028234663852886e+38', '-3.4028234663852886e+38', '1.401298464324817e-45', '-0', 'Infinity', 'NaN'],
    (i) => String(Math.fround(i / 7 - 1.5)),
  ),
  float64: voxels(
    ['1.7976931348623157e+308', '-1.7976931348623157e+308', '5e-324', '-0', '-Infinity', 'NaN'],
    (i) => String(i / 7 - 1.5),
  ),
};

const DATATYPES = Object.keys(VALUES) as NiftiDatatype[];

const NUMPY_DTYPE: Record<NiftiDatatype, string> = {
  uint8: 'u1',
  int8: 'i1',
  int16: 'i2',
  uint16: 'u2',
  int32: 'i4',
  uint32: 'u4',
  int64: 'i8',
  uint64: 'u8',
  float32: 'f4',
  float64: 'f8',
};

function python<T>(script: string, ...args: string[]): T {
  const result = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

// Shared helpers: value strings to a Fortran-ordered array and back.
const PY_HELPERS = `
import json, math, sys
import numpy as np
import nibabel as nib
def to_array(values, dtype, shape):
    if dtype.kind == 'f':
        items = [float(v.replace('Infinity', 'inf')) for v in values]
    else:
        items = [int(v) for v in values]
    return np.array(items, dtype=dtype).reshape(shape, order='F')
def to_strings(array):
    out = []
    for v in np.asarray(array).ravel(order='F').tolist():
        if isinstance(v, float):
            if math.isnan(v): out.append('NaN')
            elif math.isinf(v): out.append('Infinity' if v > 0 else '-Infinity')
            elif v == 0 and math.copysign(1, v) < 0: out.append('-0')
            else: out.append(repr(v))
        else:
            out.append(str(v))
    return out
`;

// Writes one file per (datatype, byte order) from the JSON spec in argv[1] into folder argv[2].
const WRITE_ALL = `${PY_HELPERS}
spec = json.load(open(sys.argv[1]))
folder = sys.argv[2]
affine = np.array(spec['affine'])
for name, entry in spec['types'].items():
    for order in '<>':
        dtype = np.dtype(order + entry['dtype'])
        header = nib.Nifti1Header(endianness=order)
        header.set_data_dtype(dtype)
        image = nib.Nifti1Image(to_array(entry['values'], dtype, spec['shape']), affine, header=header)
        suffix = '.nii.gz' if name in ('int16', 'float32') else '.nii'
        image.to_filename(f"{folder}/{name}-{'le' if order == '<' else 'be'}{suffix}")
print(json.dumps({'affine': nib.load(f"{folder}/uint8-le.nii").affine.tolist()}))
`;

// Prints nibabel's view of each file named in argv[1:].
const READ_ALL = `${PY_HELPERS}
out = {}
for path in sys.argv[1:]:
    image = nib.load(path)
    out[path] = {'dtype': str(image.get_data_dtype().newbyteorder('=')), 'shape': list(image.shape),
                 'values': to_strings(np.asarray(image.dataobj)), 'affine': image.affine.tolist(),
                 'endianness': image.header.endianness}
print(json.dumps(out))
`;

function parseValue(text: string, datatype: NiftiDatatype): number | bigint {
  if (datatype === 'int64' || datatype === 'uint64') return BigInt(text);
  return Number(text);
}

/** Value strings as the typed array that medunet returns for `datatype`. */
function typedArrayOf(datatype: NiftiDatatype, values: string[]): VoxelArray {
  const numbers = values.map(Number);
  switch (datatype) {
    case 'uint8':
      return Uint8Array.from(numbers);
    case 'int8':
      return Int8Array.from(numbers);
    case 'int16':
      return Int16Array.from(numbers);
    case 'uint16':
      return Uint16Array.from(numbers);
    case 'int32':
      return Int32Array.from(numbers);
    case 'uint32':
      return Uint32Array.from(numbers);
    case 'int64':
      return BigInt64Array.from(values.map(BigInt));
    case 'uint64':
      return BigUint64Array.from(values.map(BigInt));
    case 'float32':
      return Float32Array.from(numbers);
    case 'float64':
      return Float64Array.from(numbers);
  }
}

function expectSameValues(actual: VoxelArray, expected: string[], datatype: NiftiDatatype, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  expected.forEach((text, i) => {
    // Object.is distinguishes -0 from 0 and treats NaN as equal to NaN.
    const same = Object.is(actual[i], parseValue(text, datatype));
    expect(same, `${label} voxel ${i}: ${actual[i]} vs ${text}`).toBe(true);
  });
}

function expectAffineClose(actual: number[][], expected: number[][], label: string): void {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) expect(actual[r]![c], `${label} affine[${r}][${c}]`).toBeCloseTo(expected[r]![c]!, 5);
  }
}

describe('nibabel datatypes, both directions', () => {
  beforeEach((context) => context.skip(!hasNibabel, SKIP_REASON));

  it('reads every datatype nibabel writes, both byte orders', () => {
    const specPath = tmp.path('spec.json');
    const types = Object.fromEntries(
      DATATYPES.map((name) => [name, { dtype: NUMPY_DTYPE[name], values: VALUES[name] }]),
    );
    writeFileSync(specPath, JSON.stringify({ affine: AFFINE, shape: DIMS, types }));
    const written = python<{ affine: number[][] }>(WRITE_ALL, specPath, tmp.dir);

    for (const datatype of DATATYPES) {
      for (const order of ['le', 'be'] as const) {
        const suffix = datatype === 'int16' || datatype === 'float32' ? '.nii.gz' : '.nii';
        const label = `${datatype}-${order}`;
        const volume = readNifti(tmp.path(`${label}${suffix}`));
        expect(volume.datatype, label).toBe(datatype);
        expect(volume.header.littleEndian, label).toBe(order === 'le');
        expect(volume.dims, label).toEqual(DIMS);
        expectSameValues(volume.data, VALUES[datatype], datatype, label);
        expectAffineClose(volume.affine, written.affine, label);
      }
    }
  });

  it('writes every datatype nibabel reads', () => {
    const paths = DATATYPES.map((datatype) => {
      const path = tmp.path(`medunet-${datatype}.nii${datatype === 'uint16' ? '.gz' : ''}`);
      writeNifti(path, { data: typedArrayOf(datatype, VALUES[datatype]), dims: DIMS, affine: AFFINE });
      return path;
    });
    const seen = python<Record<string, { dtype: string; shape: number[]; values: string[]; affine: number[][] }>>(
      READ_ALL,
      ...paths,
    );
    DATATYPES.forEach((datatype, index) => {
      const view = seen[paths[index]!]!;
      expect(view.dtype, datatype).toBe(datatype);
      expect(view.shape, datatype).toEqual(DIMS);
      expect(view.values, datatype).toEqual(VALUES[datatype]);
      expectAffineClose(view.affine, AFFINE, datatype);
    });
  });
});

function expectRejected(path: string, datatypeName: string, code: number): void {
  let caught: unknown;
  try {
    readNifti(path);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NiftiError);
  expect((caught as NiftiError).code).toBe(ErrorCode.NIFTI);
  expect((caught as NiftiError).message).toContain(`unsupported datatype ${datatypeName} (code ${code})`);
}

// RGB24 and RGBA32 are 3 and 4 uint8 channels per voxel; complex types are pairs of floats.
const UNDECODED: { name: string; code: number; bytes: number; numpy: string }[] = [
  { name: 'rgb24', code: 128, bytes: 3, numpy: "[('R','u1'),('G','u1'),('B','u1')]" },
  { name: 'rgba32', code: 2304, bytes: 4, numpy: "[('R','u1'),('G','u1'),('B','u1'),('A','u1')]" },
  { name: 'complex64', code: 32, bytes: 8, numpy: "'c8'" },
  { name: 'complex128', code: 1792, bytes: 16, numpy: "'c16'" },
];

describe('RGB and complex datatypes', () => {
  it('fails: hand-built RGB and complex files', () => {
    for (const { name, code, bytes } of UNDECODED) {
      const path = tmp.path(`hand-${name}.nii`);
      const file = buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: new Uint8Array(24 * bytes) });
      const view = new DataView(file.buffer);
      view.setInt16(70, code, true);
      view.setInt16(72, bytes * 8, true);
      writeFileSync(path, file);
      expectRejected(path, name, code);
    }
  });

  it('fails: nibabel RGB and complex files', (context) => {
    context.skip(!hasNibabel, SKIP_REASON);
    for (const { name, code, numpy } of UNDECODED) {
      const path = tmp.path(`nibabel-${name}.nii`);
      const script = `
import sys
import numpy as np
import nibabel as nib
data = np.zeros((3, 4, 2), dtype=np.dtype(${numpy}))
nib.Nifti1Image(data, np.eye(4)).to_filename(sys.argv[1])
print('{}')
`;
      python(script, path);
      expectRejected(path, name, code);
    }
  });
});
