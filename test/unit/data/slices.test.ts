// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../../../lib/errors.js';
import { extractSlice, insertSlice, resolveAxis, sliceCount, sliceShape } from '../../../lib/data/slices.js';

const DIMS = [4, 3, 5];
const [NX, NY, NZ] = DIMS as [number, number, number];
/** Voxel (x, y, z) contains 100 * x + 10 * y + z, so every value names its position. */
const VOLUME = new Float32Array(NX * NY * NZ);
for (let z = 0; z < NZ; z++)
  for (let y = 0; y < NY; y++) for (let x = 0; x < NX; x++) VOLUME[x + NX * (y + NY * z)] = 100 * x + 10 * y + z;

describe('resolveAxis', () => {
  it('maps names and numbers to voxel axes', () => {
    expect([resolveAxis('sagittal'), resolveAxis('coronal'), resolveAxis('axial')]).toEqual([0, 1, 2]);
    expect([resolveAxis(0), resolveAxis(1), resolveAxis(2)]).toEqual([0, 1, 2]);
  });

  it('rejects: unknown axis name', () => {
    let caught: unknown;
    try {
      resolveAxis('transverse');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(
      /^axis must be 'sagittal', 'coronal', 'axial', 0, 1 or 2; got "transverse"/,
    );
  });

  it('rejects: axis of the wrong type', () => {
    expect(() => resolveAxis(null)).toThrow(TypeError);
  });
});

describe('extractSlice', () => {
  it('lays out axial slices as rows y, columns x', () => {
    const slice = extractSlice(VOLUME, DIMS, 'axial', 3);
    expect([slice.height, slice.width]).toEqual([NY, NX]);
    for (let r = 0; r < NY; r++) for (let c = 0; c < NX; c++) expect(slice.data[r * NX + c]).toBe(100 * c + 10 * r + 3);
  });

  it('lays out coronal slices as rows z, columns x', () => {
    const slice = extractSlice(VOLUME, DIMS, 'coronal', 2);
    expect([slice.height, slice.width]).toEqual([NZ, NX]);
    for (let r = 0; r < NZ; r++) for (let c = 0; c < NX; c++) expect(slice.data[r * NX + c]).toBe(100 * c + 20 + r);
  });

  it('lays out sagittal slices as rows z, columns y', () => {
    const slice = extractSlice(VOLUME, DIMS, 0, 1);
    expect([slice.height, slice.width]).toEqual([NZ, NY]);
    for (let r = 0; r < NZ; r++) for (let c = 0; c < NY; c++) expect(slice.data[r * NY + c]).toBe(100 + 10 * c + r);
  });

  it('counts slices and shapes per axis', () => {
    expect([sliceCount(DIMS, 'sagittal'), sliceCount(DIMS, 'coronal'), sliceCount(DIMS, 'axial')]).toEqual([4, 3, 5]);
    expect(sliceShape(DIMS, 'coronal')).toEqual({ height: NZ, width: NX });
  });

  it('accepts 2D dims and a trailing size of 1', () => {
    expect(extractSlice(new Uint8Array(6), [3, 2], 'axial', 0).data.length).toBe(6);
    expect(sliceCount([3, 2, 4, 1], 'axial')).toBe(4);
  });

  it('rejects: index outside the volume', () => {
    let caught: unknown;
    try {
      extractSlice(VOLUME, DIMS, 'axial', 5);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(/^index must be an integer in \[0, 4\]; got 5/);
  });

  it('rejects: data length that does not match dims', () => {
    const run = () => extractSlice(new Float32Array(10), DIMS, 'axial', 0);
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/^data must be an array of 4 x 3 x 5 = 60 voxels; got an array of length 10/);
  });

  it('rejects: a 4D volume', () => {
    const run = () => extractSlice(new Float32Array(120), [4, 3, 5, 2], 'axial', 0);
    expect(run).toThrow(RangeError);
    expect(run).toThrow(/^dims must be a 3D volume/);
  });
});

describe('insertSlice', () => {
  it('inverts extractSlice on every axis', () => {
    for (const axis of [0, 1, 2] as const) {
      const rebuilt = new Float32Array(VOLUME.length);
      for (let index = 0; index < DIMS[axis]!; index++) {
        insertSlice(rebuilt, DIMS, axis, index, extractSlice(VOLUME, DIMS, axis, index).data);
      }
      expect(rebuilt).toEqual(VOLUME);
    }
  });

  it('writes only the chosen slice', () => {
    const target = new Uint8Array(VOLUME.length);
    insertSlice(target, DIMS, 'coronal', 1, new Float32Array(NZ * NX).fill(7));
    for (let z = 0; z < NZ; z++) {
      for (let y = 0; y < NY; y++) {
        for (let x = 0; x < NX; x++) expect(target[x + NX * (y + NY * z)]).toBe(y === 1 ? 7 : 0);
      }
    }
  });

  it('rejects: slice of the wrong length', () => {
    let caught: unknown;
    try {
      insertSlice(new Float32Array(60), DIMS, 'axial', 0, new Float32Array(11));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe(ErrorCode.OUT_OF_RANGE);
    expect((caught as Error).message).toMatch(
      /^slice must be an array of 3 x 4 = 12 values; got an array of length 11/,
    );
  });
});
