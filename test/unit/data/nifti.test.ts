// SPDX-License-Identifier: MIT

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCode, NiftiError } from '../../../lib/errors.js';
import {
  readNifti,
  readNiftiAsync,
  readNiftiHeader,
  readNiftiHeaderAsync,
  writeNifti,
  writeNiftiAsync,
  type NiftiDatatype,
  type VoxelArray,
} from '../../../lib/data/nifti.js';
import { buildNifti1, buildNifti2, encode, ramp, tempDir } from './fixtures.js';

const tmp = tempDir('nifti');
afterAll(() => tmp.remove());

// A 3 x 4 x 2 volume with an oblique, translated affine (rotation of 30 degrees about z).
const DIMS = [3, 4, 2];
const COS = Math.cos(Math.PI / 6);
const SIN = Math.sin(Math.PI / 6);
const AFFINE = [
  [0.8 * COS, -1.2 * SIN, 0, -40.5],
  [0.8 * SIN, 1.2 * COS, 0, 12.25],
  [0, 0, 2.5, -7],
  [0, 0, 0, 1],
];

function expectAffineClose(actual: number[][], expected: number[][], digits = 4): void {
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(actual[r]![c]).toBeCloseTo(expected[r]![c]!, digits);
}

function expectNiftiError(run: () => unknown, path: string, reason: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NiftiError);
  expect((caught as NiftiError).code).toBe(ErrorCode.NIFTI);
  expect((caught as NiftiError).message.startsWith(`${path}: `)).toBe(true);
  expect((caught as NiftiError).message).toMatch(reason);
}

function arrayOf(datatype: NiftiDatatype, values: number[]): VoxelArray {
  switch (datatype) {
    case 'uint8':
      return Uint8Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'int16':
      return Int16Array.from(values);
    case 'uint16':
      return Uint16Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'uint32':
      return Uint32Array.from(values);
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values.map(BigInt));
    case 'uint64':
      return BigUint64Array.from(values.map(BigInt));
  }
}

describe('writeNifti and readNifti round trip', () => {
  const cases: [NiftiDatatype, number[]][] = [
    ['uint8', ramp(24, 200)],
    ['int8', ramp(24, -12)],
    ['int16', ramp(24, -30000).map((v, i) => v + i * 2000)],
    ['uint16', ramp(24, 60000)],
    ['int32', ramp(24, -2_000_000_000)],
    ['uint32', ramp(24, 4_000_000_000)],
    ['float32', ramp(24).map((v) => v * 0.25 - 3)],
    ['float64', ramp(24).map((v) => v / 3)],
    ['int64', ramp(24, -5)],
    ['uint64', ramp(24, 7)],
  ];
  for (const [datatype, values] of cases) {
    for (const name of ['plain.nii', 'compressed.nii.gz']) {
      it(`keeps ${datatype} data and the affine (${name})`, () => {
        const path = tmp.path(`${datatype}-${name}`);
        writeNifti(path, { data: arrayOf(datatype, values), dims: DIMS, affine: AFFINE });
        const volume = readNifti(path);
        expect(volume.datatype).toBe(datatype);
        expect(volume.data).toEqual(arrayOf(datatype, values));
        expect(volume.dims).toEqual(DIMS);
        expectAffineClose(volume.affine, AFFINE);
        expect(volume.pixdim[0]).toBeCloseTo(0.8, 5);
        expect(volume.pixdim[1]).toBeCloseTo(1.2, 5);
        expect(volume.pixdim[2]).toBeCloseTo(2.5, 5);
      });
    }
  }

  it('writes a valid NIfTI-1 header', () => {
    const path = tmp.path('header.nii');
    writeNifti(path, { data: new Int16Array(24), dims: DIMS, affine: AFFINE });
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(352 + 24 * 2);
    expect(bytes.readInt32LE(0)).toBe(348);
    expect(bytes.subarray(344, 348)).toEqual(Buffer.from('n+1\0', 'latin1'));
    expect(bytes.readFloatLE(108)).toBe(352);
    expect(bytes.readFloatLE(112)).toBe(1);
    expect(bytes.readFloatLE(116)).toBe(0);
    expect(bytes.readInt16LE(70)).toBe(4);
    expect(bytes.readInt16LE(72)).toBe(16);
  });

  it('writes gzip only for .gz names', () => {
    writeNifti(tmp.path('gz-check.nii.gz'), { data: new Uint8Array(24), dims: DIMS });
    writeNifti(tmp.path('gz-check.nii'), { data: new Uint8Array(24), dims: DIMS });
    expect([...readFileSync(tmp.path('gz-check.nii.gz')).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(readFileSync(tmp.path('gz-check.nii')).readInt32LE(0)).toBe(348);
  });

  it('leaves no temporary file behind', () => {
    writeNifti(tmp.path('clean.nii.gz'), { data: new Uint8Array(24), dims: DIMS });
    expect(readdirSync(tmp.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the qform and sform of a source header', () => {
    // sform and qform differ on purpose: both must come back as they were.
    const source = tmp.path('two-forms.nii');
    writeFileSync(
      source,
      buildNifti1({
        dims: DIMS,
        datatype: 'float32',
        voxels: encode(ramp(24), 'float32'),
        pixdim: [2, 2, 2],
        qfac: -1,
        qformCode: 1,
        sformCode: 4,
        quatern: [0, 0, 1],
        qoffset: [10, 20, 30],
        srow: [
          [2, 0, 0, -90],
          [0, 2, 0, -126],
          [0, 0, 2, -72],
        ],
        xyztUnits: 10,
      }),
    );
    const scan = readNifti(source);
    const maskPath = tmp.path('two-forms-mask.nii.gz');
    writeNifti(maskPath, {
      data: new Uint8Array(24).fill(1),
      dims: scan.dims,
      pixdim: scan.pixdim,
      affine: scan.affine,
      header: scan.header,
    });
    const mask = readNifti(maskPath);
    expect(mask.header.sformCode).toBe(4);
    expect(mask.header.qformCode).toBe(1);
    expect(mask.header.xyztUnits).toBe(10);
    expect(mask.header.qfac).toBe(-1);
    expect([mask.header.quaternB, mask.header.quaternC, mask.header.quaternD]).toEqual([0, 0, 1]);
    expect([mask.header.qoffsetX, mask.header.qoffsetY, mask.header.qoffsetZ]).toEqual([10, 20, 30]);
    expect(mask.affine).toEqual(scan.affine);
    expect(mask.pixdim).toEqual([2, 2, 2]);
  });

  it('derives a qform that matches a new affine', () => {
    const path = tmp.path('qform-only.nii');
    writeNifti(path, { data: new Uint8Array(24), dims: DIMS, affine: AFFINE, header: { qformCode: 1, sformCode: 0 } });
    const volume = readNifti(path);
    expect(volume.header.sformCode).toBe(0);
    expect(volume.header.qformCode).toBe(1);
    // With sform_code 0 the affine comes from the quaternion alone.
    expectAffineClose(volume.affine, AFFINE);
  });

  it('adds an sform for a sheared affine when only the qform is coded', () => {
    const sheared = AFFINE.map((row) => row.slice());
    sheared[0]![2] = 0.7;
    const path = tmp.path('sheared.nii');
    writeNifti(path, { data: new Uint8Array(24), dims: DIMS, affine: sheared, header: { qformCode: 1, sformCode: 0 } });
    const volume = readNifti(path);
    expect(volume.header.qformCode).toBe(1);
    expect(volume.header.sformCode).toBe(2);
    expectAffineClose(volume.affine, sheared);
  });

  it('takes the affine from the header when none is given', () => {
    const path = tmp.path('header-affine.nii');
    const srow: [number, number, number, number][] = [
      [0, 0, 2, -5],
      [0, 3, 0, 6],
      [-1, 0, 0, 7],
    ];
    const header = { sformCode: 3, qformCode: 0, srowX: srow[0], srowY: srow[1], srowZ: srow[2] };
    writeNifti(path, { data: new Uint8Array(24), dims: DIMS, header });
    const volume = readNifti(path);
    expect(volume.header.sformCode).toBe(3);
    expect(volume.header.qformCode).toBe(0);
    expect(volume.affine).toEqual([...srow, [0, 0, 0, 1]]);
  });

  it('derives a left-handed qform (negative determinant)', () => {
    const flipped = AFFINE.map((row) => row.slice());
    for (const row of flipped) row[0] = -row[0]!;
    const path = tmp.path('left-handed.nii');
    writeNifti(path, { data: new Uint8Array(24), dims: DIMS, affine: flipped, header: { qformCode: 2 } });
    const volume = readNifti(path);
    expect(volume.header.qfac).toBe(-1);
    expectAffineClose(volume.affine, flipped);
  });

  it('writes no orientation codes for a plain diagonal volume', () => {
    const path = tmp.path('diagonal.nii');
    writeNifti(path, { data: new Uint8Array(24), dims: DIMS, pixdim: [0.5, 0.5, 3] });
    const volume = readNifti(path);
    expect(volume.header.qformCode).toBe(0);
    expect(volume.header.sformCode).toBe(0);
    expect(volume.affine).toEqual([
      [0.5, 0, 0, 0],
      [0, 0.5, 0, 0],
      [0, 0, 3, 0],
      [0, 0, 0, 1],
    ]);
  });

  it('converts to a forced datatype with rounding and clamping', () => {
    const path = tmp.path('forced.nii');
    const data = Float32Array.from([0.4, 0.6, 1.5, -3, 300, Number.NaN, ...new Array(18).fill(2)]);
    writeNifti(path, { data, dims: DIMS }, { datatype: 'uint8' });
    const volume = readNifti(path);
    expect(volume.datatype).toBe('uint8');
    expect([...volume.data.subarray(0, 6)]).toEqual([0, 1, 2, 0, 255, 0]);
  });

  it('writes and reads asynchronously', async () => {
    const path = tmp.path('async.nii.gz');
    await writeNiftiAsync(path, { data: Float32Array.from(ramp(24)), dims: DIMS, affine: AFFINE });
    const volume = await readNiftiAsync(path);
    expect(volume.data).toEqual(Float32Array.from(ramp(24)));
    expectAffineClose(volume.affine, AFFINE);
  });

  it('writes asynchronously the data as it was at the call', async () => {
    for (const name of ['snapshot.nii', 'snapshot.nii.gz']) {
      const path = tmp.path(name);
      const data = Int16Array.from(ramp(24));
      const written = writeNiftiAsync(path, { data, dims: DIMS });
      data.fill(-1);
      await written;
      expect(Array.from(readNifti(path).data as Int16Array), name).toEqual(ramp(24));
    }
  });

  it('keeps a fourth dim and its voxel size', () => {
    const path = tmp.path('four-d.nii');
    writeNifti(path, { data: new Int16Array(48), dims: [3, 4, 2, 2], pixdim: [1, 1, 1, 2.5] });
    const volume = readNifti(path);
    expect(volume.dims).toEqual([3, 4, 2, 2]);
    expect(volume.pixdim[3]).toBe(2.5);
  });
});

describe('writeNifti with niftiVersion 2', () => {
  it('writes a valid NIfTI-2 header', () => {
    const path = tmp.path('v2-header.nii');
    writeNifti(path, { data: new Int16Array(24), dims: DIMS, affine: AFFINE }, { niftiVersion: 2 });
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(544 + 24 * 2);
    expect(bytes.readInt32LE(0)).toBe(540);
    expect([...bytes.subarray(4, 12)]).toEqual([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes.readInt16LE(12)).toBe(4);
    expect(bytes.readInt16LE(14)).toBe(16);
    expect([0, 1, 2, 3, 4].map((i) => bytes.readBigInt64LE(16 + 8 * i))).toEqual([3n, 3n, 4n, 2n, 1n]);
    expect(bytes.readDoubleLE(104)).toBe(1);
    expect(bytes.readDoubleLE(112)).toBeCloseTo(0.8, 12);
    expect(bytes.readBigInt64LE(168)).toBe(544n);
    expect(bytes.readDoubleLE(176)).toBe(1);
    expect(bytes.readDoubleLE(184)).toBe(0);
    expect(bytes.readInt32LE(344)).toBe(2);
    expect(bytes.readInt32LE(348)).toBe(2);
    const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => bytes.readDoubleLE(400 + 32 * r + 8 * c)));
    expectAffineClose([...srow, [0, 0, 0, 1]], AFFINE, 12);
    expect(bytes.readInt32LE(500)).toBe(2);
    expect(bytes.readInt32LE(540)).toBe(0);
  });

  for (const name of ['v2.nii', 'v2.nii.gz']) {
    it(`round-trips data and affine through readNifti (${name})`, async () => {
      const path = tmp.path(name);
      const data = Float64Array.from(ramp(24), (v) => v / 7);
      await writeNiftiAsync(path, { data, dims: DIMS, affine: AFFINE }, { niftiVersion: 2 });
      const volume = readNifti(path);
      expect(volume.header.niftiVersion).toBe(2);
      expect(volume.header.voxOffset).toBe(544);
      expect(volume.datatype).toBe('float64');
      expect(volume.dims).toEqual(DIMS);
      expect(volume.data).toEqual(data);
      // float64 geometry keeps the affine to double precision.
      expectAffineClose(volume.affine, AFFINE, 12);
    });
  }

  it('keeps the geometry of a NIfTI-1 source header', () => {
    const sourcePath = tmp.path('v1-source.nii');
    writeNifti(sourcePath, { data: new Uint8Array(24), dims: DIMS, affine: AFFINE });
    const source = readNifti(sourcePath);
    const path = tmp.path('v2-from-v1.nii.gz');
    const mask = Uint8Array.from(ramp(24), (v) => v % 2);
    const volumeToWrite = { data: mask, dims: source.dims, affine: source.affine, header: source.header };
    writeNifti(path, volumeToWrite, { niftiVersion: 2 });
    const volume = readNifti(path);
    expect(volume.header.niftiVersion).toBe(2);
    expect(volume.header.qformCode).toBe(source.header.qformCode);
    expect(volume.header.sformCode).toBe(source.header.sformCode);
    expect(volume.header.quaternB).toBeCloseTo(source.header.quaternB, 6);
    expect(volume.header.quaternD).toBeCloseTo(source.header.quaternD, 6);
    expectAffineClose(volume.affine, source.affine, 6);
    expect(volume.data).toEqual(mask);
  });

  it('writes dims above the NIfTI-1 limit', () => {
    const path = tmp.path('v2-wide.nii');
    const data = Uint8Array.from({ length: 40000 }, (_, i) => i % 251);
    writeNifti(path, { data, dims: [40000] }, { niftiVersion: 2 });
    const volume = readNifti(path);
    expect(volume.dims).toEqual([40000, 1, 1]);
    expect(volume.data).toEqual(data);
  });

  it('rejects: niftiVersion other than 1 or 2', () => {
    const write = (version: unknown) => () =>
      writeNifti(tmp.path('x.nii'), { data: new Uint8Array(4), dims: [4] }, { niftiVersion: version as 1 });
    for (const [version, errorClass, code] of [
      [3, RangeError, ErrorCode.OUT_OF_RANGE],
      ['2', TypeError, ErrorCode.INVALID_ARG_TYPE],
    ] as const) {
      let caught: unknown;
      try {
        write(version)();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(errorClass);
      expect((caught as { code: string }).code).toBe(code);
      expect((caught as Error).message).toMatch(/options\.niftiVersion must be 1 or 2/);
    }
  });
});

describe("writeNifti with datatype 'auto'", () => {
  // Each row: what the case covers, the input array, and the datatype that 'auto' must store.
  const cases: [string, VoxelArray, NiftiDatatype][] = [
    ['binary mask in a Float32Array', Float32Array.from(ramp(24), (v) => v % 2), 'uint8'],
    ['labels up to 255 in an Int32Array', Int32Array.from(ramp(24), (v) => v * 11), 'uint8'],
    ['negative labels', Float64Array.from(ramp(24, -12)), 'int16'],
    ['labels above 255', Int32Array.from(ramp(24), (v) => v * 1000), 'int16'],
    ['labels above 32767', Uint32Array.from(ramp(24), (v) => v * 2800), 'uint16'],
    ['labels beyond 16 bits', Int32Array.from(ramp(24, -20), (v) => v * 5000), 'int32'],
    ['one fractional value', Float64Array.from(ramp(24), (v) => (v === 23 ? 0.5 : v)), 'float32'],
    ['a NaN among integers', Float32Array.from(ramp(24), (v) => (v === 5 ? NaN : v)), 'float32'],
    ['an infinity among integers', Float64Array.from(ramp(24), (v) => (v === 5 ? -Infinity : v)), 'float32'],
    ['small int64 values', BigInt64Array.from(ramp(24), (v) => BigInt(v)), 'uint8'],
    ['int64 values beyond int32', BigInt64Array.from(ramp(24), (v) => BigInt(v) * 2n ** 40n), 'int64'],
    ['uint32 values beyond int32', Uint32Array.from(ramp(24), (v) => 3e9 + v), 'uint32'],
    ['float64 integers beyond int32', Float64Array.from(ramp(24), (v) => 2 ** 40 + v), 'float64'],
  ];
  for (const [label, data, expected] of cases) {
    it(`stores ${label} as ${expected}`, () => {
      const path = tmp.path(`auto-${label.replace(/\W+/g, '-')}.nii`);
      writeNifti(path, { data, dims: DIMS }, { datatype: 'auto' });
      const volume = readNifti(path);
      expect(volume.datatype).toBe(expected);
      const asNumbers = (values: VoxelArray): number[] => Array.from(values as ArrayLike<number | bigint>, Number);
      expect(asNumbers(volume.data)).toEqual(asNumbers(data));
    });
  }

  it('keeps the array type without the option', () => {
    const path = tmp.path('auto-default.nii');
    writeNifti(path, { data: Float32Array.from(ramp(24), (v) => v % 2), dims: DIMS });
    expect(readNifti(path).datatype).toBe('float32');
  });
});

describe('readNifti on hand-built files', () => {
  it('reads a big-endian int16 file with a qform', () => {
    const path = tmp.path('big-endian.nii');
    const values = ramp(24, -100).map((v) => v * 37);
    writeFileSync(
      path,
      buildNifti1({
        dims: DIMS,
        datatype: 'int16',
        voxels: encode(values, 'int16', false),
        littleEndian: false,
        pixdim: [2, 3, 4],
        qformCode: 1,
        quatern: [0, 0, 0],
        qoffset: [5, 6, 7],
      }),
    );
    const volume = readNifti(path);
    expect(volume.header.littleEndian).toBe(false);
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect([...volume.data]).toEqual(values);
    expect(volume.affine).toEqual([
      [2, 0, 0, 5],
      [0, 3, 0, 6],
      [0, 0, 4, 7],
      [0, 0, 0, 1],
    ]);
  });

  it('reads big-endian float64 and uint32 voxels', () => {
    for (const datatype of ['float64', 'uint32'] as const) {
      const path = tmp.path(`big-endian-${datatype}.nii`);
      const values = ramp(24, 3).map((v) => v * 1001);
      writeFileSync(
        path,
        buildNifti1({ dims: DIMS, datatype, voxels: encode(values, datatype, false), littleEndian: false }),
      );
      expect([...readNifti(path).data]).toEqual(values);
    }
  });

  it('leaves data unscaled when scl_slope is NaN', () => {
    const path = tmp.path('nan-slope.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: encode(ramp(24), 'uint8'), slope: Number.NaN, inter: 5 }),
    );
    const volume = readNifti(path);
    expect(volume.data).toBeInstanceOf(Uint8Array);
    expect([...volume.data]).toEqual(ramp(24));
    expect(volume.header.sclSlope).toBeNaN();
  });

  it('leaves data unscaled when scl_slope is 0', () => {
    const path = tmp.path('zero-slope.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'int16', voxels: encode(ramp(24), 'int16'), slope: 0, inter: 5 }),
    );
    expect([...readNifti(path).data]).toEqual(ramp(24));
  });

  it('applies slope 2 and intercept 10', () => {
    const path = tmp.path('scaled.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'int16', voxels: encode(ramp(24, -5), 'int16'), slope: 2, inter: 10 }),
    );
    const volume = readNifti(path);
    expect(volume.data).toBeInstanceOf(Float32Array);
    expect([...volume.data]).toEqual(ramp(24, -5).map((v) => 2 * v + 10));
    expect(volume.datatype).toBe('int16');
  });

  it('keeps float64 precision when scaling float64 data', () => {
    const path = tmp.path('scaled-f64.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'float64', voxels: encode(ramp(24), 'float64'), slope: 0.1 }),
    );
    const volume = readNifti(path);
    expect(volume.data).toBeInstanceOf(Float64Array);
    expect(volume.data[3]).toBeCloseTo(Math.fround(0.1) * 3, 12);
  });

  it('returns raw values with applyScaling false', () => {
    const path = tmp.path('scaled-raw.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'int16', voxels: encode(ramp(24), 'int16'), slope: 2, inter: 10 }),
    );
    const volume = readNifti(path, { applyScaling: false });
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect([...volume.data]).toEqual(ramp(24));
  });

  it('converts to float32 on request', () => {
    const path = tmp.path('to-float.nii');
    writeFileSync(path, buildNifti1({ dims: DIMS, datatype: 'int64', voxels: encode(ramp(24, -3), 'int64') }));
    const volume = readNifti(path, { toFloat32: true });
    expect(volume.data).toBeInstanceOf(Float32Array);
    expect([...volume.data]).toEqual(ramp(24, -3));
  });

  it('honours vox_offset past an extension', () => {
    const path = tmp.path('extension.nii');
    // Extension flag 1, then one extension of 32 bytes (esize 32, ecode 6 = comment).
    const extension = new Uint8Array(4 + 32);
    const view = new DataView(extension.buffer);
    extension[0] = 1;
    view.setInt32(4, 32, true);
    view.setInt32(8, 6, true);
    extension.set(Buffer.from('a comment that is not voxel data'.slice(0, 24), 'latin1'), 12);
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: encode(ramp(24, 100), 'uint8'), voxOffset: 384, extension }),
    );
    const volume = readNifti(path);
    expect(volume.header.voxOffset).toBe(384);
    expect([...volume.data]).toEqual(ramp(24, 100));
  });

  it('ignores a malformed extension', () => {
    const path = tmp.path('bad-extension.nii');
    const extension = new Uint8Array(4 + 16);
    extension[0] = 1;
    new DataView(extension.buffer).setInt32(4, -16, true); // A negative esize.
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: encode(ramp(24), 'uint8'), voxOffset: 368, extension }),
    );
    expect([...readNifti(path).data]).toEqual(ramp(24));
  });

  it('reads a 2D file with dim[3] = 0 as one slice', () => {
    const path = tmp.path('two-d.nii');
    writeFileSync(
      path,
      buildNifti1({
        dims: [4, 3],
        rawDim: [3, 4, 3, 0, 0, 0, 0, 0],
        datatype: 'float32',
        voxels: encode(ramp(12), 'float32'),
      }),
    );
    const volume = readNifti(path);
    expect(volume.dims).toEqual([4, 3, 1]);
    expect(volume.pixdim).toHaveLength(3);
    expect([...volume.data]).toEqual(ramp(12));
  });

  it('reads a file with dim[0] = 2 as three dims', () => {
    const path = tmp.path('rank-two.nii');
    writeFileSync(path, buildNifti1({ dims: [4, 3], datatype: 'uint8', voxels: encode(ramp(12), 'uint8') }));
    expect(readNifti(path).dims).toEqual([4, 3, 1]);
  });

  it('gives a finite qform when |(b, c, d)| rounds above 1', () => {
    // A half turn about x stored with float32 rounding: b^2 exceeds 1 by a few ulps.
    const path = tmp.path('quaternion-rounding.nii');
    writeFileSync(
      path,
      buildNifti1({
        dims: DIMS,
        datatype: 'uint8',
        voxels: encode(ramp(24), 'uint8'),
        qformCode: 1,
        quatern: [1.0000001, 0, 0],
        pixdim: [1, 2, 3],
        qoffset: [1, 2, 3],
      }),
    );
    const volume = readNifti(path);
    expect(volume.affine.flat().every(Number.isFinite)).toBe(true);
    expectAffineClose(volume.affine, [
      [1, 0, 0, 1],
      [0, -2, 0, 2],
      [0, 0, -3, 3],
      [0, 0, 0, 1],
    ]);
  });

  it('prefers the sform over the qform', () => {
    const path = tmp.path('sform-wins.nii');
    const srow = [
      [-1, 0, 0, 90],
      [0, 1, 0, -126],
      [0, 0, 1, -72],
    ];
    writeFileSync(
      path,
      buildNifti1({
        dims: DIMS,
        datatype: 'uint8',
        voxels: encode(ramp(24), 'uint8'),
        qformCode: 1,
        sformCode: 1,
        qoffset: [5, 5, 5],
        srow,
      }),
    );
    expect(readNifti(path).affine).toEqual([...srow, [0, 0, 0, 1]]);
  });

  it('reads a NIfTI-2 file in both byte orders', () => {
    for (const littleEndian of [true, false]) {
      const path = tmp.path(`nifti2-${littleEndian ? 'le' : 'be'}.nii`);
      const srow = [
        [1.5, 0, 0, -10],
        [0, 1.5, 0, -20],
        [0, 0, 3, -30],
      ];
      writeFileSync(
        path,
        buildNifti2({
          dims: DIMS,
          datatype: 'int32',
          voxels: encode(ramp(24, -7), 'int32', littleEndian),
          littleEndian,
          sformCode: 2,
          srow,
        }),
      );
      const volume = readNifti(path);
      expect(volume.header.niftiVersion).toBe(2);
      expect(volume.header.littleEndian).toBe(littleEndian);
      expect(volume.dims).toEqual(DIMS);
      expect([...volume.data]).toEqual(ramp(24, -7));
      expect(volume.affine).toEqual([...srow, [0, 0, 0, 1]]);
    }
  });

  it('reads every member of a multi-member gzip file', () => {
    const path = tmp.path('multi-member.nii.gz');
    const file = buildNifti1({ dims: [16, 16, 16], datatype: 'int16', voxels: encode(ramp(4096), 'int16') });
    // The header and the first voxels in one member, the rest in a second member.
    writeFileSync(path, Buffer.concat([gzipSync(file.subarray(0, 1000)), gzipSync(file.subarray(1000))]));
    const volume = readNifti(path);
    expect(volume.data.length).toBe(4096);
    expect([...volume.data]).toEqual(ramp(4096));
  });

  it('recognises gzip by content, not by name', () => {
    const path = tmp.path('compressed-but-named.nii');
    writeFileSync(path, gzipSync(buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: encode(ramp(24), 'uint8') })));
    expect([...readNifti(path).data]).toEqual(ramp(24));
  });

  it('reads a .hdr/.img pair from either name', () => {
    // vox_offset counts from the start of the .img file, so it is 0 here.
    const header = buildNifti1({
      dims: DIMS,
      datatype: 'int16',
      voxels: new Uint8Array(0),
      magic: 'ni1',
      voxOffset: 0,
    });
    writeFileSync(tmp.path('pair.hdr'), header.subarray(0, 348));
    writeFileSync(tmp.path('pair.img.gz'), gzipSync(encode(ramp(24, 9), 'int16')));
    expect([...readNifti(tmp.path('pair.hdr')).data]).toEqual(ramp(24, 9));
    expect([...readNifti(tmp.path('pair.img.gz')).data]).toEqual(ramp(24, 9));
  });

  it('reads the header alone, also from gzip', async () => {
    const path = tmp.path('header-only.nii.gz');
    writeNifti(path, { data: new Int16Array(64 * 64 * 8), dims: [64, 64, 8], affine: AFFINE });
    const header = readNiftiHeader(path);
    expect(header.dims).toEqual([64, 64, 8]);
    expect(header.datatype).toBe('int16');
    expectAffineClose(header.affine, AFFINE);
    expect((await readNiftiHeaderAsync(path)).dims).toEqual([64, 64, 8]);
  });
});

describe('readNifti failures', () => {
  it('fails: missing file', () => {
    const path = tmp.path('does-not-exist.nii.gz');
    expectNiftiError(() => readNifti(path), path, /not found/);
  });

  it('fails: missing file, asynchronously', async () => {
    const path = tmp.path('does-not-exist-async.nii');
    const error = await readNiftiAsync(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NiftiError);
    expect((error as NiftiError).message).toBe(`${path}: not found`);
  });

  it('fails: not a NIfTI file', () => {
    const path = tmp.path('notes.txt');
    writeFileSync(path, 'plain text, long enough to be mistaken for a header by a careless reader '.repeat(8));
    expectNiftiError(() => readNifti(path), path, /not a NIfTI file: sizeof_hdr/);
  });

  it('fails: bad magic', () => {
    const path = tmp.path('bad-magic.nii');
    writeFileSync(path, buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: new Uint8Array(24), magic: 'xyz' }));
    expectNiftiError(() => readNifti(path), path, /not a NIfTI file: magic is "xyz"/);
  });

  it('fails: empty file', () => {
    const path = tmp.path('empty.nii');
    writeFileSync(path, new Uint8Array(0));
    expectNiftiError(() => readNifti(path), path, /not a NIfTI file/);
  });

  it('fails: truncated voxel data', () => {
    const path = tmp.path('truncated.nii');
    const file = buildNifti1({ dims: DIMS, datatype: 'int16', voxels: encode(ramp(24), 'int16') });
    writeFileSync(path, file.subarray(0, file.length - 10));
    expectNiftiError(() => readNifti(path), path, /truncated: expected 48 bytes of voxel data at offset 352, found 38/);
  });

  it('fails: truncated header', () => {
    const path = tmp.path('short-header.nii');
    writeFileSync(path, buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: new Uint8Array(24) }).subarray(0, 200));
    expectNiftiError(() => readNifti(path), path, /truncated: a NIfTI-1 header has 348 bytes, found 200/);
  });

  it('fails: truncated gzip stream', () => {
    const path = tmp.path('truncated.nii.gz');
    const compressed = gzipSync(
      buildNifti1({ dims: [32, 32, 32], datatype: 'float32', voxels: encode(ramp(32768), 'float32') }),
    );
    writeFileSync(path, compressed.subarray(0, compressed.length / 2));
    expectNiftiError(() => readNifti(path), path, /truncated gzip stream/);
  });

  it('fails: unsupported datatype', () => {
    const path = tmp.path('complex.nii');
    writeFileSync(path, buildNifti1({ dims: DIMS, datatype: 'complex64', voxels: new Uint8Array(24 * 8) }));
    expectNiftiError(() => readNifti(path), path, /unsupported datatype complex64 \(code 32\)/);
  });

  it('fails: dim[0] out of range', () => {
    const path = tmp.path('bad-rank.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, rawDim: [9, 3, 4, 2, 1, 1, 1, 1], datatype: 'uint8', voxels: new Uint8Array(24) }),
    );
    expectNiftiError(() => readNifti(path), path, /invalid dims: dim\[0\] is 9/);
  });

  it('fails: negative size', () => {
    const path = tmp.path('negative-dim.nii');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, rawDim: [3, 3, -4, 2, 1, 1, 1, 1], datatype: 'uint8', voxels: new Uint8Array(24) }),
    );
    expectNiftiError(() => readNifti(path), path, /invalid dims: dim\[2\] is -4/);
  });

  it('fails: header of a pair without its image', () => {
    const path = tmp.path('lonely.hdr');
    writeFileSync(
      path,
      buildNifti1({ dims: DIMS, datatype: 'uint8', voxels: new Uint8Array(0), magic: 'ni1', voxOffset: 348 }).subarray(
        0,
        348,
      ),
    );
    expectNiftiError(() => readNifti(path), path, /image file of the \.hdr\/\.img pair not found/);
  });

  it('fails: a folder instead of a file', () => {
    expectNiftiError(() => readNifti(tmp.dir), tmp.dir, /could not be read/);
  });
});

describe('argument checks', () => {
  it('rejects: non-string path', () => {
    expect(() => readNifti(42 as unknown as string)).toThrow(TypeError);
    expect(() => readNifti(42 as unknown as string)).toThrow(/path must be a string/);
    try {
      readNifti(42 as unknown as string);
    } catch (error) {
      expect((error as { code: string }).code).toBe(ErrorCode.INVALID_ARG_TYPE);
    }
  });

  it('rejects: non-boolean read option', () => {
    const run = () => readNifti('x.nii', { applyScaling: 'yes' as unknown as boolean });
    expect(run).toThrow(TypeError);
    expect(run).toThrow(/options\.applyScaling must be a boolean/);
  });

  it('rejects: data that is not a typed array', () => {
    const run = () => writeNifti(tmp.path('x.nii'), { data: [1, 2, 3] as unknown as Uint8Array, dims: [3] });
    expect(run).toThrow(TypeError);
    expect(run).toThrow(/volume\.data must be a typed array/);
  });

  it('rejects: dims that do not match the data', () => {
    let caught: unknown;
    try {
      writeNifti(tmp.path('x.nii'), { data: new Uint8Array(10), dims: [3, 3] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(
      /volume\.dims must be sizes whose product equals volume\.data\.length \(10\)/,
    );
  });

  it('rejects: an affine that is not 4x4', () => {
    const run = () =>
      writeNifti(tmp.path('x.nii'), {
        data: new Uint8Array(4),
        dims: [4],
        affine: [
          [1, 0],
          [0, 1],
        ],
      });
    expect(run).toThrow(TypeError);
    expect(run).toThrow(/volume\.affine must be a 4x4/);
  });

  it('rejects: unknown forced datatype', () => {
    const run = () =>
      writeNifti(tmp.path('x.nii'), { data: new Uint8Array(4), dims: [4] }, { datatype: 'rgb24' as NiftiDatatype });
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/options\.datatype must be one of/);
  });

  it('fails: dims above the NIfTI-1 limit', () => {
    const path = tmp.path('too-wide.nii');
    expectNiftiError(
      () => writeNifti(path, { data: new Uint8Array(40000), dims: [40000] }),
      path,
      /at most 32767 \(write NIfTI-2 with `niftiVersion: 2`\)/,
    );
  });

  it('fails: output folder missing', () => {
    const path = tmp.path('no-such-folder/out.nii');
    expectNiftiError(() => writeNifti(path, { data: new Uint8Array(4), dims: [4] }), path, /could not be written/);
  });
});
