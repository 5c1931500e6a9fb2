// SPDX-License-Identifier: MIT
//
// Positional reads from uncompressed NIfTI files. Voxel data is read straight into a buffer of
// exactly its size, so the typed array returned owns its memory and needs no copy, whatever the
// alignment of vox_offset. Data in the other byte order is swapped in place. Only the requested
// bytes are read, so selecting one volume of a 4D file reads that volume alone.

import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

import { NiftiError } from '../errors.js';
import { HOST_LITTLE_ENDIAN, swapBytesSteps, type DatatypeSpec, type VoxelArray } from './nifti-format.js';
import { runSteps, runStepsAsync, type Steps } from './nifti-steps.js';

/** Voxels to read: `count` elements starting at byte `offset` of the file. @internal */
export interface VoxelRange {
  offset: number;
  count: number;
}

/** Fills `target` from byte `position` of the file and returns how many bytes were read (fewer at its end). */
function fillSync(fd: number, target: Uint8Array, position: number): number {
  let filled = 0;
  while (filled < target.length) {
    const read = readSync(fd, target, filled, target.length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled;
}

async function fillAsync(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await handle.read(target, filled, target.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Returns up to `length` bytes from byte `position` of the file, fewer at its end. @internal */
export function readBytesSync(fd: number, position: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  return bytes.subarray(0, fillSync(fd, bytes, position));
}

/** Like `readBytesSync` for a promise-based file handle. @internal */
export async function readBytesAsync(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  return bytes.subarray(0, await fillAsync(handle, bytes, position));
}

/**
 * Reads the voxels of `range` into a new array of `datatype` in the machine's byte order. The
 * caller has checked the file size, and a file that shrank since then fails as truncated. @internal
 */
export function readVoxelsSync(
  path: string,
  fd: number,
  range: VoxelRange,
  datatype: DatatypeSpec,
  littleEndian: boolean,
): VoxelArray {
  // Uninitialised memory is safe here because it is returned only after every byte was read.
  const bytes = Buffer.allocUnsafeSlow(range.count * datatype.bytes);
  const read = fillSync(fd, bytes, range.offset);
  return runSteps(toVoxelSteps(path, bytes, read, range, datatype, littleEndian));
}

/** Like `readVoxelsSync` for a promise-based file handle. @internal */
export async function readVoxelsAsync(
  path: string,
  handle: FileHandle,
  range: VoxelRange,
  datatype: DatatypeSpec,
  littleEndian: boolean,
): Promise<VoxelArray> {
  const bytes = Buffer.allocUnsafeSlow(range.count * datatype.bytes);
  const read = await fillAsync(handle, bytes, range.offset);
  return runStepsAsync(toVoxelSteps(path, bytes, read, range, datatype, littleEndian));
}

function* toVoxelSteps(
  path: string,
  bytes: Buffer,
  read: number,
  range: VoxelRange,
  datatype: DatatypeSpec,
  littleEndian: boolean,
): Steps<VoxelArray> {
  if (read < bytes.length) {
    throw new NiftiError(
      path,
      `truncated: expected ${bytes.length} bytes of voxel data at offset ${range.offset}, found ${read} ` +
        '(the file shrank while it was read)',
    );
  }
  if (littleEndian !== HOST_LITTLE_ENDIAN && datatype.bytes > 1) yield* swapBytesSteps(bytes, datatype.bytes);
  // allocUnsafeSlow never hands out a slice of the shared pool, so the array spans the whole buffer.
  return datatype.create(bytes.buffer as ArrayBuffer, range.count);
}
