// SPDX-License-Identifier: MIT
//
// Bounded gzip decoding: decompression bombs and headers that declare more voxel data than
// one buffer can hold must fail with a NiftiError, without decoding the excess.

import { createWriteStream, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorCode, NiftiError } from '../../../lib/errors.js';
import { readNifti, readNiftiAsync, readNiftiHeader } from '../../../lib/data/nifti.js';
import { buildNifti1, encode, ramp, tempDir } from './fixtures.js';

const tmp = tempDir('nifti-gzip');
afterAll(() => tmp.remove());

const MIB = 1 << 20;
const BOMB_ZERO_MIB = 1024;

// A valid 4 x 4 x 4 uint8 image (352 + 64 bytes) followed, inside the same gzip member, by
// 1 GiB of zeros. The compressed file is about 1 MiB; the decoded form is never written.
const SMALL = buildNifti1({ dims: [4, 4, 4], datatype: 'uint8', voxels: Uint8Array.from(ramp(64)) });
const SMALL_CAP = 352 + 64;

async function writeStreamedBomb(path: string): Promise<void> {
  const gzip = createGzip({ level: 9 });
  const finished = once(gzip.pipe(createWriteStream(path)), 'finish');
  gzip.write(SMALL);
  const zeros = Buffer.alloc(MIB);
  for (let i = 0; i < BOMB_ZERO_MIB; i++) {
    if (!gzip.write(zeros)) await once(gzip, 'drain');
  }
  gzip.end();
  await finished;
}

/** Builds the same bomb as a multi-member gzip file: the image, then one 16 MiB zero member repeated. */
function multiMemberBomb(): Buffer {
  const zeroMember = gzipSync(Buffer.alloc(16 * MIB), { level: 9 });
  return Buffer.concat([gzipSync(SMALL), ...Array.from({ length: BOMB_ZERO_MIB / 16 }, () => zeroMember)]);
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function caughtAsync(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectNiftiError(error: unknown, path: string, reason: RegExp): void {
  expect(error).toBeInstanceOf(NiftiError);
  expect((error as NiftiError).code).toBe(ErrorCode.NIFTI);
  expect((error as NiftiError).message.startsWith(`${path}: `)).toBe(true);
  expect((error as NiftiError).message).toMatch(reason);
}

const CAP_EXCEEDED = new RegExp(`decodes to more than ${SMALL_CAP} bytes`);

describe('gzip decompression bombs', () => {
  const streamed = tmp.path('bomb-streamed.nii.gz');
  const multi = tmp.path('bomb-multi.nii.gz');

  beforeAll(async () => {
    await writeStreamedBomb(streamed);
    writeFileSync(multi, multiMemberBomb());
  }, 60_000);

  it('bomb files are small with a valid header', () => {
    for (const path of [streamed, multi]) {
      expect(statSync(path).size).toBeLessThan(4 * MIB);
      expect(readNiftiHeader(path).dims).toEqual([4, 4, 4]);
    }
  });

  it('fails: single-member bomb, read synchronously', () => {
    const before = process.memoryUsage().rss;
    expectNiftiError(caught(() => readNifti(streamed)), streamed, CAP_EXCEEDED);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * MIB);
  });

  it('fails: single-member bomb, read asynchronously', async () => {
    const before = process.memoryUsage().rss;
    expectNiftiError(await caughtAsync(() => readNiftiAsync(streamed)), streamed, CAP_EXCEEDED);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * MIB);
  });

  it('fails: multi-member bomb, both ways', async () => {
    expectNiftiError(caught(() => readNifti(multi)), multi, CAP_EXCEEDED);
    expectNiftiError(await caughtAsync(() => readNiftiAsync(multi)), multi, CAP_EXCEEDED);
  });

  it('fails: bomb in the .img.gz of a pair', async () => {
    const header = buildNifti1({
      dims: [4, 4, 4],
      datatype: 'uint8',
      voxels: new Uint8Array(0),
      voxOffset: 0,
      magic: 'ni1',
    });
    const headerPath = tmp.path('pair-bomb.hdr');
    const imagePath = tmp.path('pair-bomb.img.gz');
    writeFileSync(headerPath, header.subarray(0, 348));
    const zeroMember = gzipSync(Buffer.alloc(16 * MIB), { level: 9 });
    writeFileSync(imagePath, Buffer.concat(Array.from({ length: 8 }, () => zeroMember)));
    const reason = /decodes to more than 64 bytes/;
    expectNiftiError(caught(() => readNifti(headerPath)), imagePath, reason);
    expectNiftiError(await caughtAsync(() => readNiftiAsync(headerPath)), imagePath, reason);
  });

  it('fails: one byte after the voxel data', async () => {
    const path = tmp.path('one-extra.nii.gz');
    writeFileSync(path, gzipSync(Buffer.concat([SMALL, Buffer.from([0])])));
    expectNiftiError(caught(() => readNifti(path)), path, CAP_EXCEEDED);
    expectNiftiError(await caughtAsync(() => readNiftiAsync(path)), path, CAP_EXCEEDED);
  });

  it('reads a stream that ends exactly at the cap', async () => {
    const path = tmp.path('exact.nii.gz');
    writeFileSync(path, gzipSync(SMALL));
    expect(Array.from(readNifti(path).data)).toEqual(ramp(64));
    expect(Array.from((await readNiftiAsync(path)).data)).toEqual(ramp(64));
  });
});

describe('headers that declare huge voxel data', () => {
  // 30000^3 int16 voxels are 5.4e13 bytes; the file itself holds only a header.
  const huge = buildNifti1({ dims: [30000, 30000, 30000], datatype: 'int16', voxels: encode([1, 2, 3], 'int16') });
  const reason = /voxel data too large: dims \[30000, 30000, 30000\] of int16 need 54000000000000 bytes/;

  it('fails: huge dims in a .nii', async () => {
    const path = tmp.path('huge.nii');
    writeFileSync(path, huge);
    expectNiftiError(caught(() => readNifti(path)), path, reason);
    expectNiftiError(await caughtAsync(() => readNiftiAsync(path)), path, reason);
  });

  it('fails: huge dims in a .nii.gz', async () => {
    const path = tmp.path('huge.nii.gz');
    writeFileSync(path, gzipSync(huge));
    expectNiftiError(caught(() => readNifti(path)), path, reason);
    expectNiftiError(await caughtAsync(() => readNiftiAsync(path)), path, reason);
  });

  it('fails: truncated stream, asynchronously', async () => {
    const path = tmp.path('cut.nii.gz');
    const compressed = gzipSync(
      buildNifti1({ dims: [32, 32, 32], datatype: 'float32', voxels: encode(ramp(32768), 'float32') }),
    );
    writeFileSync(path, compressed.subarray(0, compressed.length / 2));
    expectNiftiError(await caughtAsync(() => readNiftiAsync(path)), path, /truncated gzip stream/);
  });

  it('fails: missing file, asynchronously', async () => {
    const path = tmp.path('absent.nii.gz');
    expectNiftiError(await caughtAsync(() => readNiftiAsync(path)), path, /not found/);
  });
});
