// SPDX-License-Identifier: MIT
//
// readNiftiAsync and writeNiftiAsync keep the event loop responsive on brain-sized volumes
// (181 x 217 x 181 voxels), and the synchronous forms block it where they do heavy work.

import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti, readNiftiAsync, writeNifti, writeNiftiAsync, type ReadNiftiOptions } from '../../../lib/data/nifti.js';
import { lowestMaxDelay, measureMaxDelay } from '../runtime/event-loop-delay.js';
import { buildNifti1, encode, tempDir } from './fixtures.js';

/** Maximum time, in ms, that the promise forms may block the event loop at a stretch. */
const MAX_DELAY_MS = 50;

const SAMPLE_MRI = join(dirname(fileURLToPath(import.meta.url)), '../../../data/sample/ch2.nii.gz');
const DIMS = [181, 217, 181];
const COUNT = DIMS[0]! * DIMS[1]! * DIMS[2]!;

const folder = tempDir('nifti-delay');
const floats = new Float32Array(COUNT).map((_, i) => Math.sin(i / 1000) * 100);
const affine = [[1, 0, 0, -90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]];

beforeAll(() => {
  writeNifti(folder.path('float32.nii'), { data: floats, dims: DIMS, affine });
  writeNifti(folder.path('float32.nii.gz'), { data: floats, dims: DIMS, affine });
  // int16 with scl_slope 2 and an LSA affine, so that scaling, the float32 conversion and the
  // reorientation all have work to do.
  const int16 = Array.from({ length: COUNT }, (_, i) => (i * 7) % 3000);
  const lsa = buildNifti1({
    dims: DIMS,
    datatype: 'int16',
    voxels: encode(int16, 'int16'),
    slope: 2,
    inter: 1,
    sformCode: 1,
    srow: [[-1, 0, 0, 90], [0, 0, 1, -72], [0, 1, 0, -126]],
  });
  writeFileSync(folder.path('int16-lsa.nii'), lsa);
  writeFileSync(folder.path('int16-lsa.nii.gz'), gzipSync(lsa));
});

afterAll(() => folder.remove());

interface ReadCase {
  name: string;
  file: () => string;
  options: ReadNiftiOptions;
  /** Whether the file is the sample MRI, which a script fetches. */
  sample: boolean;
  /** Whether readNifti does enough work on this file to block for more than 50 ms. */
  syncBlocks: boolean;
}

const READS: ReadCase[] = [
  // Decoding a uint8 scan without scaling is cheap, so readNifti may stay under 50 ms here.
  { name: 'sample MRI', file: () => SAMPLE_MRI, options: {}, sample: true, syncBlocks: false },
  { name: 'sample MRI as float32 RAS', file: () => SAMPLE_MRI, options: { toFloat32: true, orientation: 'RAS' }, sample: true, syncBlocks: true },
  // A plain float32 file is read straight into the returned array, so readNifti has little to do.
  { name: 'float32 .nii', file: () => folder.path('float32.nii'), options: {}, sample: false, syncBlocks: false },
  { name: 'float32 .nii.gz', file: () => folder.path('float32.nii.gz'), options: {}, sample: false, syncBlocks: true },
  { name: 'int16 .nii scaled RAS', file: () => folder.path('int16-lsa.nii'), options: { toFloat32: true, orientation: 'RAS' }, sample: false, syncBlocks: true },
  { name: 'int16 .nii.gz scaled RAS', file: () => folder.path('int16-lsa.nii.gz'), options: { orientation: 'RAS' }, sample: false, syncBlocks: true },
];

const missingSample = existsSync(SAMPLE_MRI) ? false : 'data/sample/ch2.nii.gz is missing; sh scripts/fetch-sample-data.sh fetches it';

describe('NIfTI I/O and the event loop', () => {
  for (const read of READS) {
    const skip = read.sample && missingSample !== false;
    it.skipIf(skip)(`readNiftiAsync stays under 50 ms: ${read.name}${skip ? ` (skipped: ${missingSample})` : ''}`, async () => {
      let bytes = 0;
      const maxDelayMs = await lowestMaxDelay(async () => {
        bytes = (await readNiftiAsync(read.file(), read.options)).data.byteLength;
      }, MAX_DELAY_MS);
      expect(bytes).toBeGreaterThanOrEqual(COUNT);
      expect(maxDelayMs).toBeLessThan(MAX_DELAY_MS);
    });

    if (read.syncBlocks) {
      it.skipIf(skip)(`readNifti blocks over 50 ms: ${read.name}`, async () => {
        const { maxDelayMs } = await measureMaxDelay(() => readNifti(read.file(), read.options));
        expect(maxDelayMs).toBeGreaterThan(MAX_DELAY_MS);
      });
    }
  }

  it('writeNiftiAsync stays under 50 ms: float32 .nii.gz', async () => {
    const maxDelayMs = await lowestMaxDelay(
      () => writeNiftiAsync(folder.path('out.nii.gz'), { data: floats, dims: DIMS, affine }),
      MAX_DELAY_MS,
    );
    expect(maxDelayMs).toBeLessThan(MAX_DELAY_MS);
  });

  it("writeNiftiAsync stays under 50 ms: datatype 'auto' mask", async () => {
    const mask = floats.map((value) => (value > 0 ? 1 : 0));
    const maxDelayMs = await lowestMaxDelay(
      () => writeNiftiAsync(folder.path('mask.nii.gz'), { data: mask, dims: DIMS, affine }, { datatype: 'auto' }),
      MAX_DELAY_MS,
    );
    expect(readNifti(folder.path('mask.nii.gz')).datatype).toBe('uint8');
    expect(maxDelayMs).toBeLessThan(MAX_DELAY_MS);
  });

  it('writeNifti blocks over 50 ms: float32 .nii.gz', async () => {
    const { maxDelayMs } = await measureMaxDelay(() => writeNifti(folder.path('sync.nii.gz'), { data: floats, dims: DIMS, affine }));
    expect(maxDelayMs).toBeGreaterThan(MAX_DELAY_MS);
  });
});
