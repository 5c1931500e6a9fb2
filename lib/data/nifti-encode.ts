// SPDX-License-Identifier: MIT
//
// Encoding for writing: little-endian NIfTI-1 and NIfTI-2 headers, voxel data converted to the
// stored datatype, and the choice of a datatype that fits the values ('auto').

import {
  HOST_LITTLE_ENDIAN,
  NIFTI1_HEADER_SIZE,
  NIFTI2_HEADER_SIZE,
  datatypeByName,
  datatypeOfArray,
  swapBytesSteps,
  type DatatypeSpec,
  type NiftiDatatype,
  type VoxelArray,
} from './nifti-format.js';
import { rangeSteps, runSteps, type Steps } from './nifti-steps.js';

/** Header fields that `encodeNifti1Header` and `encodeNifti2Header` write. @internal */
export interface HeaderFields {
  datatype: DatatypeSpec;
  dims: readonly number[];
  /** pixdim[1..]: voxel sizes of each dim. */
  pixdim: readonly number[];
  qfac: 1 | -1;
  xyztUnits: number;
  intentCode: number;
  description: string;
  qformCode: number;
  sformCode: number;
  quatern: readonly [number, number, number];
  qoffset: readonly [number, number, number];
  srow: readonly (readonly number[])[];
}

/** Byte offset of the voxel data in NIfTI-1 files that medunet writes: the header plus an empty extension flag. */
export const WRITE_VOX_OFFSET = 352;

/**
 * Encodes a little-endian single-file NIfTI-1 header ("n+1") of 352 bytes, with scl_slope 1,
 * scl_inter 0 and no extensions.
 * @internal
 */
export function encodeNifti1Header(fields: HeaderFields): Uint8Array {
  const bytes = new Uint8Array(WRITE_VOX_OFFSET);
  const view = new DataView(bytes.buffer);
  const le = true;
  view.setInt32(0, NIFTI1_HEADER_SIZE, le);

  view.setInt16(40, fields.dims.length, le);
  fields.dims.forEach((size, axis) => view.setInt16(42 + 2 * axis, size, le));
  for (let axis = fields.dims.length + 1; axis < 8; axis++) view.setInt16(40 + 2 * axis, 1, le);
  view.setInt16(68, fields.intentCode, le);
  view.setInt16(70, fields.datatype.code, le);
  view.setInt16(72, fields.datatype.bytes * 8, le);

  view.setFloat32(76, fields.qfac, le);
  fields.pixdim.slice(0, 7).forEach((size, axis) => view.setFloat32(80 + 4 * axis, size, le));
  view.setFloat32(108, WRITE_VOX_OFFSET, le);
  view.setFloat32(112, 1, le);
  view.setFloat32(116, 0, le);
  bytes[123] = fields.xyztUnits & 0xff;

  writeAscii(bytes, 148, 80, fields.description);
  view.setInt16(252, fields.qformCode, le);
  view.setInt16(254, fields.sformCode, le);
  fields.quatern.forEach((value, i) => view.setFloat32(256 + 4 * i, value, le));
  fields.qoffset.forEach((value, i) => view.setFloat32(268 + 4 * i, value, le));
  fields.srow.forEach((row, r) => row.forEach((value, c) => view.setFloat32(280 + 16 * r + 4 * c, value, le)));
  bytes.set([0x6e, 0x2b, 0x31, 0], 344);
  return bytes;
}

/** Writes `text` as NUL-terminated ASCII into `length` bytes; other characters become '?'. */
function writeAscii(bytes: Uint8Array, offset: number, length: number, text: string): void {
  for (let i = 0; i < Math.min(text.length, length - 1); i++) {
    const code = text.charCodeAt(i);
    bytes[offset + i] = code >= 0x20 && code < 0x7f ? code : 0x3f;
  }
}

/** Byte offset of the voxel data in NIfTI-2 files that medunet writes: the header plus an empty extension flag. */
export const NIFTI2_WRITE_VOX_OFFSET = 544;

/**
 * Encodes a little-endian single-file NIfTI-2 header ("n+2") of 544 bytes, with scl_slope 1,
 * scl_inter 0 and no extensions. Sizes and vox_offset are int64, and pixdim, the quaternion,
 * qoffset and srow are float64, so dims above 32767 and full-precision geometry fit.
 * @internal
 */
export function encodeNifti2Header(fields: HeaderFields): Uint8Array {
  const bytes = new Uint8Array(NIFTI2_WRITE_VOX_OFFSET);
  const view = new DataView(bytes.buffer);
  const le = true;
  view.setInt32(0, NIFTI2_HEADER_SIZE, le);
  // The magic is "n+2" and a NUL, then \r\n\x1a\n, which reveals a file mangled by text-mode transfer.
  bytes.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
  view.setInt16(12, fields.datatype.code, le);
  view.setInt16(14, fields.datatype.bytes * 8, le);

  view.setBigInt64(16, BigInt(fields.dims.length), le);
  fields.dims.forEach((size, axis) => view.setBigInt64(24 + 8 * axis, BigInt(size), le));
  for (let axis = fields.dims.length + 1; axis < 8; axis++) view.setBigInt64(16 + 8 * axis, 1n, le);

  view.setFloat64(104, fields.qfac, le);
  fields.pixdim.slice(0, 7).forEach((size, axis) => view.setFloat64(112 + 8 * axis, size, le));
  view.setBigInt64(168, BigInt(NIFTI2_WRITE_VOX_OFFSET), le);
  view.setFloat64(176, 1, le);
  view.setFloat64(184, 0, le);

  writeAscii(bytes, 240, 80, fields.description);
  view.setInt32(344, fields.qformCode, le);
  view.setInt32(348, fields.sformCode, le);
  fields.quatern.forEach((value, i) => view.setFloat64(352 + 8 * i, value, le));
  fields.qoffset.forEach((value, i) => view.setFloat64(376 + 8 * i, value, le));
  fields.srow.forEach((row, r) => row.forEach((value, c) => view.setFloat64(400 + 32 * r + 8 * c, value, le)));
  view.setInt32(500, fields.xyztUnits, le);
  view.setInt32(504, fields.intentCode, le);
  return bytes;
}

/**
 * Little-endian bytes of `data` stored as `datatype`, converting (rounding and clamping) when the
 * types differ. On a little-endian machine with no conversion this is a view of `data`, so the
 * caller copies it before changing it.
 * @internal
 */
export function encodeVoxels(data: VoxelArray, datatype: DatatypeSpec): Uint8Array {
  return runSteps(encodeVoxelSteps(data, datatype));
}

/** {@link encodeVoxels} in steps that pause between ranges of voxels. @internal */
export function* encodeVoxelSteps(data: VoxelArray, datatype: DatatypeSpec): Steps<Uint8Array> {
  const source = datatypeOfArray(data)!;
  let converted: VoxelArray;
  if (source.name === datatype.name) {
    converted = data;
  } else {
    converted = datatype.create(new ArrayBuffer(data.length * datatype.bytes), data.length);
    yield* convertIntoSteps(data, converted, datatype);
  }
  const bytes = new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength);
  if (HOST_LITTLE_ENDIAN || datatype.bytes === 1) return bytes;
  const swapped = bytes.slice();
  yield* swapBytesSteps(swapped, datatype.bytes);
  return swapped;
}

/** Rounds a number to a bigint; NaN becomes 0 and infinities become the nearer bound. */
function toBigInt(value: number, min: bigint, max: bigint): bigint {
  if (Number.isNaN(value)) return 0n;
  if (value === Infinity) return max;
  if (value === -Infinity) return min;
  return BigInt(Math.round(value));
}

const INTEGER_RANGES: Partial<Record<NiftiDatatype, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/**
 * Copies `source` into `target`, pausing between ranges of voxels. Integer targets get
 * round-to-nearest, saturation, and 0 for NaN.
 */
function* convertIntoSteps(source: VoxelArray, target: VoxelArray, datatype: DatatypeSpec): Steps<void> {
  const read = (i: number): number => Number(source[i]!);
  if (target instanceof BigInt64Array || target instanceof BigUint64Array) {
    const bigTarget = target;
    const [min, max] = target instanceof BigInt64Array ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    const bigSource = source instanceof BigInt64Array || source instanceof BigUint64Array ? source : null;
    yield* rangeSteps(source.length, (from, to) => {
      for (let i = from; i < to; i++) {
        let value: bigint;
        if (bigSource) {
          value = bigSource[i]!;
        } else {
          value = toBigInt(read(i), min, max);
        }
        if (value < min) value = min;
        if (value > max) value = max;
        bigTarget[i] = value;
      }
    });
    return;
  }
  const range = INTEGER_RANGES[datatype.name];
  const numbers = target as Exclude<VoxelArray, BigInt64Array | BigUint64Array>;
  if (range === undefined) {
    yield* rangeSteps(source.length, (from, to) => {
      for (let i = from; i < to; i++) numbers[i] = read(i);
    });
    return;
  }
  const [min, max] = range;
  yield* rangeSteps(source.length, (from, to) => {
    for (let i = from; i < to; i++) {
      const value = read(i);
      numbers[i] = Number.isNaN(value) ? 0 : Math.min(max, Math.max(min, Math.round(value)));
    }
  });
}

const AUTO_INTEGER_TYPES: readonly [NiftiDatatype, number, number][] = [
  ['uint8', 0, 255],
  ['int16', -32768, 32767],
  ['uint16', 0, 65535],
  ['int32', -2147483648, 2147483647],
];

/**
 * Returns the datatype that `datatype: 'auto'` stores `data` as: float32 when any value is not an
 * integer (NaN and infinities included), else the first of uint8, int16, uint16 and int32 whose
 * range contains the minimum and the maximum. Integers outside the int32 range keep the array's own
 * type, which represents them exactly. float64 values that are not integers lose precision in float32.
 * @internal
 */
export function autoDatatype(data: VoxelArray): DatatypeSpec {
  return runSteps(autoDatatypeSteps(data));
}

/** {@link autoDatatype} in steps that pause between ranges of voxels. @internal */
export function* autoDatatypeSteps(data: VoxelArray): Steps<DatatypeSpec> {
  const own = datatypeOfArray(data)!;
  let min: number;
  let max: number;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const big = data;
    let low = big[0]!;
    let high = big[0]!;
    yield* rangeSteps(big.length, (from, to) => {
      for (let i = from; i < to; i++) {
        const value = big[i]!;
        if (value < low) low = value;
        if (value > high) high = value;
      }
    });
    // Number() rounds only beyond 2^53, far outside every range tested below.
    min = Number(low);
    max = Number(high);
  } else {
    const numbers = data;
    const floating = data instanceof Float32Array || data instanceof Float64Array;
    let low = Infinity;
    let high = -Infinity;
    let fractional = false;
    yield* rangeSteps(numbers.length, (from, to) => {
      if (fractional) return;
      for (let i = from; i < to; i++) {
        const value = numbers[i]!;
        if (floating && !Number.isInteger(value)) {
          fractional = true;
          return;
        }
        if (value < low) low = value;
        if (value > high) high = value;
      }
    });
    if (fractional) return datatypeByName('float32');
    min = low;
    max = high;
  }
  const fitting = AUTO_INTEGER_TYPES.find(([, low, high]) => min >= low && max <= high);
  return fitting ? datatypeByName(fitting[0]) : own;
}
