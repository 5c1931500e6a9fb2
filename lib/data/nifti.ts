// SPDX-License-Identifier: MIT
//
// Reading NIfTI volumes (.nii, .nii.gz and .hdr/.img pairs); writing is in nifti-write.ts and
// re-exported here.

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

import { NiftiError } from '../errors.js';
import { checkOneOf, checkOptions, checkString, rangeError, typeError } from '../validate.js';
import {
  applyScalingSteps,
  decodeVoxelSteps,
  parseHeader,
  type NiftiDatatype,
  type NiftiHeaderInfo,
  type ParsedHeader,
  type VoxelArray,
} from './nifti-format.js';
import { withNiftiErrors, withNiftiErrorsAsync } from './nifti-errors.js';
import { readBytesAsync, readBytesSync, readVoxelsAsync, readVoxelsSync, type VoxelRange } from './nifti-file.js';
import { flatVolumeIndex } from './nifti-volumes.js';
import { reorientFileVolumeSteps } from './orientation.js';
import { rangeSteps, runSteps, runStepsAsync, type Steps } from './nifti-steps.js';
import {
  HEADER_PREFIX_BYTES,
  MAX_DECODED_BYTES,
  gunzipCapped,
  gunzipFileCapped,
  gunzipPrefix,
  inflatePrefix,
  isGzip,
} from './nifti-gzip.js';

export { NIFTI_DATATYPES, type NiftiDatatype, type NiftiHeaderInfo, type VoxelArray } from './nifti-format.js';
export { writeNifti, writeNiftiAsync, type NiftiWriteInput, type WriteNiftiOptions } from './nifti-write.js';
export { selectVolume, volumeCount } from './nifti-volumes.js';
export {
  axisCodes,
  axisOrientation,
  reorientFromRAS,
  reorientToRAS,
  type AxisDirection,
  type AxisOrientation,
} from './orientation.js';

/**
 * A volume read from a NIfTI file.
 *
 * - `data` contains the voxels with x (the first voxel axis, i) fastest, then y (j), then z (k),
 *   then any further dims, exactly in file order: voxel (i, j, k) is
 *   `data[i + dims[0] * (j + dims[1] * k)]`. No axis is flipped or reordered unless the read
 *   requested `orientation: 'RAS'`, and only one 3D volume is returned when it set `volume`.
 * - When scaling applies (`scl_slope` finite and non-zero, and not the identity), integer and
 *   float32 data become a Float32Array and float64 data stays a Float64Array. Otherwise `data`
 *   has the file's type (int64 and uint64 as BigInt64Array and BigUint64Array).
 * - `affine` maps voxel indices (i, j, k, 1) to world coordinates in the RAS+ convention of
 *   NIfTI (x to the subject's right, y anterior, z superior). Its unit is millimetres when
 *   `header.xyztUnits & 7` is 2, the common case.
 * - Values are always in the machine's byte order, whatever the file's order.
 */
export interface NiftiVolume<T extends VoxelArray = VoxelArray> {
  data: T;
  /** Sizes of dim[1..dim[0]], x first; at least 3 entries (missing or 0 sizes read as 1). */
  dims: number[];
  /** Voxel sizes matching `dims` (pixdim[1..]); for spatial axes in `header.xyztUnits`, usually mm. */
  pixdim: number[];
  /** 4x4 voxel-to-world matrix: the sform if sform_code > 0, else the qform if qform_code > 0, else diag(pixdim). */
  affine: number[][];
  /** The file's datatype, also when `data` was scaled to float. */
  datatype: NiftiDatatype;
  header: NiftiHeaderInfo;
}

/** Options of `readNifti` and `readNiftiAsync`. */
export interface ReadNiftiOptions {
  /** Apply `scl_slope` and `scl_inter` (default true). With false, `data` has the file's type. */
  applyScaling?: boolean;
  /** Convert `data` to a Float32Array whatever its type (default false). */
  toFloat32?: boolean;
  /**
   * Decode only this 3D volume of a 4D or 5D image, as {@link selectVolume} would return it: a
   * number in file order, or `[t]`, `[t, c]`, ... per dim after the third. Default: all volumes.
   */
  volume?: number | readonly number[];
  /**
   * 'RAS' permutes and flips the voxel axes to the closest RAS+ orientation, as
   * {@link reorientToRAS} does; 'native' (default) keeps the file's voxel order.
   */
  orientation?: 'native' | 'RAS';
}

/** Like `NiftiVolume` without the voxel data. */
export type NiftiHeaderOnly = Omit<NiftiVolume, 'data'>;

/**
 * Reads a NIfTI-1 or NIfTI-2 volume.
 *
 * Plain and gzip-compressed files are recognised by content, not by name. Multi-member gzip
 * files are read whole. Gzip decoding stops with a NiftiError once the output passes vox_offset
 * plus the voxel bytes that the header declares. A header whose voxel data would not fit in one
 * buffer (4 GiB in Node 20) is rejected before any voxel data is decoded.
 * NOTE: so a gzip stream with bytes after the voxel data is rejected, although nibabel 5.0
 * ignores them. For a header/image pair, pass the .hdr path (or the .img path) and the
 * other file is found next to it, compressed or not. The voxel data starts at `vox_offset` and
 * is sized from dim[0] and dim[1..dim[0]]. The layout, dtype and affine rules are those of
 * {@link NiftiVolume}.
 *
 * @param path - .nii, .nii.gz, .hdr or .img file.
 * @param options - `applyScaling` (default true), `toFloat32` (default false).
 * @returns The decoded volume.
 * @throws {NiftiError} code `ERR_NIFTI`, message starting with the path, when the file is
 *   missing, unreadable, not NIfTI, truncated, of an unsupported datatype or has invalid dims.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` for a non-string path or bad options.
 * @example
 * const scan = readNifti('data/ch2.nii.gz', { toFloat32: true });
 * const [nx, ny, nz] = scan.dims; // voxel (i, j, k) is scan.data[i + nx * (j + ny * k)]
 * @see https://nipy.org/nibabel/nifti_images.html
 */
export function readNifti(path: string, options?: ReadNiftiOptions): NiftiVolume {
  const read = checkReadOptions(path, options);
  return withNiftiErrors(path, 'read', () => {
    const headerPath = headerPathOf(path);
    const fd = openSync(headerPath, 'r');
    try {
      const stats = fstatSync(fd);
      // Pipes and other special files have no size and no positions, so they are read whole.
      if (!stats.isFile()) return readInMemory(headerPath, readFileSync(fd), read);
      const prefix = readBytesSync(fd, 0, HEADER_PREFIX_BYTES);
      if (isGzip(prefix)) return readInMemory(headerPath, readBytesSync(fd, 0, stats.size), read);
      const parsed = parseHeader(headerPath, prefix);
      const cap = decodedSizeOf(headerPath, parsed);
      if (parsed.isPair) return readPairVolume(headerPath, parsed, cap, read);
      const { range, meta } = planVolume(headerPath, parsed, stats.size, read);
      const data = readVoxelsSync(headerPath, fd, range, parsed.datatype, parsed.info.littleEndian);
      return runSteps(finishVolumeSteps(headerPath, parsed, meta, data, read));
    } finally {
      closeSync(fd);
    }
  });
}

/** Decodes a whole file already in memory, gzip-compressed or not. */
function readInMemory(headerPath: string, file: Uint8Array, read: CheckedReadOptions): NiftiVolume {
  const compressed = isGzip(file);
  const parsed = parseHeader(headerPath, compressed ? gunzipPrefix(headerPath, file, HEADER_PREFIX_BYTES) : file);
  const cap = decodedSizeOf(headerPath, parsed);
  if (parsed.isPair) return readPairVolume(headerPath, parsed, cap, read);
  return runSteps(buildVolumeSteps(headerPath, parsed, compressed ? gunzipCapped(headerPath, file, cap) : file, read));
}

/**
 * Reads a NIfTI volume like {@link readNifti}, streaming the file through gunzip on the libuv
 * thread pool with the same cap on the decoded size. Uncompressed voxel data is read straight
 * into the returned array. Decoding the bytes into the typed array, scaling, the float32
 * conversion and the reorientation run on the calling thread in slices of a few milliseconds.
 * Between slices, the event loop runs. The code and the results are those of `readNifti`.
 * NOTE: a pipe or other special file is read whole and decoded in one piece, as by `readNifti`.
 *
 * @returns A promise of the decoded volume.
 * @throws {NiftiError} (as a rejection) for the same causes as `readNifti`.
 * @example
 * const [image, mask] = await Promise.all([readNiftiAsync('ch2.nii.gz'), readNiftiAsync('ch2bet.nii.gz')]);
 */
export async function readNiftiAsync(path: string, options?: ReadNiftiOptions): Promise<NiftiVolume> {
  const read = checkReadOptions(path, options);
  return withNiftiErrorsAsync(path, 'read', async () => {
    const headerPath = headerPathOf(path);
    const handle = await open(headerPath, 'r');
    try {
      const stats = await handle.stat();
      // Pipes and other special files have no size and no positions, so they are read whole.
      if (!stats.isFile()) return readInMemory(headerPath, await handle.readFile(), read);
      const prefix = await readBytesAsync(handle, 0, HEADER_PREFIX_BYTES);
      if (!isGzip(prefix)) {
        const parsed = parseHeader(headerPath, prefix);
        const cap = decodedSizeOf(headerPath, parsed);
        if (parsed.isPair) return await readPairVolumeAsync(headerPath, parsed, cap, read);
        const { range, meta } = planVolume(headerPath, parsed, stats.size, read);
        const data = await readVoxelsAsync(headerPath, handle, range, parsed.datatype, parsed.info.littleEndian);
        return await runStepsAsync(finishVolumeSteps(headerPath, parsed, meta, data, read));
      }
    } finally {
      await handle.close();
    }
    return readStreamed(headerPath, read);
  });
}

/** Reads a gzip file through a stream. */
async function readStreamed(headerPath: string, read: CheckedReadOptions): Promise<NiftiVolume> {
  let parsed: ParsedHeader | undefined;
  const capOf = (prefix: Uint8Array): number | null => {
    parsed = parseHeader(headerPath, prefix);
    return parsed.isPair ? null : decodedSizeOf(headerPath, parsed);
  };
  const bytes = await gunzipFileCapped(headerPath, capOf);
  if (parsed === undefined) capOf(bytes);
  const header = parsed!;
  if (header.isPair) return readPairVolumeAsync(headerPath, header, decodedSizeOf(headerPath, header), read);
  return runStepsAsync(buildVolumeSteps(headerPath, header, bytes, read));
}

/**
 * Reads only the header of a NIfTI file: dims, voxel sizes, affine, datatype and header fields.
 *
 * For gzip files only the start of the stream is decompressed, so this is fast on large
 * volumes. The voxel data is not read, so a truncated file is not detected here.
 *
 * @throws {NiftiError} when the file is missing or its header is invalid.
 * @example
 * const { dims } = readNiftiHeader('ch2.nii.gz'); // [181, 217, 181]
 */
export function readNiftiHeader(path: string): NiftiHeaderOnly {
  checkString('path', path);
  return withNiftiErrors(path, 'read', () => {
    const headerPath = headerPathOf(path);
    const parsed = parseHeader(headerPath, readHeaderBytes(headerPath));
    return headerOnly(parsed);
  });
}

interface CheckedReadOptions {
  applyScaling: boolean;
  toFloat32: boolean;
  /** Checked against the dims once the header is parsed. */
  volume: unknown;
  orientation: 'native' | 'RAS';
}

function checkReadOptions(path: unknown, options: unknown): CheckedReadOptions {
  checkString('path', path);
  const opts = checkOptions<ReadNiftiOptions>('options', options);
  const flag = (name: 'applyScaling' | 'toFloat32', fallback: boolean): boolean => {
    const value = opts[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw typeError(`options.${name}`, 'a boolean', value);
    return value;
  };
  return {
    applyScaling: flag('applyScaling', true),
    toFloat32: flag('toFloat32', false),
    volume: opts.volume,
    orientation:
      opts.orientation === undefined
        ? 'native'
        : checkOneOf('options.orientation', opts.orientation, ['native', 'RAS'] as const),
  };
}

/**
 * Returns the decoded size that reading the voxel data needs, vox_offset plus the voxel bytes,
 * after checking that one buffer can hold it. Gzip decoding stops at this size.
 */
function decodedSizeOf(path: string, parsed: ParsedHeader): number {
  const voxelBytes = parsed.voxelCount * parsed.datatype.bytes;
  const size = parsed.dataOffset + voxelBytes;
  if (!Number.isSafeInteger(size) || size > MAX_DECODED_BYTES) {
    throw new NiftiError(
      path,
      `voxel data too large: dims [${parsed.dims.join(', ')}] of ${parsed.datatype.name} need ${voxelBytes} bytes ` +
        `at offset ${parsed.dataOffset}, more than the ${MAX_DECODED_BYTES} bytes one buffer can hold`,
    );
  }
  return size;
}

const PAIR_IMAGE = /\.img(\.gz)?$/i;
const PAIR_HEADER = /\.hdr(\.gz)?$/i;

/** For an .img path, the .hdr (or .hdr.gz) beside it when one exists; otherwise `path` itself. */
function headerPathOf(path: string): string {
  if (!PAIR_IMAGE.test(path)) return path;
  const stem = path.replace(PAIR_IMAGE, '');
  const header = [`${stem}.hdr`, `${stem}.hdr.gz`].find((candidate) => existsSync(candidate));
  return header ?? path;
}

function pairImageCandidates(headerPath: string): string[] {
  if (!PAIR_HEADER.test(headerPath)) {
    throw new NiftiError(headerPath, 'header of a .hdr/.img pair (magic "ni1"), but the name does not end in .hdr');
  }
  const stem = headerPath.replace(PAIR_HEADER, '');
  return [`${stem}.img`, `${stem}.img.gz`];
}

/** Reads the .img file of a header/image pair, straight into the voxel array unless it is gzip. */
function readPairVolume(
  headerPath: string,
  parsed: ParsedHeader,
  cap: number,
  read: CheckedReadOptions,
): NiftiVolume {
  const imagePath = findPairImage(headerPath);
  const fd = openSync(imagePath, 'r');
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || isGzip(readBytesSync(fd, 0, 2))) {
      const file = stats.isFile() ? readBytesSync(fd, 0, stats.size) : readFileSync(fd);
      const bytes = isGzip(file) ? gunzipCapped(imagePath, file, cap) : file;
      return runSteps(buildVolumeSteps(imagePath, parsed, bytes, read));
    }
    const { range, meta } = planVolume(imagePath, parsed, stats.size, read);
    const data = readVoxelsSync(imagePath, fd, range, parsed.datatype, parsed.info.littleEndian);
    return runSteps(finishVolumeSteps(imagePath, parsed, meta, data, read));
  } finally {
    closeSync(fd);
  }
}

async function readPairVolumeAsync(
  headerPath: string,
  parsed: ParsedHeader,
  cap: number,
  read: CheckedReadOptions,
): Promise<NiftiVolume> {
  const imagePath = findPairImage(headerPath);
  const handle = await open(imagePath, 'r');
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const file = await handle.readFile();
      const bytes = isGzip(file) ? gunzipCapped(imagePath, file, cap) : file;
      return await runStepsAsync(buildVolumeSteps(imagePath, parsed, bytes, read));
    }
    if (!isGzip(await readBytesAsync(handle, 0, 2))) {
      const { range, meta } = planVolume(imagePath, parsed, stats.size, read);
      const data = await readVoxelsAsync(imagePath, handle, range, parsed.datatype, parsed.info.littleEndian);
      return await runStepsAsync(finishVolumeSteps(imagePath, parsed, meta, data, read));
    }
  } finally {
    await handle.close();
  }
  const bytes = await gunzipFileCapped(imagePath, () => cap);
  return runStepsAsync(buildVolumeSteps(imagePath, parsed, bytes, read));
}

function findPairImage(headerPath: string): string {
  const candidates = pairImageCandidates(headerPath);
  const imagePath = candidates.find((candidate) => existsSync(candidate));
  if (imagePath === undefined) throw missingImage(headerPath, candidates);
  return imagePath;
}

function missingImage(headerPath: string, candidates: string[]): NiftiError {
  return new NiftiError(headerPath, `image file of the .hdr/.img pair not found (tried ${candidates.join(', ')})`);
}

/** Decodes a volume from `imageBytes`, the bytes of the file that contains the voxel data. */
function* buildVolumeSteps(
  path: string,
  parsed: ParsedHeader,
  imageBytes: Uint8Array,
  options: CheckedReadOptions,
): Steps<NiftiVolume> {
  const { range, meta } = planVolume(path, parsed, imageBytes.length, options);
  const { datatype, info } = parsed;
  const data = yield* decodeVoxelSteps(imageBytes, range.offset, range.count, datatype, info.littleEndian);
  return yield* finishVolumeSteps(path, parsed, meta, data, options);
}

/**
 * Checks that a file of `fileSize` bytes contains all the voxel data that the header declares, and
 * returns the voxels to decode (all, or one volume when `options.volume` is set) with the dims
 * and voxel sizes of the result.
 */
function planVolume(
  path: string,
  parsed: ParsedHeader,
  fileSize: number,
  options: CheckedReadOptions,
): { range: VoxelRange; meta: NiftiHeaderOnly } {
  const expected = parsed.voxelCount * parsed.datatype.bytes;
  const available = Math.max(0, fileSize - parsed.dataOffset);
  if (available < expected) {
    throw new NiftiError(
      path,
      `truncated: expected ${expected} bytes of voxel data at offset ${parsed.dataOffset}, found ${available}`,
    );
  }
  const meta = headerOnly(parsed);
  let offset = parsed.dataOffset;
  let count = parsed.voxelCount;
  if (options.volume !== undefined) {
    const flat = flatVolumeIndex(parsed.dims, options.volume, 'options.volume');
    count = parsed.dims[0]! * parsed.dims[1]! * parsed.dims[2]!;
    offset += flat * count * parsed.datatype.bytes;
    meta.dims = meta.dims.slice(0, 3);
    meta.pixdim = meta.pixdim.slice(0, 3);
  }
  return { range: { offset, count }, meta };
}

/** Applies scaling, the float32 conversion and the reorientation that `options` request. */
function* finishVolumeSteps(
  path: string,
  parsed: ParsedHeader,
  meta: NiftiHeaderOnly,
  raw: VoxelArray,
  options: CheckedReadOptions,
): Steps<NiftiVolume> {
  let data = raw;
  if (options.applyScaling) data = yield* applyScalingSteps(data, parsed.info.sclSlope, parsed.info.sclInter);
  if (options.toFloat32) data = yield* toFloat32Steps(data);
  const volume = { data, ...meta };
  return options.orientation === 'RAS' ? yield* reorientFileVolumeSteps(path, volume) : volume;
}

function headerOnly(parsed: ParsedHeader): NiftiHeaderOnly {
  return {
    dims: parsed.dims,
    pixdim: parsed.pixdim,
    affine: parsed.affine,
    datatype: parsed.datatype.name,
    header: parsed.info,
  };
}

/**
 * Copies voxel data into a Float32Array (bigint values through Number); returns a Float32Array
 * input unchanged.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `data` is not array-like, or when an
 *   element of a plain array or array-like is not a number.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when `data.length` is not a length that fits in
 *   a Float32Array.
 */
export function toFloat32Array(data: VoxelArray | ArrayLike<number>): Float32Array {
  if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
    throw typeError('data', 'a typed array or an array of numbers', data);
  }
  if (!Number.isSafeInteger(data.length) || data.length < 0) throw rangeError('data.length', 'a non-negative integer', data.length);
  return runSteps(toFloat32Steps(data));
}

/** {@link toFloat32Array} in steps that pause between ranges of voxels. */
function* toFloat32Steps(data: VoxelArray | ArrayLike<number>): Steps<Float32Array> {
  if (data instanceof Float32Array) return data;
  let out: Float32Array;
  try {
    out = new Float32Array(data.length);
  } catch {
    throw rangeError('data.length', 'a length that fits in a Float32Array', data.length);
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const big = data;
    yield* rangeSteps(big.length, (from, to) => {
      for (let i = from; i < to; i++) out[i] = Number(big[i]!);
    });
  } else if (ArrayBuffer.isView(data)) {
    const values = data as ArrayLike<number>;
    yield* rangeSteps(values.length, (from, to) => {
      for (let i = from; i < to; i++) out[i] = values[i]!;
    });
  } else {
    // Storing a bigint or a symbol into a Float32Array throws, and storing an object calls its
    // valueOf or toString, which may throw too, so only numbers are accepted.
    const values = data as ArrayLike<unknown>;
    yield* rangeSteps(values.length, (from, to) => {
      for (let i = from; i < to; i++) {
        const value = values[i];
        if (typeof value !== 'number') throw typeError(`data[${i}]`, 'a number', value);
        out[i] = value as number;
      }
    });
  }
  return out;
}

/**
 * Reads enough of the file to hold the header and its 4-byte extension flag. For gzip files,
 * compressed chunks are read until the decompressed prefix is long enough.
 */
function readHeaderBytes(path: string): Uint8Array {
  const needed = HEADER_PREFIX_BYTES;
  const fd = openSync(path, 'r');
  try {
    let chunkSize = 4096;
    let compressed = Buffer.alloc(0);
    for (;;) {
      const chunk = Buffer.alloc(chunkSize);
      const read = readSync(fd, chunk, 0, chunkSize, compressed.length);
      compressed = Buffer.concat([compressed, chunk.subarray(0, read)]);
      const endOfFile = read < chunkSize;
      if (!isGzip(compressed)) return compressed;
      const prefix = inflatePrefix(path, compressed, endOfFile);
      if (prefix.length >= needed || endOfFile) return prefix;
      chunkSize *= 2;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads only the header of a NIfTI file, like {@link readNiftiHeader}, without blocking on
 * file reads.
 */
export async function readNiftiHeaderAsync(path: string): Promise<NiftiHeaderOnly> {
  checkString('path', path);
  return withNiftiErrorsAsync(path, 'read', async () => {
    const headerPath = headerPathOf(path);
    const handle = await open(headerPath, 'r');
    try {
      let chunkSize = 4096;
      let compressed = Buffer.alloc(0);
      for (;;) {
        const chunk = Buffer.alloc(chunkSize);
        const { bytesRead } = await handle.read(chunk, 0, chunkSize, compressed.length);
        compressed = Buffer.concat([compressed, chunk.subarray(0, bytesRead)]);
        const endOfFile = bytesRead < chunkSize;
        const bytes = isGzip(compressed) ? inflatePrefix(headerPath, compressed, endOfFile) : compressed;
        if (bytes.length >= HEADER_PREFIX_BYTES || endOfFile || !isGzip(compressed)) {
          return headerOnly(parseHeader(headerPath, bytes));
        }
        chunkSize *= 2;
      }
    } finally {
      await handle.close();
    }
  });
}
