// SPDX-License-Identifier: MIT
//
// Voxel axis orientation: which world direction (R/L, A/P, S/I) each voxel axis points to.
// Reorientation permutes and flips the axes of a volume to the closest canonical RAS+ layout,
// as nibabel's `as_closest_canonical` does, so the third axis is the one closest to axial.

import { NiftiError } from '../errors.js';
import { typeError, rangeError } from '../validate.js';
import { qformFromAffine, type NiftiHeaderInfo, type VoxelArray } from './nifti-format.js';
import type { NiftiHeaderOnly, NiftiVolume } from './nifti.js';
import { runSteps, VOXELS_PER_STEP, type Steps } from './nifti-steps.js';

/**
 * For each voxel axis i, j, k: the world axis it maps to (0 = x/R, 1 = y/A, 2 = z/S) and the
 * sign, +1 when increasing the index moves toward R, A or S.
 */
export type AxisOrientation = [AxisDirection, AxisDirection, AxisDirection];

/** World axis (0 = x, 1 = y, 2 = z) of one voxel axis, and its sign. */
export interface AxisDirection {
  axis: number;
  sign: 1 | -1;
}

const LABELS = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
] as const;

/**
 * Finds the world axis closest to each voxel axis of `affine`, with the algorithm of nibabel's
 * `io_orientation` (nibabel 5.0): the column scaling is removed, the nearest orthogonal matrix
 * is taken, and voxel axes claim world axes in order of how clearly they point along one.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when `affine` is not 4x4 of finite numbers or
 *   two voxel axes are parallel.
 */
export function axisOrientation(affine: readonly (readonly number[])[]): AxisOrientation {
  checkAffine(affine);
  const columns = [0, 1, 2].map((c) => [0, 1, 2].map((r) => affine[r]![c]!));
  const unit = columns.map((column) => {
    const norm = Math.hypot(...column);
    return column.map((value) => value / (norm === 0 ? 1 : norm));
  });
  const rotation = nearestOrthogonal(unit);
  if (rotation === undefined) {
    throw rangeError('affine', 'a matrix whose three voxel axes span 3D space', affine.map((row) => row.slice(0, 3)));
  }
  // Voxel axes whose direction has the largest single component choose first.
  const order = [0, 1, 2].sort((a, b) => maxSquare(rotation[b]!) - maxSquare(rotation[a]!));
  const taken = [false, false, false];
  const result: AxisDirection[] = [];
  for (const voxelAxis of order) {
    const column = rotation[voxelAxis]!;
    let best = -1;
    for (let world = 0; world < 3; world++) {
      if (taken[world]) continue;
      if (best < 0 || Math.abs(column[world]!) > Math.abs(column[best]!)) best = world;
    }
    taken[best] = true;
    result[voxelAxis] = { axis: best, sign: column[best]! < 0 ? -1 : 1 };
  }
  return result as AxisOrientation;
}

/** Returns the axis codes of `affine`, such as 'RAS', 'LPS' or 'LIA', like nibabel's `aff2axcodes`. */
export function axisCodes(affine: readonly (readonly number[])[]): string {
  return axisOrientation(affine)
    .map(({ axis, sign }) => LABELS[axis]![sign > 0 ? 1 : 0])
    .join('');
}

function maxSquare(column: readonly number[]): number {
  return Math.max(...column.map((value) => value * value));
}

/**
 * Returns the orthogonal polar factor of the 3x3 matrix given by its `columns`, the orthogonal
 * matrix nearest to it, by Newton iteration X <- (X + X^-T) / 2; undefined when it is singular.
 * The result is returned as columns too.
 */
function nearestOrthogonal(columns: number[][]): number[][] | undefined {
  let x = [0, 1, 2].map((r) => [0, 1, 2].map((c) => columns[c]![r]!));
  for (let iteration = 0; iteration < 100; iteration++) {
    const inverseTranspose = invertTranspose3(x);
    if (inverseTranspose === undefined) return undefined;
    const next = x.map((row, r) => row.map((value, c) => (value + inverseTranspose[r]![c]!) / 2));
    const change = Math.max(...next.flatMap((row, r) => row.map((value, c) => Math.abs(value - x[r]![c]!))));
    x = next;
    if (change < 1e-14) break;
  }
  return [0, 1, 2].map((c) => [0, 1, 2].map((r) => x[r]![c]!));
}

function invertTranspose3(m: number[][]): number[][] | undefined {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const [g, h, i] = m[2]!;
  const det = a! * (e! * i! - f! * h!) - b! * (d! * i! - f! * g!) + c! * (d! * h! - e! * g!);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return undefined;
  // The inverse transpose is the cofactor matrix divided by the determinant.
  return [
    [(e! * i! - f! * h!) / det, -(d! * i! - f! * g!) / det, (d! * h! - e! * g!) / det],
    [-(b! * i! - c! * h!) / det, (a! * i! - c! * g!) / det, -(a! * h! - b! * g!) / det],
    [(b! * f! - c! * e!) / det, -(a! * f! - c! * d!) / det, (a! * e! - b! * d!) / det],
  ];
}

function checkAffine(affine: unknown): asserts affine is number[][] {
  const valid =
    Array.isArray(affine) &&
    affine.length === 4 &&
    affine.every((row) => Array.isArray(row) && row.length === 4 && row.every((value) => Number.isFinite(value)));
  if (!valid) throw typeError('affine', 'a 4x4 array of finite numbers', affine);
}

/**
 * Map of voxel indices between two layouts of the same grid: output axis o is source axis
 * `source[o]`, reversed when `flip[o]`.
 */
interface AxisMapping {
  source: [number, number, number];
  flip: [boolean, boolean, boolean];
}

/** Builds the mapping from the file's voxel axes to RAS+ voxel axes. */
function toRasMapping(orientation: AxisOrientation): AxisMapping {
  const source = [0, 0, 0] as [number, number, number];
  const flip = [false, false, false] as [boolean, boolean, boolean];
  orientation.forEach(({ axis, sign }, voxelAxis) => {
    source[axis] = voxelAxis;
    flip[axis] = sign < 0;
  });
  return { source, flip };
}

function isIdentity(mapping: AxisMapping): boolean {
  return mapping.source.every((axis, o) => axis === o) && mapping.flip.every((flip) => !flip);
}

/**
 * Copies `data` (x fastest, then y, z and any further dims) into the layout where output axis o
 * is source axis `source[o]`, reversed when `flip[o]`. Volumes after the third dim keep their order.
 */
function permuteVoxels<T extends VoxelArray>(data: T, dims: readonly number[], mapping: AxisMapping): T {
  return runSteps(permuteVoxelSteps(data, dims, mapping));
}

/** {@link permuteVoxels} in steps that pause between slices of the output. */
function* permuteVoxelSteps<T extends VoxelArray>(data: T, dims: readonly number[], mapping: AxisMapping): Steps<T> {
  const strides = [1, dims[0]!, dims[0]! * dims[1]!];
  const size = strides[2]! * dims[2]!;
  const outDims = mapping.source.map((axis) => dims[axis]!);
  const step = mapping.source.map((axis, o) => (mapping.flip[o] ? -strides[axis]! : strides[axis]!));
  const start = mapping.source.reduce(
    (offset, axis, o) => offset + (mapping.flip[o] ? (dims[axis]! - 1) * strides[axis]! : 0),
    0,
  );
  const out = new (data.constructor as new (length: number) => T)(data.length);
  const volumes = data.length / size;
  let target = 0;
  let paused = 0;
  for (let volume = 0; volume < volumes; volume++) {
    const base = volume * size + start;
    for (let k = 0; k < outDims[2]!; k++) {
      for (let j = 0; j < outDims[1]!; j++) {
        let from = base + k * step[2]! + j * step[1]!;
        for (let i = 0; i < outDims[0]!; i++, from += step[0]!) out[target++] = data[from]!;
      }
      if (target - paused >= VOXELS_PER_STEP) {
        paused = target;
        yield;
      }
    }
  }
  return out;
}

/**
 * Returns the affine of the permuted grid: new voxel (j0, j1, j2) is old voxel i with
 * i[source[o]] = j[o], or dims - 1 - j[o] when flipped.
 */
function permutedAffine(
  affine: readonly (readonly number[])[],
  dims: readonly number[],
  mapping: AxisMapping,
): number[][] {
  const voxelMap = [0, 1, 2].map(() => [0, 0, 0, 0]);
  mapping.source.forEach((axis, o) => {
    voxelMap[axis]![o] = mapping.flip[o] ? -1 : 1;
    voxelMap[axis]![3] = mapping.flip[o] ? dims[axis]! - 1 : 0;
  });
  const full = [...voxelMap, [0, 0, 0, 1]];
  return affine.map((row) => [0, 1, 2, 3].map((c) => row.reduce((sum, value, k) => sum + value * full[k]![c]!, 0)));
}

function headerWithAffine(header: NiftiHeaderInfo, affine: number[][]): NiftiHeaderInfo {
  const qform = qformFromAffine(affine);
  return {
    ...header,
    srowX: affine[0]!.slice() as [number, number, number, number],
    srowY: affine[1]!.slice() as [number, number, number, number],
    srowZ: affine[2]!.slice() as [number, number, number, number],
    quaternB: qform.quatern[0],
    quaternC: qform.quatern[1],
    quaternD: qform.quatern[2],
    qoffsetX: qform.qoffset[0],
    qoffsetY: qform.qoffset[1],
    qoffsetZ: qform.qoffset[2],
    qfac: qform.qfac,
  };
}

function* applyMappingSteps<T extends VoxelArray>(volume: NiftiVolume<T>, mapping: AxisMapping): Steps<NiftiVolume<T>> {
  const affine = permutedAffine(volume.affine, volume.dims, mapping);
  const dims = [...mapping.source.map((axis) => volume.dims[axis]!), ...volume.dims.slice(3)];
  const pixdim = [...mapping.source.map((axis) => volume.pixdim[axis]!), ...volume.pixdim.slice(3)];
  const data = yield* permuteVoxelSteps(volume.data, volume.dims, mapping);
  return {
    ...volume,
    data,
    dims,
    pixdim,
    affine,
    header: headerWithAffine(volume.header, affine),
  };
}

function checkVolume(name: string, volume: unknown): asserts volume is NiftiHeaderOnly {
  const candidate = volume as Partial<NiftiHeaderOnly> | null;
  const valid =
    candidate !== null &&
    typeof candidate === 'object' &&
    Array.isArray(candidate.dims) &&
    Array.isArray(candidate.affine);
  if (!valid) {
    throw typeError(name, 'a volume from readNifti (with dims and affine)', volume);
  }
}

/**
 * Permutes and flips the voxel axes of `volume` to the closest canonical RAS+ orientation, like
 * nibabel's `as_closest_canonical`: voxel i then increases toward the subject's right, j
 * anterior and k superior, as far as an oblique affine allows. The affine, dims, pixdim and the
 * header's sform and qform fields follow the voxels, so world coordinates are unchanged. Dims
 * after the third keep their order. A volume already in RAS+ order is returned as is.
 *
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `volume` has no dims or affine.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when two voxel axes of the affine are parallel.
 * @example
 * const scan = reorientToRAS(readNifti('lps-scan.nii.gz'));
 * axisCodes(scan.affine); // 'RAS'
 */
export function reorientToRAS<T extends VoxelArray>(volume: NiftiVolume<T>): NiftiVolume<T> {
  checkVolume('volume', volume);
  const mapping = toRasMapping(axisOrientation(volume.affine));
  return isIdentity(mapping) ? volume : runSteps(applyMappingSteps(volume, mapping));
}

/**
 * Undoes {@link reorientToRAS}: copies `data`, laid out in the RAS+ voxel order of `original`
 * (dims permuted as `reorientToRAS(original)` returns them), back into the voxel order of the
 * file `original` was read from. Use it to save a mask predicted on a reoriented scan.
 *
 * @param data - Voxels in RAS+ order, `original`'s voxel count (any dims after the third kept).
 * @param original - The volume or header as read from the file, before reorientation.
 * @returns A new array of the same type in the file's voxel order, or `data` itself when the
 *   file is already in RAS+ order.
 * @throws {RangeError} code `ERR_OUT_OF_RANGE` when the length of `data` is not a multiple of
 *   the spatial voxel count of `original`.
 */
export function reorientFromRAS<T extends VoxelArray>(data: T, original: NiftiHeaderOnly): T {
  checkVolume('original', original);
  const spatial = original.dims[0]! * original.dims[1]! * original.dims[2]!;
  if (!ArrayBuffer.isView(data) || data.length % spatial !== 0 || data.length === 0) {
    throw rangeError('data', `a typed array whose length is a multiple of ${spatial}`, data);
  }
  const toRas = toRasMapping(axisOrientation(original.affine));
  if (isIdentity(toRas)) return data;
  // The inverse: file axis a is RAS axis o where toRas.source[o] = a, flipped alike.
  const source = [0, 0, 0] as [number, number, number];
  const flip = [false, false, false] as [boolean, boolean, boolean];
  toRas.source.forEach((fileAxis, rasAxis) => {
    source[fileAxis] = rasAxis;
    flip[fileAxis] = toRas.flip[rasAxis]!;
  });
  const rasDims = toRas.source.map((axis) => original.dims[axis]!);
  return permuteVoxels(data, rasDims, { source, flip });
}

/**
 * Reorients a volume read from `path` like {@link reorientToRAS}, in steps that pause between
 * slices, raising a NiftiError that names the file when its affine has parallel voxel axes.
 * @internal
 */
export function* reorientFileVolumeSteps(path: string, volume: NiftiVolume): Steps<NiftiVolume> {
  let mapping: AxisMapping;
  try {
    checkVolume('volume', volume);
    mapping = toRasMapping(axisOrientation(volume.affine));
  } catch (error) {
    if (error instanceof RangeError) {
      throw new NiftiError(path, `cannot reorient to RAS: ${error.message}`, { cause: error });
    }
    throw error;
  }
  return isIdentity(mapping) ? volume : yield* applyMappingSteps(volume, mapping);
}
