// SPDX-License-Identifier: MIT
//
// The NIfTI-1 and NIfTI-2 binary layouts: datatype codes, header decoding on top of
// nifti-reader-js, and voxel decoding with byte swapping and scaling. Everything here works on
// bytes already in memory. Files are read in nifti.ts and nifti-file.ts, gzip is decoded in
// nifti-gzip.ts, and headers and voxels are encoded for writing in nifti-encode.ts.

import { NIFTI1, NIFTI2 } from 'nifti-reader-js';

import { NiftiError } from '../errors.js';
import { affineToQuaternion, diagonalAffine, quaternionToAffine } from './affine.js';
import { rangeSteps, runSteps, type Steps } from './nifti-steps.js';

/** Typed arrays that hold voxel data, one per supported NIfTI datatype. */
export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** Names of the NIfTI datatypes that medunet reads and writes. */
export type NiftiDatatype =
  'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64';

/**
 * Header fields that a NIfTI file carries besides the voxel data, named after the NIfTI-1
 * fields in camelCase (`sform_code` is `sformCode`, `srow_x` is `srowX`).
 */
export interface NiftiHeaderInfo {
  /** 1 for a 348-byte NIfTI-1 header, 2 for a 540-byte NIfTI-2 header. */
  niftiVersion: 1 | 2;
  /** Byte order of the file; the voxel data returned is always in the machine's order. */
  littleEndian: boolean;
  /** NIfTI datatype code (`2` is uint8, `16` is float32, ...). */
  datatypeCode: number;
  /** Byte offset of the voxel data in the file that contains it, as stored. */
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  /** Units of pixdim, as the NIfTI `xyzt_units` bit field (2 = mm, 8 = s, 10 = mm and s). */
  xyztUnits: number;
  intentCode: number;
  description: string;
  /** 0 when the qform is unset; 1 scanner, 2 aligned, 3 Talairach, 4 MNI 152. */
  qformCode: number;
  /** 0 when the sform is unset; codes as for `qformCode`. */
  sformCode: number;
  quaternB: number;
  quaternC: number;
  quaternD: number;
  qoffsetX: number;
  qoffsetY: number;
  qoffsetZ: number;
  /** Handedness of the qform: -1 when pixdim[0] is negative, else 1. */
  qfac: 1 | -1;
  /** First row of the sform affine (x = srowX . [i, j, k, 1]). */
  srowX: [number, number, number, number];
  srowY: [number, number, number, number];
  srowZ: [number, number, number, number];
}

/** Size, array type and code of one datatype. @internal */
export interface DatatypeSpec {
  name: NiftiDatatype;
  code: number;
  bytes: 1 | 2 | 4 | 8;
  create: (buffer: ArrayBuffer, length: number) => VoxelArray;
  /** Creates a view of `length` elements at byte `offset`, which must be a multiple of `bytes`. */
  view: (buffer: ArrayBuffer, offset: number, length: number) => VoxelArray;
}

const DATATYPES: readonly DatatypeSpec[] = [
  {
    name: 'uint8',
    code: 2,
    bytes: 1,
    create: (buffer, length) => new Uint8Array(buffer, 0, length),
    view: (buffer, offset, length) => new Uint8Array(buffer, offset, length),
  },
  {
    name: 'int16',
    code: 4,
    bytes: 2,
    create: (buffer, length) => new Int16Array(buffer, 0, length),
    view: (buffer, offset, length) => new Int16Array(buffer, offset, length),
  },
  {
    name: 'int32',
    code: 8,
    bytes: 4,
    create: (buffer, length) => new Int32Array(buffer, 0, length),
    view: (buffer, offset, length) => new Int32Array(buffer, offset, length),
  },
  {
    name: 'float32',
    code: 16,
    bytes: 4,
    create: (buffer, length) => new Float32Array(buffer, 0, length),
    view: (buffer, offset, length) => new Float32Array(buffer, offset, length),
  },
  {
    name: 'float64',
    code: 64,
    bytes: 8,
    create: (buffer, length) => new Float64Array(buffer, 0, length),
    view: (buffer, offset, length) => new Float64Array(buffer, offset, length),
  },
  {
    name: 'int8',
    code: 256,
    bytes: 1,
    create: (buffer, length) => new Int8Array(buffer, 0, length),
    view: (buffer, offset, length) => new Int8Array(buffer, offset, length),
  },
  {
    name: 'uint16',
    code: 512,
    bytes: 2,
    create: (buffer, length) => new Uint16Array(buffer, 0, length),
    view: (buffer, offset, length) => new Uint16Array(buffer, offset, length),
  },
  {
    name: 'uint32',
    code: 768,
    bytes: 4,
    create: (buffer, length) => new Uint32Array(buffer, 0, length),
    view: (buffer, offset, length) => new Uint32Array(buffer, offset, length),
  },
  {
    name: 'int64',
    code: 1024,
    bytes: 8,
    create: (buffer, length) => new BigInt64Array(buffer, 0, length),
    view: (buffer, offset, length) => new BigInt64Array(buffer, offset, length),
  },
  {
    name: 'uint64',
    code: 1280,
    bytes: 8,
    create: (buffer, length) => new BigUint64Array(buffer, 0, length),
    view: (buffer, offset, length) => new BigUint64Array(buffer, offset, length),
  },
];

/** Datatypes defined by the standard that medunet does not decode, for error messages. */
const UNSUPPORTED_DATATYPES: Readonly<Record<number, string>> = {
  0: 'unknown (DT_UNKNOWN)',
  1: 'binary (1 bit per voxel)',
  32: 'complex64',
  128: 'rgb24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};

/** Names of the datatypes that `readNifti` and `writeNifti` support. */
export const NIFTI_DATATYPES: readonly NiftiDatatype[] = DATATYPES.map((spec) => spec.name);

/** @internal */
export function datatypeByName(name: NiftiDatatype): DatatypeSpec {
  return DATATYPES.find((spec) => spec.name === name)!;
}

/** Returns the datatype whose array class matches `data`, or undefined for other arrays. @internal */
export function datatypeOfArray(data: unknown): DatatypeSpec | undefined {
  const byClass: [new (...args: never[]) => unknown, NiftiDatatype][] = [
    [Uint8Array, 'uint8'],
    [Int8Array, 'int8'],
    [Int16Array, 'int16'],
    [Uint16Array, 'uint16'],
    [Int32Array, 'int32'],
    [Uint32Array, 'uint32'],
    [Float32Array, 'float32'],
    [Float64Array, 'float64'],
    [BigInt64Array, 'int64'],
    [BigUint64Array, 'uint64'],
  ];
  // Uint8ClampedArray is not a Uint8Array subclass, so it is rejected like any other object.
  const match = byClass.find(([arrayClass]) => data instanceof arrayClass);
  return match ? datatypeByName(match[1]) : undefined;
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A decoded header together with the layout facts that voxel decoding needs. @internal */
export interface ParsedHeader {
  info: NiftiHeaderInfo;
  /** True for a .hdr file whose voxel data is in a separate .img file (magic "ni1" or "ni2"). */
  isPair: boolean;
  datatype: DatatypeSpec;
  /** Sizes from dim[1..dim[0]], a 0 size after the first read as 1, padded with 1 to at least 3. */
  dims: number[];
  /** Voxel sizes matching `dims`; padded entries are 1. */
  pixdim: number[];
  affine: number[][];
  voxelCount: number;
  /** Byte offset of the voxel data in the bytes that contain it. */
  dataOffset: number;
}

/** sizeof_hdr of a NIfTI-1 header in bytes. @internal */
export const NIFTI1_HEADER_SIZE = 348;
/** sizeof_hdr of a NIfTI-2 header in bytes. @internal */
export const NIFTI2_HEADER_SIZE = 540;

/**
 * Decodes the header at the start of `bytes`.
 *
 * nifti-reader-js decodes the fields. It is given exactly the header bytes, so it never parses
 * extensions (malformed ones can make it throw). This function reads the sform rows and the
 * NIfTI-2 64-bit fields itself and computes the affine itself, because the library skips srow
 * when it prefers the qform, reads big-endian 64-bit integers with the halves swapped, and
 * returns NaN rotations when |(b, c, d)| rounds to just above 1.
 * @internal
 */
export function parseHeader(path: string, bytes: Uint8Array): ParsedHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) {
    throw new NiftiError(path, `not a NIfTI file: it has ${bytes.byteLength} bytes, fewer than a header`);
  }
  const { version, littleEndian } = detectVersion(path, view);
  const headerSize = version === 1 ? NIFTI1_HEADER_SIZE : NIFTI2_HEADER_SIZE;
  if (bytes.byteLength < headerSize) {
    throw new NiftiError(
      path,
      `truncated: a NIfTI-${version} header has ${headerSize} bytes, found ${bytes.byteLength}`,
    );
  }
  const isPair = checkMagic(path, bytes, version);

  // A copy of exactly the header: a Node Buffer may be a view into a larger shared pool.
  const headerBuffer = new Uint8Array(headerSize);
  headerBuffer.set(bytes.subarray(0, headerSize));
  const header = version === 1 ? new NIFTI1() : new NIFTI2();
  try {
    header.readHeader(headerBuffer.buffer);
  } catch (error) {
    throw new NiftiError(path, `invalid NIfTI-${version} header: ${(error as Error).message}`, { cause: error });
  }

  const rawDims = version === 1 ? header.dims : readInt64s(view, 16, 8, littleEndian);
  const { dims, voxelCount } = checkDims(path, rawDims);
  const pixdim = dims.map((_, axis) => (axis < rawDims[0]! ? header.pixDims[axis + 1]! : 1));
  const datatype = findDatatype(path, header.datatypeCode);
  const info = headerInfo(header, view, version, littleEndian);
  const dataOffset = dataOffsetOf(path, version, isPair, view, littleEndian);

  return {
    info,
    isPair,
    datatype,
    dims,
    pixdim,
    affine: affineFromHeader(info, pixdim),
    voxelCount,
    dataOffset,
  };
}

function detectVersion(path: string, view: DataView): { version: 1 | 2; littleEndian: boolean } {
  const little = view.getInt32(0, true);
  const big = view.getInt32(0, false);
  if (little === NIFTI1_HEADER_SIZE) return { version: 1, littleEndian: true };
  if (big === NIFTI1_HEADER_SIZE) return { version: 1, littleEndian: false };
  if (little === NIFTI2_HEADER_SIZE) return { version: 2, littleEndian: true };
  if (big === NIFTI2_HEADER_SIZE) return { version: 2, littleEndian: false };
  throw new NiftiError(
    path,
    `not a NIfTI file: sizeof_hdr is ${little}, expected ${NIFTI1_HEADER_SIZE} (NIfTI-1) or ` +
      `${NIFTI2_HEADER_SIZE} (NIfTI-2)`,
  );
}

/** Returns true for a header/image pair ("ni1"/"ni2"), false for a single file ("n+1"/"n+2"). */
function checkMagic(path: string, bytes: Uint8Array, version: 1 | 2): boolean {
  const start = version === 1 ? 344 : 4;
  const length = version === 1 ? 4 : 8;
  const magic = Array.from(bytes.subarray(start, start + length));
  const tail = version === 1 ? [0] : [0, 0x0d, 0x0a, 0x1a, 0x0a];
  const single = [0x6e, 0x2b, 0x30 + version, ...tail];
  const pair = [0x6e, 0x69, 0x30 + version, ...tail];
  if (magic.every((byte, i) => byte === single[i])) return false;
  if (magic.every((byte, i) => byte === pair[i])) return true;
  const printable = JSON.stringify(String.fromCharCode(...magic.filter((byte) => byte >= 0x20 && byte < 0x7f)));
  const analyze = version === 1 && magic.every((byte) => byte === 0) ? ' (an Analyze 7.5 header?)' : '';
  throw new NiftiError(
    path,
    `not a NIfTI file: magic is ${printable}, expected "n+${version}" or "ni${version}"${analyze}`,
  );
}

function readInt64s(view: DataView, offset: number, count: number, littleEndian: boolean): number[] {
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(Number(view.getBigInt64(offset + 8 * i, littleEndian)));
  return values;
}

function checkDims(path: string, rawDims: readonly number[]): { dims: number[]; voxelCount: number } {
  const rank = rawDims[0]!;
  if (!Number.isInteger(rank) || rank < 1 || rank > 7) {
    throw new NiftiError(path, `invalid dims: dim[0] is ${rank}, expected 1 to 7`);
  }
  const dims: number[] = [];
  for (let axis = 1; axis <= rank; axis++) {
    const size = rawDims[axis]!;
    if (!Number.isSafeInteger(size) || size < 0 || (axis === 1 && size === 0)) {
      const rule = axis === 1 ? 'at least 1' : 'non-negative';
      throw new NiftiError(path, `invalid dims: dim[${axis}] is ${size}, expected ${rule}`);
    }
    dims.push(size === 0 ? 1 : size);
  }
  while (dims.length < 3) dims.push(1);
  const voxelCount = dims.reduce((product, size) => product * size, 1);
  if (!Number.isSafeInteger(voxelCount)) {
    throw new NiftiError(path, `invalid dims: [${dims.join(', ')}] has more voxels than can be addressed`);
  }
  return { dims, voxelCount };
}

function findDatatype(path: string, code: number): DatatypeSpec {
  const spec = DATATYPES.find((candidate) => candidate.code === code);
  if (spec) return spec;
  const name = UNSUPPORTED_DATATYPES[code] ?? 'not defined by NIfTI';
  throw new NiftiError(path, `unsupported datatype ${name} (code ${code}); supported: ${NIFTI_DATATYPES.join(', ')}`);
}

type LibraryHeader = InstanceType<typeof NIFTI1> | InstanceType<typeof NIFTI2>;

function headerInfo(header: LibraryHeader, view: DataView, version: 1 | 2, littleEndian: boolean): NiftiHeaderInfo {
  const srowOffset = version === 1 ? 280 : 400;
  const srow = (row: number): [number, number, number, number] => {
    const values: number[] = [];
    for (let col = 0; col < 4; col++) {
      const at = srowOffset + (row * 4 + col) * (version === 1 ? 4 : 8);
      values.push(version === 1 ? view.getFloat32(at, littleEndian) : view.getFloat64(at, littleEndian));
    }
    return values as [number, number, number, number];
  };
  return {
    niftiVersion: version,
    littleEndian,
    datatypeCode: header.datatypeCode,
    voxOffset: version === 1 ? header.vox_offset : Number(view.getBigInt64(168, littleEndian)),
    sclSlope: header.scl_slope,
    sclInter: header.scl_inter,
    xyztUnits: header.xyzt_units,
    intentCode: header.intent_code,
    description: header.description,
    qformCode: header.qform_code,
    sformCode: header.sform_code,
    quaternB: header.quatern_b,
    quaternC: header.quatern_c,
    quaternD: header.quatern_d,
    qoffsetX: header.qoffset_x,
    qoffsetY: header.qoffset_y,
    qoffsetZ: header.qoffset_z,
    qfac: header.pixDims[0]! < 0 ? -1 : 1,
    srowX: srow(0),
    srowY: srow(1),
    srowZ: srow(2),
  };
}

/**
 * Returns the offset of the voxel data. For a single file it is at least the header plus the
 * 4-byte extension flag, because a smaller vox_offset would place voxels inside the header.
 * NOTE: nibabel 5.0 takes such an offset as stored and reads header bytes as voxels.
 */
function dataOffsetOf(path: string, version: 1 | 2, isPair: boolean, view: DataView, littleEndian: boolean): number {
  const stored = version === 1 ? view.getFloat32(108, littleEndian) : Number(view.getBigInt64(168, littleEndian));
  if (!Number.isFinite(stored) || stored < 0 || stored > Number.MAX_SAFE_INTEGER) {
    throw new NiftiError(path, `invalid vox_offset ${stored}, expected a non-negative byte offset`);
  }
  const minimum = isPair ? 0 : (version === 1 ? NIFTI1_HEADER_SIZE : NIFTI2_HEADER_SIZE) + 4;
  return Math.max(Math.trunc(stored), minimum);
}

/**
 * Returns the voxel-to-world affine: the sform when sform_code > 0, else the qform when
 * qform_code > 0, else diag(pixdim) with no offset.
 * @internal
 */
export function affineFromHeader(info: NiftiHeaderInfo, pixdim: readonly number[]): number[][] {
  if (info.sformCode > 0) {
    return [info.srowX.slice(), info.srowY.slice(), info.srowZ.slice(), [0, 0, 0, 1]];
  }
  if (info.qformCode > 0) {
    const offset: [number, number, number] = [info.qoffsetX, info.qoffsetY, info.qoffsetZ];
    return quaternionToAffine(info.quaternB, info.quaternC, info.quaternD, offset, pixdim, info.qfac);
  }
  return diagonalAffine(pixdim);
}

/**
 * Returns `count` voxels of `datatype` from `bytes` at `offset` in the machine's byte order.
 * When no swap is needed, the voxels are aligned and `bytes` alone spans its ArrayBuffer (so
 * it is not a slice of Node's shared Buffer pool), the result is a view into `bytes` without a
 * copy. Otherwise the voxels are copied into a new array. The caller checks that the bytes are
 * there.
 * @internal
 */
export function decodeVoxels(
  bytes: Uint8Array,
  offset: number,
  count: number,
  datatype: DatatypeSpec,
  littleEndian: boolean,
): VoxelArray {
  return runSteps(decodeVoxelSteps(bytes, offset, count, datatype, littleEndian));
}

/** {@link decodeVoxels} in steps that pause between ranges of voxels. @internal */
export function* decodeVoxelSteps(
  bytes: Uint8Array,
  offset: number,
  count: number,
  datatype: DatatypeSpec,
  littleEndian: boolean,
): Steps<VoxelArray> {
  const start = bytes.byteOffset + offset;
  const ownsBuffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const needsSwap = littleEndian !== HOST_LITTLE_ENDIAN && datatype.bytes > 1;
  if (ownsBuffer && !needsSwap && start % datatype.bytes === 0 && bytes.buffer instanceof ArrayBuffer) {
    return datatype.view(bytes.buffer, start, count);
  }
  const byteLength = count * datatype.bytes;
  const copy = new Uint8Array(byteLength);
  const source = bytes.subarray(offset, offset + byteLength);
  yield* rangeSteps(byteLength, (from, to) => copy.set(source.subarray(from, to), from));
  if (needsSwap) yield* swapBytesSteps(copy, datatype.bytes);
  return datatype.create(copy.buffer, count);
}

/** Reverses the byte order of each `width`-byte element in place. @internal */
export function swapBytes(bytes: Uint8Array, width: number): void {
  for (let start = 0; start < bytes.length; start += width) {
    for (let low = start, high = start + width - 1; low < high; low++, high--) {
      const byte = bytes[low]!;
      bytes[low] = bytes[high]!;
      bytes[high] = byte;
    }
  }
}

/** {@link swapBytes} in steps that pause between ranges of elements. @internal */
export function* swapBytesSteps(bytes: Uint8Array, width: number): Steps<void> {
  yield* rangeSteps(bytes.length / width, (from, to) => swapBytes(bytes.subarray(from * width, to * width), width));
}

/**
 * Applies `value * slope + inter` as the NIfTI standard defines it: not at all when the slope is
 * 0 or not finite, and also not when it is the identity (slope 1, intercept 0), so the source
 * type is kept. A non-finite intercept counts as 0. float64 data stays float64; every other
 * datatype becomes Float32Array.
 * @internal
 */
export function applyScaling(data: VoxelArray, slope: number, inter: number): VoxelArray {
  return runSteps(applyScalingSteps(data, slope, inter));
}

/** {@link applyScaling} in steps that pause between ranges of voxels. @internal */
export function* applyScalingSteps(data: VoxelArray, slope: number, inter: number): Steps<VoxelArray> {
  if (!Number.isFinite(slope) || slope === 0) return data;
  const intercept = Number.isFinite(inter) ? inter : 0;
  if (slope === 1 && intercept === 0) return data;
  const scaled = data instanceof Float64Array ? new Float64Array(data.length) : new Float32Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const big = data;
    yield* rangeSteps(big.length, (from, to) => {
      for (let i = from; i < to; i++) scaled[i] = Number(big[i]!) * slope + intercept;
    });
  } else {
    const numbers = data;
    yield* rangeSteps(numbers.length, (from, to) => {
      for (let i = from; i < to; i++) scaled[i] = numbers[i]! * slope + intercept;
    });
  }
  return scaled;
}

/** Quaternion parameters derived from an affine, in the form the header stores them. @internal */
export function qformFromAffine(affine: readonly (readonly number[])[]): {
  quatern: [number, number, number];
  qoffset: [number, number, number];
  qfac: 1 | -1;
  spacing: [number, number, number];
} {
  const q = affineToQuaternion(affine);
  return { quatern: [q.b, q.c, q.d], qoffset: [q.qx, q.qy, q.qz], qfac: q.qfac, spacing: q.spacing };
}
