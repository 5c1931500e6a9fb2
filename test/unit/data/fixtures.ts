// SPDX-License-Identifier: MIT
//
// Hand-built NIfTI files for the data tests. The bytes are laid out here field by field, apart
// from the writer under test, so a reader test does not only check that the writer and the
// reader agree with each other.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Datatype codes and element sizes of the NIfTI standard. */
export const CODES = {
  uint8: [2, 1],
  int16: [4, 2],
  int32: [8, 4],
  float32: [16, 4],
  float64: [64, 8],
  int8: [256, 1],
  uint16: [512, 2],
  uint32: [768, 4],
  int64: [1024, 8],
  uint64: [1280, 8],
  complex64: [32, 8],
} as const;

export type CodeName = keyof typeof CODES;

/** Header fields of a hand-built file; anything omitted gets a neutral default. */
export interface RawSpec {
  dims: number[];
  /** Full dim[0..7]; overrides `dims` when given (for invalid headers). */
  rawDim?: number[];
  datatype: CodeName;
  /** Encoded voxel bytes placed at `voxOffset`. */
  voxels: Uint8Array;
  littleEndian?: boolean;
  pixdim?: number[];
  qfac?: number;
  voxOffset?: number;
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: [number, number, number];
  qoffset?: [number, number, number];
  srow?: number[][];
  xyztUnits?: number;
  description?: string;
  /** Bytes from offset 348 up to `voxOffset` (extension flag and extensions). */
  extension?: Uint8Array;
  /** "n+1" (default) or another magic string. */
  magic?: string;
}

/** Encodes numbers as `type` in the given byte order. */
export function encode(values: readonly number[], type: CodeName, littleEndian = true): Uint8Array {
  const [, size] = CODES[type];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => {
    const at = i * size;
    switch (type) {
      case 'uint8':
        view.setUint8(at, value);
        break;
      case 'int8':
        view.setInt8(at, value);
        break;
      case 'int16':
        view.setInt16(at, value, littleEndian);
        break;
      case 'uint16':
        view.setUint16(at, value, littleEndian);
        break;
      case 'int32':
        view.setInt32(at, value, littleEndian);
        break;
      case 'uint32':
        view.setUint32(at, value, littleEndian);
        break;
      case 'float32':
        view.setFloat32(at, value, littleEndian);
        break;
      case 'float64':
        view.setFloat64(at, value, littleEndian);
        break;
      case 'int64':
        view.setBigInt64(at, BigInt(value), littleEndian);
        break;
      case 'uint64':
        view.setBigUint64(at, BigInt(value), littleEndian);
        break;
      default:
        throw new Error(`encode: no encoding for ${type}`);
    }
  });
  return bytes;
}

/** Builds a single-file NIfTI-1 image byte by byte. */
export function buildNifti1(spec: RawSpec): Uint8Array {
  const le = spec.littleEndian ?? true;
  const voxOffset = spec.voxOffset ?? 352;
  // A .hdr of a pair may have vox_offset 0, and the header must still fit.
  const bytes = new Uint8Array(Math.max(voxOffset + spec.voxels.length, 348 + (spec.extension?.length ?? 0)));
  const view = new DataView(bytes.buffer);
  const [code, size] = CODES[spec.datatype];
  view.setInt32(0, 348, le);
  const dim = spec.rawDim ?? [spec.dims.length, ...spec.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  dim.forEach((value, i) => view.setInt16(40 + 2 * i, value, le));
  view.setInt16(70, code, le);
  view.setInt16(72, size * 8, le);
  const pixdim = [spec.qfac ?? 1, ...(spec.pixdim ?? spec.dims.map(() => 1))];
  pixdim.slice(0, 8).forEach((value, i) => view.setFloat32(76 + 4 * i, value, le));
  view.setFloat32(108, voxOffset, le);
  view.setFloat32(112, spec.slope ?? 1, le);
  view.setFloat32(116, spec.inter ?? 0, le);
  bytes[123] = spec.xyztUnits ?? 2;
  for (const [i, ch] of [...(spec.description ?? '')].entries()) bytes[148 + i] = ch.charCodeAt(0);
  view.setInt16(252, spec.qformCode ?? 0, le);
  view.setInt16(254, spec.sformCode ?? 0, le);
  (spec.quatern ?? [0, 0, 0]).forEach((value, i) => view.setFloat32(256 + 4 * i, value, le));
  (spec.qoffset ?? [0, 0, 0]).forEach((value, i) => view.setFloat32(268 + 4 * i, value, le));
  const srow = spec.srow ?? [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ];
  srow.forEach((row, r) => row.forEach((value, c) => view.setFloat32(280 + 16 * r + 4 * c, value, le)));
  for (const [i, ch] of [...(spec.magic ?? 'n+1')].entries()) bytes[344 + i] = ch.charCodeAt(0);
  if (spec.extension) bytes.set(spec.extension, 348);
  bytes.set(spec.voxels, voxOffset);
  return bytes;
}

/** Builds a single-file NIfTI-2 image byte by byte (sform only). */
export function buildNifti2(spec: RawSpec): Uint8Array {
  const le = spec.littleEndian ?? true;
  const voxOffset = spec.voxOffset ?? 544;
  const bytes = new Uint8Array(voxOffset + spec.voxels.length);
  const view = new DataView(bytes.buffer);
  const [code, size] = CODES[spec.datatype];
  view.setInt32(0, 540, le);
  bytes.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
  view.setInt16(12, code, le);
  view.setInt16(14, size * 8, le);
  const dim = [spec.dims.length, ...spec.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  dim.forEach((value, i) => view.setBigInt64(16 + 8 * i, BigInt(value), le));
  const pixdim = [spec.qfac ?? 1, ...(spec.pixdim ?? spec.dims.map(() => 1))];
  pixdim.slice(0, 8).forEach((value, i) => view.setFloat64(104 + 8 * i, value, le));
  view.setBigInt64(168, BigInt(voxOffset), le);
  view.setFloat64(176, spec.slope ?? 1, le);
  view.setFloat64(184, spec.inter ?? 0, le);
  view.setInt32(344, spec.qformCode ?? 0, le);
  view.setInt32(348, spec.sformCode ?? 0, le);
  const srow = spec.srow ?? [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ];
  srow.forEach((row, r) => row.forEach((value, c) => view.setFloat64(400 + 32 * r + 8 * c, value, le)));
  view.setInt32(500, spec.xyztUnits ?? 2, le);
  bytes.set(spec.voxels, voxOffset);
  return bytes;
}

/** A fresh temporary folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `medunet-${prefix}-`));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Values 0, 1, 2, ... of a volume, so every voxel's position can be read from its value. */
export function ramp(count: number, start = 0): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}
