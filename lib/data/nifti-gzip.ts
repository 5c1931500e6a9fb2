// SPDX-License-Identifier: MIT
//
// Bounded gzip decoding for NIfTI files. Every full decode stops at a byte cap that the header
// sets (vox_offset plus the voxel data), so a small file that inflates to gigabytes fails
// with a NiftiError after at most `cap` bytes instead of filling memory.

import { constants as bufferConstants } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';

import { NiftiError } from '../errors.js';

/** Maximum decoded size of one file: the size limit of one Node.js Buffer (4 GiB in Node 20). */
export const MAX_DECODED_BYTES: number = bufferConstants.MAX_LENGTH;

/** Bytes that header parsing needs: a NIfTI-2 header plus its 4-byte extension flag. */
export const HEADER_PREFIX_BYTES = 544;

/** Returns true when `bytes` starts with the gzip magic number. @internal */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Converts a zlib failure into a NiftiError that names the file. @internal */
export function gzipError(path: string, error: unknown): NiftiError {
  const message = error instanceof Error ? error.message : String(error);
  const reason = /unexpected end/i.test(message) ? 'truncated gzip stream' : `invalid gzip data (${message})`;
  return new NiftiError(path, reason, { cause: error });
}

function capExceeded(path: string, cap: number): NiftiError {
  return new NiftiError(
    path,
    `gzip stream decodes to more than ${cap} bytes, the size of vox_offset plus the voxel data ` +
      'that the header declares (a corrupt file or a decompression bomb)',
  );
}

/**
 * Decodes the whole gzip stream `compressed` (every member), failing with a NiftiError as soon
 * as the output passes `cap` bytes. @internal
 */
export function gunzipCapped(path: string, compressed: Uint8Array, cap: number): Uint8Array {
  try {
    // maxOutputLength must be at least 1; a 0-byte cap still rejects any decoded byte below.
    const decoded = gunzipSync(compressed, { maxOutputLength: Math.max(1, cap) });
    if (decoded.length > cap) throw capExceeded(path, cap);
    return decoded;
  } catch (error) {
    if (error instanceof NiftiError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw capExceeded(path, cap);
    throw gzipError(path, error);
  }
}

/**
 * Decodes the start of a gzip stream: compressed slices of growing size (1 KiB, 2 KiB, ...) are
 * inflated until at least `needed` bytes come out or the input ends. One compressed KiB decodes
 * to at most about 1 MiB (the deflate limit is 1032:1), so a bomb costs little here. @internal
 */
export function gunzipPrefix(path: string, compressed: Uint8Array, needed: number): Uint8Array {
  for (let size = 1024; ; size *= 2) {
    const complete = size >= compressed.length;
    const prefix = inflatePrefix(path, compressed.subarray(0, size), complete);
    if (prefix.length >= needed || complete) return prefix;
  }
}

/** Decodes the available prefix of a gzip stream, without failing on a cut-off end. @internal */
export function inflatePrefix(path: string, compressed: Uint8Array, complete: boolean): Uint8Array {
  try {
    return gunzipSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (error) {
    if (!complete && /unexpected end/i.test((error as Error).message)) return new Uint8Array(0);
    throw gzipError(path, error);
  }
}

/**
 * Streams the gzip file at `path` through node:zlib and returns the decoded bytes.
 *
 * `capOf` receives the first decoded bytes (at least `HEADER_PREFIX_BYTES`, or all of them
 * when the stream is shorter) and returns the cap on the decoded size. It returns null when the
 * prefix is all the caller needs, and then the prefix is returned without decoding the rest.
 * Passing the cap destroys the stream and rejects with a NiftiError. Once the cap is known,
 * chunks are copied into one buffer of that size as they arrive.
 * @internal
 */
export async function gunzipFileCapped(
  path: string,
  capOf: (prefix: Uint8Array) => number | null,
): Promise<Uint8Array> {
  const source = createReadStream(path);
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);

  const chunks: Buffer[] = [];
  let total = 0;
  let cap: number | undefined;
  // Once the cap is known, chunks are copied into one buffer of that size as they arrive, so
  // that no single step copies the whole volume on the calling thread.
  let output: Buffer | undefined;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (output === undefined) {
        chunks.push(chunk);
      } else if (total + chunk.length <= output.length) {
        chunk.copy(output, total);
      }
      total += chunk.length;
      if (cap === undefined && total >= HEADER_PREFIX_BYTES) {
        const prefix = Buffer.concat(chunks, total);
        const found = capOf(prefix);
        if (found === null) return prefix;
        cap = found;
        if (total <= cap) {
          // Uninitialised memory is safe here because only the `total` bytes written are returned.
          output = Buffer.allocUnsafeSlow(cap);
          prefix.copy(output);
          chunks.length = 0;
        }
      }
      if (cap !== undefined && total > cap) throw capExceeded(path, cap);
    }
  } catch (error) {
    if (error instanceof NiftiError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    throw gzipError(path, error);
  } finally {
    source.destroy();
    gunzip.destroy();
  }

  const decoded = output === undefined ? Buffer.concat(chunks, total) : output.subarray(0, total);
  if (cap === undefined) {
    const found = capOf(decoded);
    if (found !== null && total > found) throw capExceeded(path, found);
  }
  return decoded;
}
