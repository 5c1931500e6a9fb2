// SPDX-License-Identifier: MIT
//
// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors): an
// 8-byte little-endian header length N, N bytes of JSON header that map each tensor name to
// `{ dtype, shape, data_offsets: [begin, end] }` (offsets into the data that follows the header)
// plus an optional `__metadata__` object of string values, then the raw little-endian data.

import { closeSync, openSync, readSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { CheckpointError } from '../errors.js';
import { Module } from '../nn/module.js';
import { formatShape, isTensor, shapeSize, tensor, tidy, type DType, type Tensor } from '../tensor.js';
import { checkString, typeError } from '../validate.js';

/** Largest header accepted, as in the reference implementation (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** The metadata key under which medunet stores its JSON record (format, version, architecture). */
export const SAFETENSORS_MEDUNET_KEY = 'medunet';

/** Safetensors dtype names and their medunet dtypes and element sizes in bytes. */
const DTYPE_TABLE: ReadonlyArray<{ name: string; dtype: DType; bytes: number }> = [
  { name: 'F32', dtype: 'float32', bytes: 4 },
  { name: 'F64', dtype: 'float64', bytes: 8 },
  { name: 'F16', dtype: 'float16', bytes: 2 },
  { name: 'BF16', dtype: 'bfloat16', bytes: 2 },
  { name: 'I64', dtype: 'int64', bytes: 8 },
  { name: 'I32', dtype: 'int32', bytes: 4 },
  { name: 'I16', dtype: 'int16', bytes: 2 },
  { name: 'I8', dtype: 'int8', bytes: 1 },
  { name: 'U8', dtype: 'uint8', bytes: 1 },
  { name: 'BOOL', dtype: 'bool', bytes: 1 },
];

/** A safetensors file's contents, as {@link loadSafetensors} returns them. */
export interface SafetensorsContents {
  /** Tensors in header order, on the CPU; the caller owns (and should dispose) them. */
  tensors: Map<string, Tensor>;
  /** The `__metadata__` object, or null when the header has none. */
  metadata: Record<string, string> | null;
}

/** A source that a UNet-like model can describe itself with, for the metadata record. */
interface DescribedModel {
  architecture?: unknown;
}

/**
 * Writes tensors to `path` in the safetensors format, replacing the file only once the new one
 * is complete.
 *
 * Given a {@link Module}, its `stateDict()` is written; when the module has an `architecture`
 * (as `UNet` does), a JSON record `{ format: 'medunet', version, architecture }` is stored under
 * the `__metadata__` key `medunet`, so that `loadModel` can rebuild the model. PyTorch reads the
 * file with `safetensors.torch.load_file(path)`.
 *
 * @param path - Output file, normally ending in `.safetensors`.
 * @param source - A module, or a Map from name to tensor (any device; copied to the CPU).
 * @param metadata - String values for `__metadata__`; the key `medunet` is reserved for modules
 *   with an architecture.
 * @throws TypeError for bad arguments; CheckpointError when the file cannot be written.
 * @example
 * saveSafetensors('unet.safetensors', model, { dataset: 'ch2' });
 * @see https://huggingface.co/docs/safetensors
 */
export function saveSafetensors(path: string, source: Module | Map<string, Tensor>, metadata?: Record<string, string>): void {
  checkString('path', path);
  const extra = checkMetadata(metadata);
  if (!(source instanceof Module) && !(source instanceof Map)) throw typeError('source', 'a Module or a Map of Tensors', source);
  const record = source instanceof Module ? medunetRecord(source) : null;
  if (record !== null) {
    if (SAFETENSORS_MEDUNET_KEY in extra) {
      throw typeError(`metadata.${SAFETENSORS_MEDUNET_KEY}`, 'absent (medunet sets it for a model)', extra[SAFETENSORS_MEDUNET_KEY]);
    }
    extra[SAFETENSORS_MEDUNET_KEY] = record;
  }
  tidy(() => {
    const tensors = source instanceof Module ? source.stateDict() : source;
    for (const [name, value] of tensors) {
      if (!isTensor(value)) throw typeError(`source[${JSON.stringify(name)}]`, 'a Tensor', value);
      if (name === '__metadata__') throw typeError('source', 'a Map without the reserved key "__metadata__"', name);
    }
    writeAtomically(path, encode(tensors, Object.keys(extra).length > 0 ? extra : null));
  });
}

/**
 * Reads a safetensors file. Every dtype of the format that medunet has (F32, F64, F16, BF16,
 * I64, I32, I16, I8, U8, BOOL) is supported; others, such as F8 or U32, are rejected.
 *
 * @param path - A `.safetensors` file.
 * @returns The tensors in header order and the `__metadata__` strings.
 * @throws CheckpointError when the file cannot be read, or its header or data is invalid.
 * @example
 * const { tensors, metadata } = loadSafetensors('unet.safetensors');
 */
export function loadSafetensors(path: string): SafetensorsContents {
  checkString('path', path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CheckpointError(path, `could not read the checkpoint: ${(error as Error).message}`, { cause: error });
  }
  checkLittleEndianHost(path);
  const { header, dataStart } = parseHeader(path, bytes);
  const data = bytes.subarray(dataStart);
  let metadata: Record<string, string> | null = null;
  const entries: Array<[string, TensorEntry]> = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadataObject(path, value);
    else entries.push([name, parseEntry(path, name, value, data.length)]);
  }
  const tensors = new Map<string, Tensor>();
  try {
    for (const [name, entry] of entries) tensors.set(name, decodeTensor(entry, data));
  } catch (error) {
    for (const value of tensors.values()) value.dispose();
    throw new CheckpointError(path, `could not create the tensors: ${(error as Error).message}`, { cause: error });
  }
  return { tensors, metadata };
}

/**
 * Returns true when the file at `path` starts like a safetensors file: a header length that fits
 * the file, followed by `{`. Zip archives written by `torch.save` start with `PK` and never match.
 * Returns false for files that cannot be read.
 */
export function hasSafetensorsMagic(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const start = Buffer.alloc(9);
    if (readSync(fd, start, 0, 9, 0) < 9) return false;
    const headerLength = start.readBigUInt64LE(0);
    return start[8] === 0x7b && headerLength >= 2n && headerLength + 8n <= BigInt(statSync(path).size);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function checkMetadata(metadata: unknown): Record<string, string> {
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw typeError('metadata', 'an object of strings', metadata);
  }
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw typeError(`metadata.${key}`, 'a string', value);
    copy[key] = value;
  }
  return copy;
}

function medunetRecord(module: Module): string | null {
  const architecture = (module as DescribedModel).architecture;
  if (architecture === undefined) return null;
  // The same record that saveCheckpoint stores, without importing it, to avoid an import cycle.
  return JSON.stringify({ format: 'medunet', version: 1, architecture });
}

/** Builds the whole file in memory: header length, space-padded header, data. */
function encode(tensors: Map<string, Tensor>, metadata: Record<string, string> | null): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata !== null) header['__metadata__'] = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, value] of tensors) {
    const chunk = encodeData(value);
    const dtype = DTYPE_TABLE.find((row) => row.dtype === value.dtype);
    if (dtype === undefined) throw typeError(`source[${JSON.stringify(name)}]`, 'a tensor of a safetensors dtype', value.dtype);
    header[name] = { dtype: dtype.name, shape: value.shape, data_offsets: [offset, offset + chunk.length] };
    chunks.push(chunk);
    offset += chunk.length;
  }
  // Pad with spaces so that the data starts on an 8-byte boundary, as the reference writer does.
  let text = JSON.stringify(header);
  const headerBytes = Buffer.byteLength(text, 'utf8');
  text += ' '.repeat((8 - (headerBytes % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(text, 'utf8')));
  return Buffer.concat([prefix, Buffer.from(text, 'utf8'), ...chunks]);
}

/** Returns the little-endian bytes of a tensor's elements. */
function encodeData(value: Tensor): Buffer {
  const elements = value.data();
  if (value.dtype === 'float16' || value.dtype === 'bfloat16') {
    // data() widens both 16-bit float types to float32; narrowing back is exact.
    const wide = elements as Float32Array;
    const narrow = new Uint16Array(wide.length);
    const encodeOne = value.dtype === 'float16' ? float32ToHalfBits : float32ToBFloat16Bits;
    for (let i = 0; i < wide.length; i++) narrow[i] = encodeOne(wide[i] as number);
    return Buffer.from(narrow.buffer, narrow.byteOffset, narrow.byteLength);
  }
  return Buffer.from(elements.buffer, elements.byteOffset, elements.byteLength);
}

function writeAtomically(path: string, bytes: Buffer): void {
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(temporary, bytes, { flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // The temporary file was never created or is already gone.
    }
    throw new CheckpointError(path, `could not write the checkpoint: ${(error as Error).message}`, { cause: error });
  }
}

function checkLittleEndianHost(path: string): void {
  // NOTE: the typed arrays below use the host's byte order; big-endian hosts are not supported.
  if (endianness() !== 'LE') throw new CheckpointError(path, 'safetensors files can only be read on little-endian machines');
}

function parseHeader(path: string, bytes: Buffer): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw new CheckpointError(path, `is not a safetensors file: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const headerLength = bytes.readBigUInt64LE(0);
  if (headerLength > BigInt(bytes.length - 8) || headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(
      path,
      `is not a safetensors file: the header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it (or the ${MAX_HEADER_BYTES}-byte limit)`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw new CheckpointError(path, `the safetensors header is not valid UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointError(path, 'the safetensors header is not a JSON object');
  }
  return { header: header as Record<string, unknown>, dataStart };
}

function parseMetadataObject(path: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CheckpointError(path, 'the safetensors `__metadata__` is not an object of strings');
  }
  for (const [key, text] of Object.entries(value)) {
    if (typeof text !== 'string') throw new CheckpointError(path, `the safetensors \`__metadata__\` value ${JSON.stringify(key)} is not a string`);
  }
  return { ...(value as Record<string, string>) };
}

interface TensorEntry {
  dtype: DType;
  elementBytes: number;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(path: string, name: string, value: unknown, dataLength: number): TensorEntry {
  const fail = (reason: string): never => {
    throw new CheckpointError(path, `the safetensors entry ${JSON.stringify(name)} ${reason}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('is not an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  const row = DTYPE_TABLE.find((candidate) => candidate.name === dtype);
  if (row === undefined) {
    fail(`has dtype ${JSON.stringify(dtype)}, which medunet does not support (${DTYPE_TABLE.map((r) => r.name).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    fail(`has an invalid shape ${JSON.stringify(shape)}`);
  }
  const isOffset = (offset: unknown): offset is number => Number.isSafeInteger(offset) && (offset as number) >= 0;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isOffset(offsets[0]) || !isOffset(offsets[1])) {
    fail(`has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) fail(`has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes`);
  const entry: TensorEntry = { dtype: row!.dtype, elementBytes: row!.bytes, shape: shape as number[], begin, end };
  const expected = shapeSize(entry.shape) * entry.elementBytes;
  if (end - begin !== expected) {
    fail(`has ${end - begin} data bytes, but shape ${formatShape(entry.shape)} of ${dtype as string} needs ${expected}`);
  }
  return entry;
}

function decodeTensor(entry: TensorEntry, data: Buffer): Tensor {
  // Copy into a fresh, aligned buffer: typed arrays need offsets that are multiples of their element size.
  const raw = new Uint8Array(entry.end - entry.begin);
  raw.set(data.subarray(entry.begin, entry.end));
  const buffer = raw.buffer;
  switch (entry.dtype) {
    case 'float32':
      return tensor(new Float32Array(buffer), entry.shape);
    case 'float64':
      return tensor(new Float64Array(buffer), entry.shape);
    case 'float16':
    case 'bfloat16': {
      const bits = new Uint16Array(buffer);
      const decodeOne = entry.dtype === 'float16' ? halfBitsToFloat32 : bfloat16BitsToFloat32;
      const wide = Float32Array.from(bits, decodeOne);
      return tensor(wide, entry.shape, { dtype: entry.dtype });
    }
    case 'int64':
      return tensor(new BigInt64Array(buffer), entry.shape);
    case 'int32':
      return tensor(new Int32Array(buffer), entry.shape);
    case 'int16':
      return tensor(new Int16Array(buffer), entry.shape);
    case 'int8':
      return tensor(new Int8Array(buffer), entry.shape);
    case 'uint8':
      return tensor(raw, entry.shape);
    case 'bool':
      return tensor(raw, entry.shape, { dtype: 'bool' });
  }
}

const scratch = new DataView(new ArrayBuffer(4));

function float32Bits(value: number): number {
  scratch.setFloat32(0, value);
  return scratch.getUint32(0);
}

function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

/** IEEE 754 binary16 bits to a number. */
function halfBitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Converts a number to IEEE 754 binary16 bits, rounding to nearest even. Only called on values that came
 * from a float16 tensor, so they are exact; the rounding covers other callers.
 */
function float32ToHalfBits(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the mantissa, with its implicit 1, into place.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const rounded = roundShift(full, shift);
    return sign | rounded;
  }
  const rounded = roundShift((halfExponent << 23) | mantissa, 13);
  return sign | rounded;
}

/** Shifts right by `shift` bits, rounding to nearest even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const remainder = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  if (remainder > half || (remainder === half && (kept & 1) === 1)) return kept + 1;
  return kept;
}

function bfloat16BitsToFloat32(bits: number): number {
  return float32FromBits(bits << 16);
}

/** Converts a number to bfloat16 bits, rounding to nearest even (exact for values from a bfloat16 tensor). */
function float32ToBFloat16Bits(value: number): number {
  const bits = float32Bits(value);
  if (Number.isNaN(value)) return ((bits >>> 16) | 0x40) & 0xffff;
  return roundShift(bits, 16) & 0xffff;
}
