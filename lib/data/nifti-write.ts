// SPDX-License-Identifier: MIT
//
// Writing NIfTI-1 and NIfTI-2 volumes (.nii and .nii.gz) with the geometry of a source scan.

import { closeSync, createWriteStream, existsSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';

import { NiftiError } from '../errors.js';
import { checkInt, checkOneOf, checkOptions, checkString, rangeError, typeError } from '../validate.js';
import { affinesClose, diagonalAffine, quaternionToAffine } from './affine.js';
import {
  HOST_LITTLE_ENDIAN,
  NIFTI_DATATYPES,
  affineFromHeader,
  datatypeByName,
  datatypeOfArray,
  qformFromAffine,
  type DatatypeSpec,
  type NiftiDatatype,
  type NiftiHeaderInfo,
  type VoxelArray,
} from './nifti-format.js';
import {
  WRITE_VOX_OFFSET,
  autoDatatypeSteps,
  encodeNifti1Header,
  encodeNifti2Header,
  encodeVoxelSteps,
  type HeaderFields,
} from './nifti-encode.js';
import { runSteps, runStepsAsync, type Steps } from './nifti-steps.js';
import { withNiftiErrors, withNiftiErrorsAsync } from './nifti-errors.js';

/** A volume to write: voxel data with x fastest, its dims, and optionally its geometry and header. */
export interface NiftiWriteInput {
  data: VoxelArray;
  /** Sizes of each dim, x first; their product must equal `data.length`. */
  dims: readonly number[];
  /** Voxel sizes matching `dims`; spatial sizes default to the column norms of `affine`, else 1. */
  pixdim?: readonly number[];
  /** 4x4 voxel-to-world matrix. Defaults to the affine that `header` defines, else diag(pixdim). */
  affine?: readonly (readonly number[])[];
  /** Header fields to keep, usually the `header` of the volume that `data` was computed from. */
  header?: Partial<NiftiHeaderInfo>;
}

/** Options of `writeNifti` and `writeNiftiAsync`. */
export interface WriteNiftiOptions {
  /**
   * Datatype to store; the data is rounded and clamped to its range. Defaults to the array's
   * type. 'auto' picks one that fits the values: uint8 when all are integers in [0, 255] (binary
   * masks), else int16, uint16 or int32 for integers in their range, and float32 when any value
   * is not an integer.
   */
  datatype?: NiftiDatatype | 'auto';
  /** 1 (default) for a 348-byte NIfTI-1 header, 2 for a 540-byte NIfTI-2 header with 64-bit sizes. */
  niftiVersion?: 1 | 2;
  /** gzip level 0 to 9 for paths ending in .gz (default 6). */
  compressionLevel?: number;
}

/** Writes `volume` as a NIfTI-1 or NIfTI-2 file; see {@link writeNiftiAsync} for the rules. */
export function writeNifti(path: string, volume: NiftiWriteInput, options?: WriteNiftiOptions): void {
  const { parts, compressionLevel } = runSteps(prepareWriteSteps(path, volume, options, false));
  withNiftiErrors(path, 'written', () => {
    const gz = path.toLowerCase().endsWith('.gz');
    const output = gz ? [gzipSync(Buffer.concat(parts), { level: compressionLevel })] : parts;
    const temporary = temporaryPath(path);
    try {
      const fd = openSync(temporary, 'w');
      try {
        // Each call writes all of its bytes at the current position, so the parts follow each other.
        for (const part of output) writeFileSync(fd, part);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    } catch (error) {
      if (existsSync(temporary)) unlinkSync(temporary);
      throw error;
    }
  });
}

/**
 * Writes `volume` as a single-file NIfTI-1 image, or NIfTI-2 with `niftiVersion: 2`,
 * gzip-compressed when `path` ends in .gz.
 *
 * The file is written under a temporary name and then renamed, so readers never see a partial
 * file. The voxels are copied when the call starts, so changes to `data` after it returns do not
 * reach the file. The datatype choice and conversion run on the calling thread in slices of a
 * few milliseconds, and gzip runs on the libuv thread pool. The header is little-endian with scl_slope 1 and scl_inter 0, and vox_offset is 352 for
 * NIfTI-1 and 544 for NIfTI-2. NIfTI-2 stores sizes as int64 and geometry as float64.
 * Geometry rules for both versions, so that a mask written with its scan's `affine` and
 * `header` overlays it:
 * - When `affine` is omitted, or equals the affine that `header` defines, the header's
 *   qform_code, sform_code, quaternion, qoffset and srow are written unchanged.
 * - Otherwise the sform is `affine` and the qform is derived from it (nearest rotation). The
 *   header's codes are kept, except that sform_code becomes 2 (aligned anatomical) when only
 *   the qform is coded and `affine` has a shear that a qform cannot hold. Without any code
 *   (no header, or both codes 0), both become 2, or stay 0 for a diagonal affine with no offset.
 * - Spatial voxel sizes come from `pixdim` when the header is kept unchanged, else from the
 *   affine's column norms.
 * xyzt_units, intent_code and description come from `header` (units default to mm).
 *
 * @param path - Output path; its folder must exist.
 * @param volume - Data, dims and optionally pixdim, affine and header.
 * @param options - `datatype` (default: from the array class; 'auto' fits it to the values),
 *   `niftiVersion` (default 1), `compressionLevel` (default 6).
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` for arguments of the wrong type.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when dims do not match the data or an entry is invalid.
 * @throws {NiftiError} when the file cannot be written, or when dims exceed 32767 for NIfTI-1.
 * @example
 * const scan = readNifti('ch2.nii.gz');
 * await writeNiftiAsync('mask.nii.gz', { data: mask, dims: scan.dims, pixdim: scan.pixdim,
 *   affine: scan.affine, header: scan.header });
 */
export async function writeNiftiAsync(
  path: string,
  volume: NiftiWriteInput,
  options?: WriteNiftiOptions,
): Promise<void> {
  // The voxels are copied before the first pause, so later changes to `data` miss the file.
  const { parts, compressionLevel } = await runStepsAsync(prepareWriteSteps(path, volume, options, true));
  await withNiftiErrorsAsync(path, 'written', async () => {
    const gz = path.toLowerCase().endsWith('.gz');
    const temporary = temporaryPath(path);
    try {
      if (gz) {
        // Streaming the parts through gzip compresses them on the thread pool in small chunks,
        // without joining the parts or the compressed output into one buffer first.
        await pipeline(Readable.from(parts), createGzip({ level: compressionLevel }), createWriteStream(temporary));
      } else {
        const handle = await open(temporary, 'w');
        try {
          for (const part of parts) await handle.writeFile(part);
        } finally {
          await handle.close();
        }
      }
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined); // The temporary file may not exist yet.
      throw error;
    }
  });
}

function temporaryPath(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Validates the arguments and encodes the header and the voxels, pausing between ranges of
 * voxels. With `copyData`, the voxels are copied first, so that the result does not change
 * when the caller changes `volume.data` during the pauses.
 */
function* prepareWriteSteps(
  path: unknown,
  volume: unknown,
  options: unknown,
  copyData: boolean,
): Steps<{ parts: Uint8Array[]; compressionLevel: number }> {
  checkString('path', path);
  const opts = checkOptions<WriteNiftiOptions>('options', options);
  const compressionLevel =
    opts.compressionLevel === undefined ? 6 : checkInt('options.compressionLevel', opts.compressionLevel, 0, 9);
  const version = checkNiftiVersion(opts.niftiVersion);
  const checked = checkWriteInput(volume);
  const input = copyData ? copyWriteInput(checked) : checked;
  const datatype = yield* chooseDatatypeSteps(input.data, opts.datatype);
  for (const [axis, size] of input.dims.entries()) {
    if (version === 1 && size > 32767) {
      throw new NiftiError(
        path as string,
        `cannot be written: dims[${axis}] is ${size}, but NIfTI-1 allows at most 32767 ` +
          '(write NIfTI-2 with `niftiVersion: 2`)',
      );
    }
  }
  const fields = headerFields(input, datatype);
  const header = version === 1 ? encodeNifti1Header(fields) : encodeNifti2Header(fields);
  // The header ends where the voxel data starts, so a plain file is the two parts written in turn
  // and the voxels need no copy into one buffer.
  return { parts: [header, yield* encodeVoxelSteps(input.data, datatype)], compressionLevel };
}

/** Copies the voxels, the dims, pixdim and affine arrays, and the header object of `input`. */
function copyWriteInput(input: NiftiWriteInput): NiftiWriteInput {
  return {
    data: input.data.slice(),
    dims: [...input.dims],
    ...(input.pixdim === undefined ? {} : { pixdim: [...input.pixdim] }),
    ...(input.affine === undefined ? {} : { affine: input.affine.map((row) => [...row]) }),
    ...(input.header === undefined ? {} : { header: { ...input.header } }),
  };
}

function checkNiftiVersion(value: unknown): 1 | 2 {
  if (value === undefined) return 1;
  if (value === 1 || value === 2) return value;
  const error = typeof value === 'number' ? rangeError : typeError;
  throw error('options.niftiVersion', '1 or 2', value);
}

const DATATYPE_CHOICES: readonly (NiftiDatatype | 'auto')[] = [...NIFTI_DATATYPES, 'auto'];

function* chooseDatatypeSteps(data: VoxelArray, requested: unknown): Steps<DatatypeSpec> {
  if (requested === undefined) return datatypeOfArray(data)!;
  const name = checkOneOf('options.datatype', requested, DATATYPE_CHOICES);
  return name === 'auto' ? yield* autoDatatypeSteps(data) : datatypeByName(name);
}

function checkWriteInput(volume: unknown): NiftiWriteInput {
  if (volume === null || typeof volume !== 'object' || Array.isArray(volume)) {
    throw typeError('volume', 'an object with data and dims', volume);
  }
  const { data, dims, pixdim, affine, header } = volume as Partial<NiftiWriteInput>;
  if (datatypeOfArray(data) === undefined) {
    throw typeError('volume.data', `a typed array of one of ${NIFTI_DATATYPES.join(', ')}`, data);
  }
  const voxels = data as VoxelArray;
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 7) {
    throw typeError('volume.dims', 'an array of 1 to 7 sizes', dims);
  }
  dims.forEach((size, axis) => checkInt(`volume.dims[${axis}]`, size, 1));
  const count = dims.reduce((product: number, size: number) => product * size, 1);
  if (count !== voxels.length) {
    throw rangeError('volume.dims', `sizes whose product equals volume.data.length (${voxels.length})`, dims);
  }
  if (pixdim !== undefined) {
    if (!Array.isArray(pixdim)) throw typeError('volume.pixdim', 'an array of voxel sizes', pixdim);
    pixdim.forEach((size, axis) => {
      if (typeof size !== 'number' || !Number.isFinite(size))
        throw typeError(`volume.pixdim[${axis}]`, 'a finite number', size);
    });
  }
  if (affine !== undefined) checkAffine(affine);
  if (header !== undefined && (header === null || typeof header !== 'object' || Array.isArray(header))) {
    throw typeError('volume.header', 'an object of NIfTI header fields', header);
  }
  return { data: voxels, dims, pixdim, affine, header } as NiftiWriteInput;
}

function checkAffine(affine: unknown): void {
  const valid =
    Array.isArray(affine) &&
    (affine.length === 4 || affine.length === 3) &&
    affine.every(
      (row) =>
        Array.isArray(row) &&
        row.length === 4 &&
        row.every((value) => typeof value === 'number' && Number.isFinite(value)),
    );
  if (!valid) throw typeError('volume.affine', 'a 4x4 (or 3x4) array of finite numbers', affine);
}

/** Resolves codes, quaternion, srow and voxel sizes by the rules documented on `writeNiftiAsync`. */
function headerFields(input: NiftiWriteInput, datatype: DatatypeSpec): HeaderFields {
  const inputPixdim = input.pixdim ?? [];
  const spatialPixdim = [0, 1, 2].map((axis) => inputPixdim[axis] ?? 1);
  const info = completeHeader(input.header ?? {});
  const headerAffine = input.header === undefined ? null : affineFromHeader(info, spatialPixdim);
  const affine = input.affine ? toFourByFour(input.affine) : (headerAffine ?? diagonalAffine(spatialPixdim));
  const common = {
    datatype,
    dims: input.dims,
    xyztUnits: info.xyztUnits,
    intentCode: info.intentCode,
    description: info.description,
  };
  const derived = qformFromAffine(affine);

  if (headerAffine !== null && affinesClose(affine, headerAffine)) {
    // The header describes this affine: keep its geometry fields exactly as they were.
    const spacing = input.pixdim ? spatialPixdim : derived.spacing;
    const srow = [info.srowX, info.srowY, info.srowZ].map((row, r) => (info.sformCode > 0 ? row : affine[r]!));
    return {
      ...common,
      pixdim: mergePixdim(spacing, inputPixdim, input.dims.length),
      qfac: info.qfac,
      qformCode: info.qformCode,
      sformCode: info.sformCode,
      quatern: [info.quaternB, info.quaternC, info.quaternD],
      qoffset: [info.qoffsetX, info.qoffsetY, info.qoffsetZ],
      srow,
    };
  }

  let qformCode = info.qformCode;
  let sformCode = info.sformCode;
  if (qformCode <= 0 && sformCode <= 0) {
    // A diagonal affine with no offset is what a reader assumes when both codes are 0.
    qformCode = sformCode = affinesClose(affine, diagonalAffine(derived.spacing), 1e-6) ? 0 : 2;
  } else if (sformCode <= 0) {
    // Only the qform is coded: add an sform when the affine has a shear that a qform cannot hold.
    const offset = derived.qoffset;
    const qformAffine = quaternionToAffine(...derived.quatern, offset, derived.spacing, derived.qfac);
    if (!affinesClose(affine, qformAffine)) sformCode = 2;
  }
  return {
    ...common,
    pixdim: mergePixdim(derived.spacing, inputPixdim, input.dims.length),
    qfac: derived.qfac,
    qformCode,
    sformCode,
    quatern: derived.quatern,
    qoffset: derived.qoffset,
    srow: affine.slice(0, 3),
  };
}

/** Copies a 4x4 or 3x4 affine into a 4x4 matrix. */
function toFourByFour(affine: readonly (readonly number[])[]): number[][] {
  const rows = affine.map((row) => row.slice());
  if (rows.length === 3) rows.push([0, 0, 0, 1]);
  return rows;
}

/** Header fields with defaults for the ones a caller left out. */
function completeHeader(header: Partial<NiftiHeaderInfo>): NiftiHeaderInfo {
  const code = (value: unknown): number => (Number.isInteger(value) ? (value as number) : 0);
  const finite = (value: unknown, fallback = 0): number => (Number.isFinite(value) ? (value as number) : fallback);
  const row = (value: unknown, fallback: number[]): [number, number, number, number] =>
    (Array.isArray(value) && value.length === 4 && value.every(Number.isFinite) ? value : fallback) as [
      number,
      number,
      number,
      number,
    ];
  return {
    niftiVersion: 1,
    littleEndian: HOST_LITTLE_ENDIAN,
    datatypeCode: 0,
    voxOffset: WRITE_VOX_OFFSET,
    sclSlope: 1,
    sclInter: 0,
    xyztUnits: header.xyztUnits === undefined ? 2 : code(header.xyztUnits),
    intentCode: code(header.intentCode),
    description: typeof header.description === 'string' ? header.description : '',
    qformCode: code(header.qformCode),
    sformCode: code(header.sformCode),
    quaternB: finite(header.quaternB),
    quaternC: finite(header.quaternC),
    quaternD: finite(header.quaternD),
    qoffsetX: finite(header.qoffsetX),
    qoffsetY: finite(header.qoffsetY),
    qoffsetZ: finite(header.qoffsetZ),
    qfac: header.qfac === -1 ? -1 : 1,
    srowX: row(header.srowX, [1, 0, 0, 0]),
    srowY: row(header.srowY, [0, 1, 0, 0]),
    srowZ: row(header.srowZ, [0, 0, 1, 0]),
  };
}

/** pixdim[1..] for the header: spatial sizes first, then the caller's sizes of further dims (default 1). */
function mergePixdim(spatial: readonly number[], inputPixdim: readonly number[], rank: number): number[] {
  const merged: number[] = [];
  for (let axis = 0; axis < Math.max(rank, 3); axis++)
    merged.push(axis < 3 ? spatial[axis]! : (inputPixdim[axis] ?? 1));
  return merged;
}
