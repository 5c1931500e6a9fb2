// SPDX-License-Identifier: MIT
//
// Seeded fuzzing of NIfTI headers: header fields of small valid files are overwritten with
// edge values (0, -1, extremes, NaN, infinities, random bits), and every read must either
// return a consistent volume or throw a NiftiError. Each case is reproducible from its seed.

import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCode, NiftiError } from '../../../lib/errors.js';
import { readNifti, readNiftiAsync, readNiftiHeader } from '../../../lib/data/nifti.js';
import { Random } from '../../../lib/data/random.js';
import { buildNifti1, buildNifti2, encode, ramp, tempDir } from './fixtures.js';

const tmp = tempDir('nifti-fuzz');
afterAll(() => tmp.remove());

type FieldKind = 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'magic';

/** One header field: byte offset, encoding and number of consecutive elements. */
interface Field {
  name: string;
  offset: number;
  kind: FieldKind;
  count: number;
}

const NIFTI1_FIELDS: Field[] = [
  { name: 'sizeof_hdr', offset: 0, kind: 'int32', count: 1 },
  { name: 'dim', offset: 40, kind: 'int16', count: 8 },
  { name: 'datatype', offset: 70, kind: 'int16', count: 1 },
  { name: 'bitpix', offset: 72, kind: 'int16', count: 1 },
  { name: 'pixdim', offset: 76, kind: 'float32', count: 8 },
  { name: 'vox_offset', offset: 108, kind: 'float32', count: 1 },
  { name: 'scl_slope', offset: 112, kind: 'float32', count: 1 },
  { name: 'scl_inter', offset: 116, kind: 'float32', count: 1 },
  { name: 'qform_code', offset: 252, kind: 'int16', count: 1 },
  { name: 'sform_code', offset: 254, kind: 'int16', count: 1 },
  { name: 'quatern', offset: 256, kind: 'float32', count: 3 },
  { name: 'qoffset', offset: 268, kind: 'float32', count: 3 },
  { name: 'srow', offset: 280, kind: 'float32', count: 12 },
  { name: 'magic', offset: 344, kind: 'magic', count: 4 },
];

const NIFTI2_FIELDS: Field[] = [
  { name: 'sizeof_hdr', offset: 0, kind: 'int32', count: 1 },
  { name: 'magic', offset: 4, kind: 'magic', count: 8 },
  { name: 'datatype', offset: 12, kind: 'int16', count: 1 },
  { name: 'bitpix', offset: 14, kind: 'int16', count: 1 },
  { name: 'dim', offset: 16, kind: 'int64', count: 8 },
  { name: 'pixdim', offset: 104, kind: 'float64', count: 8 },
  { name: 'vox_offset', offset: 168, kind: 'int64', count: 1 },
  { name: 'scl_slope', offset: 176, kind: 'float64', count: 1 },
  { name: 'scl_inter', offset: 184, kind: 'float64', count: 1 },
  { name: 'qform_code', offset: 344, kind: 'int32', count: 1 },
  { name: 'sform_code', offset: 348, kind: 'int32', count: 1 },
  { name: 'quatern', offset: 352, kind: 'float64', count: 3 },
  { name: 'qoffset', offset: 376, kind: 'float64', count: 3 },
  { name: 'srow', offset: 400, kind: 'float64', count: 12 },
];

const INTEGER_EDGES = [0, 1, -1, 2, 3, 4, 7, 8, 16, 32, 64, 128, 255, 256, 348, 352, 540, 544, 32767, -32768];
const FLOAT_EDGES = [0, -0, 1, -1, 0.5, 1e-30, 1e30, 3.4e38, NaN, Infinity, -Infinity, 352, 351.5, 1e12];
const DATATYPE_CODES = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304];

interface Base {
  name: string;
  bytes: Uint8Array;
  littleEndian: boolean;
  fields: Field[];
}

const BASES: Base[] = [
  {
    name: 'nifti1-le-int16',
    littleEndian: true,
    fields: NIFTI1_FIELDS,
    bytes: buildNifti1({
      dims: [3, 4, 2],
      datatype: 'int16',
      voxels: encode(ramp(24, -5), 'int16'),
      pixdim: [0.8, 1.2, 2.5],
      qformCode: 1,
      sformCode: 2,
      quatern: [0, 0, 0.5],
      qoffset: [-10, 4, 3],
      slope: 2,
      inter: 1,
    }),
  },
  {
    name: 'nifti1-be-float32',
    littleEndian: false,
    fields: NIFTI1_FIELDS,
    bytes: buildNifti1({
      dims: [2, 3, 2, 2],
      datatype: 'float32',
      voxels: encode(ramp(24, 0.25), 'float32', false),
      littleEndian: false,
      qformCode: 1,
      quatern: [0.3, 0.1, 0.2],
    }),
  },
  {
    name: 'nifti2-le-uint8',
    littleEndian: true,
    fields: NIFTI2_FIELDS,
    bytes: buildNifti2({ dims: [4, 3, 2], datatype: 'uint8', voxels: Uint8Array.from(ramp(24)), sformCode: 1 }),
  },
];

function pick<T>(random: Random, values: readonly T[]): T {
  return values[random.int(values.length)]!;
}

function integerValue(random: Random, field: Field, kind: 'int16' | 'int32' | 'int64'): number {
  if (field.name === 'datatype' && random.bernoulli(0.7)) return pick(random, DATATYPE_CODES);
  if (random.bernoulli(0.7)) return pick(random, INTEGER_EDGES);
  const bits = kind === 'int16' ? 16 : 32;
  return (random.nextUint32() >>> (32 - bits)) - 2 ** (bits - 1);
}

function floatValue(random: Random): number {
  if (random.bernoulli(0.7)) return pick(random, FLOAT_EDGES);
  return random.uniform(-1e4, 1e4);
}

/** Overwrites one element of `field` with an edge or random value; returns a description. */
function mutateField(random: Random, bytes: Uint8Array, base: Base, field: Field): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const element = random.int(field.count);
  // Mostly the file's own byte order, sometimes the other one, as a wrongly swapped writer would.
  const le = random.bernoulli(0.85) ? base.littleEndian : !base.littleEndian;
  switch (field.kind) {
    case 'int16': {
      const value = integerValue(random, field, 'int16');
      view.setInt16(field.offset + 2 * element, value, le);
      return `${field.name}[${element}]=${value}`;
    }
    case 'int32': {
      const value = integerValue(random, field, 'int32');
      view.setInt32(field.offset + 4 * element, value, le);
      return `${field.name}[${element}]=${value}`;
    }
    case 'int64': {
      const value = random.bernoulli(0.1) ? 2n ** 62n : BigInt(integerValue(random, field, 'int64'));
      view.setBigInt64(field.offset + 8 * element, value, le);
      return `${field.name}[${element}]=${value}`;
    }
    case 'float32': {
      const value = floatValue(random);
      view.setFloat32(field.offset + 4 * element, value, le);
      return `${field.name}[${element}]=${value}`;
    }
    case 'float64': {
      const value = floatValue(random);
      view.setFloat64(field.offset + 8 * element, value, le);
      return `${field.name}[${element}]=${value}`;
    }
    case 'magic': {
      const value = random.int(256);
      bytes[field.offset + element] = value;
      return `${field.name}[${element}]=${value}`;
    }
  }
}

interface FuzzCase {
  seed: number;
  base: Base;
  bytes: Uint8Array;
  gzip: boolean;
  description: string;
}

function makeCase(seed: number): FuzzCase {
  const random = new Random(seed);
  const base = pick(random, BASES);
  const bytes = base.bytes.slice();
  const changes: string[] = [];
  const mutations = 1 + random.int(3);
  for (let i = 0; i < mutations; i++) changes.push(mutateField(random, bytes, base, pick(random, base.fields)));
  let result = bytes;
  if (random.bernoulli(0.1)) {
    const length = random.int(bytes.length);
    result = bytes.subarray(0, length);
    changes.push(`cut to ${length} bytes`);
  }
  const gzip = random.bernoulli(0.3);
  return { seed, base, bytes: result, gzip, description: `${base.name} ${changes.join(', ')}` };
}

type Outcome = { ok: true; dataLength: number; dims: number[] } | { ok: false; error: unknown };

function checkOutcome(fuzzCase: FuzzCase, outcome: Outcome): void {
  const label = `seed ${fuzzCase.seed}: ${fuzzCase.description}`;
  if (outcome.ok) {
    const voxels = outcome.dims.reduce((product, size) => product * size, 1);
    expect(outcome.dataLength, label).toBe(voxels);
    return;
  }
  expect(outcome.error, `${label}: ${String(outcome.error)}`).toBeInstanceOf(NiftiError);
  expect((outcome.error as NiftiError).code, label).toBe(ErrorCode.NIFTI);
}

function readSync(path: string): Outcome {
  try {
    const volume = readNifti(path);
    return { ok: true, dataLength: volume.data.length, dims: volume.dims };
  } catch (error) {
    return { ok: false, error };
  }
}

async function readAsync(path: string): Promise<Outcome> {
  try {
    const volume = await readNiftiAsync(path);
    return { ok: true, dataLength: volume.data.length, dims: volume.dims };
  } catch (error) {
    return { ok: false, error };
  }
}

function readHeader(path: string): Outcome {
  try {
    const header = readNiftiHeader(path);
    const voxels = header.dims.reduce((product, size) => product * size, 1);
    return { ok: true, dataLength: voxels, dims: header.dims };
  } catch (error) {
    return { ok: false, error };
  }
}

const CASES = 500;
const FIRST_SEED = 20_240;

describe('readNifti on mutated headers', () => {
  it('base files read cleanly', () => {
    for (const base of BASES) {
      const path = tmp.path(`${base.name}.nii`);
      writeFileSync(path, base.bytes);
      expect(readNifti(path).data.length).toBe(24);
    }
  });

  it('mutated headers read or throw NiftiError', async () => {
    let succeeded = 0;
    let failed = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
      const fuzzCase = makeCase(seed);
      const path = tmp.path(`case-${seed}.nii${fuzzCase.gzip ? '.gz' : ''}`);
      writeFileSync(path, fuzzCase.gzip ? gzipSync(fuzzCase.bytes) : fuzzCase.bytes);
      const sync = readSync(path);
      checkOutcome(fuzzCase, sync);
      const async = await readAsync(path);
      checkOutcome(fuzzCase, async);
      expect(async.ok, `seed ${seed}: sync and async reads agree`).toBe(sync.ok);
      checkOutcome(fuzzCase, readHeader(path));
      if (sync.ok) succeeded++;
      else failed++;
    }
    // Both kinds of outcome must occur, or the mutations are too weak or too strong to test much.
    expect(succeeded).toBeGreaterThan(CASES / 10);
    expect(failed).toBeGreaterThan(CASES / 10);
  }, 60_000);
});
