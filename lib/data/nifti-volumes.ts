// SPDX-License-Identifier: MIT
//
// 4D and 5D NIfTI images: the dims after the third (time in dim[4], then vector components or
// channels in dim[5], ...) index a series of 3D volumes, stored one after the other.

import { checkInt, rangeError, typeError } from '../validate.js';
import type { NiftiVolume } from './nifti.js';
import type { VoxelArray } from './nifti-format.js';

/**
 * Returns how many 3D volumes `dims` holds: the product of the sizes after the third, 1 for a
 * 3D image. A size of 0 in the header counts as 1, as `readNifti` reports it.
 */
export function volumeCount(dims: readonly number[]): number {
  return dims.slice(3).reduce((product, size) => product * Math.max(size, 1), 1);
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
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `index` is not an integer or array.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when `index` is outside the image.
 * @example
 * const fmri = readNifti('bold.nii.gz'); // dims [64, 64, 30, 120]
 * const tenth = selectVolume(fmri, 9); // dims [64, 64, 30]
 */
export function selectVolume<T extends VoxelArray>(
  volume: NiftiVolume<T>,
  index: number | readonly number[],
): NiftiVolume<T> {
  const flat = flatVolumeIndex(volume.dims, index, 'index');
  const spatial = volume.dims.slice(0, 3);
  const size = spatial[0]! * spatial[1]! * spatial[2]!;
  const data = volume.data.slice(flat * size, (flat + 1) * size) as T;
  return {
    ...volume,
    data,
    dims: spatial,
    pixdim: volume.pixdim.slice(0, 3),
    affine: volume.affine.map((row) => row.slice()),
  };
}
