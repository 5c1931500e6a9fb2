// SPDX-License-Identifier: MIT
//
// Voxel decoding without a copy: when the file's byte order is the machine's, the returned
// array is a view into the bytes read, unless those bytes are a slice of a shared buffer.

import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { readNifti, readNiftiAsync } from '../../../lib/data/nifti.js';
import { buildNifti1, encode, ramp, tempDir } from './fixtures.js';

const tmp = tempDir('nifti-decode');
afterAll(() => tmp.remove());

const DIMS = [16, 16, 8];
const VALUES = ramp(16 * 16 * 8, -1000);

describe('voxel decoding', () => {
  it('views large native-order data at vox_offset', async () => {
    const path = tmp.path('native.nii');
    writeFileSync(path, buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32') }));
    for (const volume of [readNifti(path), await readNiftiAsync(path)]) {
      expect(volume.data).toBeInstanceOf(Int32Array);
      expect(volume.data.byteOffset).toBe(352);
      expect(Array.from(volume.data as Int32Array)).toEqual(VALUES);
    }
  });

  it('copies swapped and unaligned data', () => {
    const swapped = tmp.path('swapped.nii');
    writeFileSync(
      swapped,
      buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32', false), littleEndian: false }),
    );
    const fromSwapped = readNifti(swapped);
    expect(fromSwapped.data.byteOffset).toBe(0);
    expect(Array.from(fromSwapped.data as Int32Array)).toEqual(VALUES);

    // vox_offset 354 is not a multiple of 4, so an Int32Array view cannot start there.
    const unaligned = tmp.path('unaligned.nii');
    writeFileSync(
      unaligned,
      buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32'), voxOffset: 354 }),
    );
    const fromUnaligned = readNifti(unaligned);
    expect(fromUnaligned.data.byteOffset).toBe(0);
    expect(Array.from(fromUnaligned.data as Int32Array)).toEqual(VALUES);
  });

  it('keeps small reads independent', () => {
    // Files under 4 KiB may be read into Node's shared Buffer pool; each result must own its data.
    const first = tmp.path('small-a.nii.gz');
    const second = tmp.path('small-b.nii.gz');
    const small = (start: number): Uint8Array =>
      gzipSync(buildNifti1({ dims: [2, 2, 2], datatype: 'uint8', voxels: Uint8Array.from(ramp(8, start)) }));
    writeFileSync(first, small(0));
    writeFileSync(second, small(10));
    const a = readNifti(first);
    const b = readNifti(second);
    (a.data as Uint8Array).fill(255);
    expect(Array.from(b.data as Uint8Array)).toEqual(ramp(8, 10));
    expect(Array.from(readNifti(second).data as Uint8Array)).toEqual(ramp(8, 10));
    expect(a.data.buffer.byteLength).toBe(8);
  });
});
