// SPDX-License-Identifier: MIT
//
// 4D and 5D NIfTI images: the dims after the third (time in dim[4], then vector components or
// channels in dim[5], ...) index a series of 3D volumes, stored one after the other.

import { checkEach, checkInt, rangeError, typeError } from '../validate.js';
import type { NiftiVolume } from './nifti.js';
import type { VoxelArray } from './nifti-format.js';

/**
 * Returns how many 3D volumes `dims` holds: the product of the sizes after the third, 1 for a
 * 3D image. A size of 0 in the header counts as 1, as `readNifti` reports it.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `dims` is not an array of integers.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when a dim is negative or not a safe integer.
 */
export function volumeCount(dims: readonly number[]): number {
  checkDims('dims', dims);
  return dims.slice(3).reduce((product, size) => product * Math.max(size, 1), 1);
}

/** Throws unless `dims` is an array of non-negative integers; stops at the first bad entry. */
function checkDims(name: string, dims: unknown): asserts dims is readonly number[] {
  if (!Array.isArray(dims)) throw typeError(name, 'an array of non-negative integers', dims);
  checkEach(dims, (size, i) => checkInt(`${name}[${i}]`, size, 0));
}

/** Throws unless `volume` has the fields that selectVolume reads, with the types it expects. */
function checkVolume(volume: unknown): asserts volume is NiftiVolume {
  if (volume === null || typeof volume !== 'object' || ArrayBuffer.isView(volume)) {
    throw typeError('volume', 'a NIfTI volume (an object with data, dims, pixdim and affine)', volume);
  }
  const { data, dims, pixdim, affine } = volume as Partial<NiftiVolume>;
  checkDims('volume.dims', dims);
  if (dims.length < 3) throw rangeError('volume.dims', 'an array of at least 3 dims', dims);
  if (!ArrayBuffer.isView(data) || data instanceof DataView) throw typeError('volume.data', 'a typed array', data);
  if (!Array.isArray(pixdim)) throw typeError('volume.pixdim', 'an array of numbers', pixdim);
  if (!Array.isArray(affine)) throw typeError('volume.affine', 'a 4x4 array of numbers', affine);
  checkEach(affine, (row, i) => {
    if (!Array.isArray(row)) throw typeError(`volume.affine[${i}]`, 'an array of numbers', row);
  });
}

/**
 * Converts a volume index into the position of that volume in the series. A number counts
 * volumes in file order. An array gives one index per dim after the third, `[t]` or `[t, c]`,
 * and missing trailing entries are 0.
 * @throws {TypeError} when `index` is neither an integer nor an array of integers.
 * @throws {RangeError} when an entry is outside its dim.
 * @internal
 */
export function flatVolumeIndex(dims: readonly number[], index: unknown, name: string): number {
  const extra = dims.slice(3).map((size) => Math.max(size, 1));
  const count = extra.reduce((product, size) => product * size, 1);
  if (typeof index === 'number') return checkInt(name, index, 0, count - 1);
  if (!Array.isArray(index)) throw typeError(name, 'an integer or an array of integers', index);
  if (index.length > Math.max(extra.length, 1)) {
    throw rangeError(name, `at most ${Math.max(extra.length, 1)} indices for dims [${dims.join(', ')}]`, index);
  }
  let flat = 0;
  let stride = 1;
  index.forEach((entry: unknown, axis) => {
    const size = extra[axis] ?? 1;
    flat += stride * checkInt(`${name}[${axis}]`, entry, 0, size - 1);
    stride *= size;
  });
  return flat;
}

/**
 * Returns one 3D volume of a 4D or 5D image as a volume of its own: dims and pixdim cut to the
 * spatial three, the same affine, datatype and header, and a copy of that volume's voxels.
 *
 * @param volume - A volume from `readNifti`; a 3D volume has the single index 0.
 * @param index - Volume number in file order, or `[t]`, `[t, c]`, ... per dim after the third.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `volume` lacks a field or `index` is not
 *   an integer or array.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when `volume.dims` has fewer than 3 dims or
 *   `index` is outside the image.
 * @example
 * const fmri = readNifti('bold.nii.gz'); // dims [64, 64, 30, 120]
 * const tenth = selectVolume(fmri, 9); // dims [64, 64, 30]
 */
export function selectVolume<T extends VoxelArray>(
  volume: NiftiVolume<T>,
  index: number | readonly number[],
): NiftiVolume<T> {
  checkVolume(volume);
  const flat = flatVolumeIndex(volume.dims, index, 'index');
  const spatial = volume.dims.slice(0, 3);
  const size = spatial[0]! * spatial[1]! * spatial[2]!;
  if (volume.data.length < (flat + 1) * size) {
    throw rangeError('volume.data', `at least ${(flat + 1) * size} voxels for volume ${flat} of dims [${volume.dims.join(', ')}]`, volume.data.length);
  }
  const data = volume.data.slice(flat * size, (flat + 1) * size) as T;
  return {
    ...volume,
    data,
    dims: spatial,
    pixdim: volume.pixdim.slice(0, 3),
    affine: volume.affine.map((row) => row.slice()),
  };
}
