// SPDX-License-Identifier: MIT
//
// Voxel decoding without extra copies: plain files are read straight into an array that owns
// its memory (swapped in place when needed), and gzip files are decoded from the inflated bytes.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
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
  it('reads plain data into an array of its own', async () => {
    const path = tmp.path('native.nii');
    writeFileSync(path, buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32') }));
    for (const volume of [readNifti(path), await readNiftiAsync(path)]) {
      expect(volume.data).toBeInstanceOf(Int32Array);
      expect(volume.data.byteOffset).toBe(0);
      expect(volume.data.buffer.byteLength).toBe(VALUES.length * 4);
      expect(Array.from(volume.data as Int32Array)).toEqual(VALUES);
    }
  });

  it('reads swapped and unaligned data without a second buffer', async () => {
    const swapped = tmp.path('swapped.nii');
    writeFileSync(
      swapped,
      buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32', false), littleEndian: false }),
    );
    // vox_offset 354 is not a multiple of 4, so an Int32Array view of the whole file could not start there.
    const unaligned = tmp.path('unaligned.nii');
    writeFileSync(
      unaligned,
      buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32'), voxOffset: 354 }),
    );
    for (const path of [swapped, unaligned]) {
      for (const volume of [readNifti(path), await readNiftiAsync(path)]) {
        expect(volume.data.byteOffset, path).toBe(0);
        expect(volume.data.buffer.byteLength, path).toBe(VALUES.length * 4);
        expect(Array.from(volume.data as Int32Array), path).toEqual(VALUES);
      }
    }
  });

  it('reads only the selected volume of a 4D file', async () => {
    const path = tmp.path('series.nii');
    const values = ramp(16 * 16 * 8 * 3, -5000);
    writeFileSync(path, buildNifti1({ dims: [...DIMS, 3], datatype: 'int16', voxels: encode(values, 'int16') }));
    const perVolume = 16 * 16 * 8;
    for (const volume of [readNifti(path, { volume: 2 }), await readNiftiAsync(path, { volume: [2] })]) {
      expect(volume.dims).toEqual(DIMS);
      expect(volume.data.buffer.byteLength).toBe(perVolume * 2);
      expect(Array.from(volume.data as Int16Array)).toEqual(values.slice(2 * perVolume));
    }
  });

  it('reads gzip data at vox_offset', async () => {
    const path = tmp.path('native.nii.gz');
    writeFileSync(path, gzipSync(buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32') })));
    for (const volume of [readNifti(path), await readNiftiAsync(path)]) {
      expect(volume.data).toBeInstanceOf(Int32Array);
      expect(Array.from(volume.data as Int32Array)).toEqual(VALUES);
    }
  });

  it('reads a named pipe whole', async (context) => {
    const source = tmp.path('piped-source.nii');
    writeFileSync(source, buildNifti1({ dims: DIMS, datatype: 'int32', voxels: encode(VALUES, 'int32') }));
    const fifo = tmp.path('pipe.nii');
    // A synchronous open of a pipe blocks until a writer opens it, so both tools must work first.
    const ready = spawnSync('sh', ['-c', 'mkfifo "$0"', fifo]).status === 0;
    if (!ready) return context.skip('sh or mkfifo is not available');
    for (const read of [readNiftiAsync, async (path: string) => readNifti(path)]) {
      // A separate process writes the pipe, so the synchronous read can block on it.
      const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', source, fifo], { stdio: 'ignore' });
      const exited = once(writer, 'exit');
      const volume = await read(fifo);
      await exited;
      expect(Array.from(volume.data as Int32Array)).toEqual(VALUES);
    }
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
