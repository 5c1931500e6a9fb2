// SPDX-License-Identifier: MIT
//
// 2D slices of 3D volumes stored with x fastest, then y, then z (the NIfTI voxel order).

import { ErrorCode, withCode } from '../errors.js';
import { checkEach, checkInt, rangeError, typeError } from '../validate.js';

/** Anatomical plane names for the voxel axes 0 (x), 1 (y) and 2 (z), or the axis number itself. */
export type Axis = 'sagittal' | 'coronal' | 'axial' | 0 | 1 | 2;

/** A 2D image in row-major order: pixel (row, col) is `data[row * width + col]`. */
export interface Slice {
  data: Float32Array;
  height: number;
  width: number;
}

/** Numeric arrays that slices can be read from and written into. */
export type NumericArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | number[];

const AXIS_NAMES = ['sagittal', 'coronal', 'axial'] as const;

/**
 * Resolves an axis name or number to 0 (x, sagittal), 1 (y, coronal) or 2 (z, axial).
 * The names assume a volume stored close to RAS order, as most NIfTI files are.
 *
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` for a value that is neither a name nor a number.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` for another name or number.
 */
export function resolveAxis(axis: unknown, name = 'axis'): 0 | 1 | 2 {
  if (axis === 0 || axis === 1 || axis === 2) return axis;
  const expected = "'sagittal', 'coronal', 'axial', 0, 1 or 2";
  if (typeof axis === 'string') {
    const index = (AXIS_NAMES as readonly string[]).indexOf(axis);
    if (index >= 0) return index as 0 | 1 | 2;
    throw rangeError(name, expected, axis);
  }
  if (typeof axis === 'number') throw rangeError(name, expected, axis);
  throw typeError(name, expected, axis);
}

/**
 * Returns the spatial sizes [nx, ny, nz] of `dims`, with nz = 1 for 2D dims. Further dims must be 1.
 * @internal
 */
export function spatialDims(dims: unknown, name = 'dims'): [number, number, number] {
  if (!Array.isArray(dims) || dims.length < 2) throw typeError(name, 'an array of at least 2 sizes', dims);
  checkEach(dims, (size, axis) => checkInt(`${name}[${axis}]`, size, 1));
  if (dims.slice(3).some((size) => size !== 1)) {
    throw rangeError(name, 'a 3D volume (sizes after the third must be 1)', dims);
  }
  return [dims[0], dims[1], dims[2] ?? 1];
}

/**
 * Returns the number of slices along `axis`: `dims[axis]`.
 *
 * @example
 * sliceCount([181, 217, 181], 'coronal'); // 217
 */
export function sliceCount(dims: readonly number[], axis: Axis): number {
  return spatialDims(dims)[resolveAxis(axis)];
}

/**
 * Returns the height and width of the slices along `axis`:
 * axial (2): rows = y, columns = x; coronal (1): rows = z, columns = x;
 * sagittal (0): rows = z, columns = y.
 */
export function sliceShape(dims: readonly number[], axis: Axis): { height: number; width: number } {
  const [nx, ny, nz] = spatialDims(dims);
  switch (resolveAxis(axis)) {
    case 2:
      return { height: ny, width: nx };
    case 1:
      return { height: nz, width: nx };
    default:
      return { height: nz, width: ny };
  }
}

/**
 * Copies one slice of a volume into a new Float32Array.
 *
 * The 2D layout is row-major with no flips: for the axial axis (z) row r is y = r and column c
 * is x = c; for the coronal axis (y) row r is z = r and column c is x = c; for the sagittal axis
 * (x) row r is z = r and column c is y = c. Row 0 is therefore the lowest y or z, which a
 * viewer that draws row 0 at the top shows upside down.
 *
 * @param data - Voxels of a volume with x fastest: voxel (x, y, z) is `data[x + nx * (y + ny * z)]`.
 * @param dims - [nx, ny, nz] (further sizes must be 1).
 * @param axis - Axis the slice is perpendicular to.
 * @param index - Position along `axis`, in [0, dims[axis]).
 * @returns The slice, `height` x `width` as given by {@link sliceShape}.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` for an index outside the volume or a data length
 *   that does not match `dims`.
 * @example
 * const { data, height, width } = extractSlice(volume.data, volume.dims, 'axial', 90);
 */
export function extractSlice(data: ArrayLike<number>, dims: readonly number[], axis: Axis, index: number): Slice {
  const [nx, ny, nz] = checkVolume(data, dims);
  const resolved = resolveAxis(axis);
  checkInt('index', index, 0, [nx, ny, nz][resolved]! - 1);
  const { height, width } = sliceShape(dims, resolved);
  const out = new Float32Array(height * width);
  const plane = nx * ny;

  if (resolved === 2) {
    // A z-plane is contiguous in memory.
    const start = index * plane;
    for (let i = 0; i < plane; i++) out[i] = data[start + i]!;
  } else if (resolved === 1) {
    for (let z = 0; z < nz; z++) {
      const source = z * plane + index * nx;
      const target = z * nx;
      for (let x = 0; x < nx; x++) out[target + x] = data[source + x]!;
    }
  } else {
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) out[z * ny + y] = data[z * plane + y * nx + index]!;
    }
  }
  return { data: out, height, width };
}

/**
 * Writes a slice into a volume, the inverse of {@link extractSlice} with the same layout.
 * Integer targets store values as their typed array converts them (truncation, wrap-around).
 *
 * @param target - Volume voxels with x fastest, modified in place.
 * @param dims - [nx, ny, nz] of `target`.
 * @param axis - Axis the slice is perpendicular to.
 * @param index - Position along `axis`.
 * @param slice - Row-major slice of `height * width` values.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when `slice` has the wrong length or `index` is outside the volume.
 * @example
 * const prediction = new Uint8Array(nx * ny * nz);
 * insertSlice(prediction, [nx, ny, nz], 'axial', z, sliceMask);
 */
export function insertSlice(
  target: NumericArray,
  dims: readonly number[],
  axis: Axis,
  index: number,
  slice: ArrayLike<number>,
): void {
  const [nx, ny, nz] = checkVolume(target, dims, 'target');
  const resolved = resolveAxis(axis);
  checkInt('index', index, 0, [nx, ny, nz][resolved]! - 1);
  const { height, width } = sliceShape(dims, resolved);
  if (slice === null || typeof slice !== 'object' || typeof slice.length !== 'number') {
    throw typeError('slice', 'an array of numbers', slice);
  }
  if (slice.length !== height * width) {
    throw lengthError('slice', `${height} x ${width} = ${height * width} values`, slice.length);
  }
  const plane = nx * ny;

  if (resolved === 2) {
    const start = index * plane;
    for (let i = 0; i < plane; i++) target[start + i] = slice[i]!;
  } else if (resolved === 1) {
    for (let z = 0; z < nz; z++) {
      const base = z * plane + index * nx;
      for (let x = 0; x < nx; x++) target[base + x] = slice[z * nx + x]!;
    }
  } else {
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) target[z * plane + y * nx + index] = slice[z * ny + y]!;
    }
  }
}

function checkVolume(data: unknown, dims: readonly number[], name = 'data'): [number, number, number] {
  if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
    throw typeError(name, 'a typed array of voxels', data);
  }
  const shape = spatialDims(dims);
  const expected = shape[0] * shape[1] * shape[2];
  const length = (data as ArrayLike<number>).length;
  if (length !== expected) {
    throw lengthError(name, `${shape.join(' x ')} = ${expected} voxels`, length);
  }
  return shape;
}

/** Builds a RangeError for an array of the wrong length, worded like the messages of validate.ts. @internal */
export function lengthError(name: string, expected: string, length: number): RangeError {
  const error = new RangeError(`${name} must be an array of ${expected}; got an array of length ${length}`);
  return withCode(error, ErrorCode.OUT_OF_RANGE);
}
