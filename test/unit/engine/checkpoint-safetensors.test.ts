// SPDX-License-Identifier: MIT
//
// The safetensors reader and writer, checked against a reader and a writer in Python that
// follow the format directly (json + struct + torch.frombuffer), because Debian has no
// python3-safetensors package.

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelOption } from '../../../lib/cli/model-input.js';
import { CheckpointError } from '../../../lib/errors.js';
import { loadModel, readCheckpoint } from '../../../lib/engine/checkpoint.js';
import { hasSafetensorsMagic, loadSafetensors, saveSafetensors } from '../../../lib/engine/safetensors.js';
import { UNet } from '../../../lib/models/unet.js';
import { manualSeed, noGrad, randn, tensor, type DType, type Tensor } from '../../../lib/tensor.js';
import { PYTHON_UNET, runPython, torchMissingReason } from '../models/python.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-safetensors-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const skipReason = torchMissingReason === null ? '' : ` (skipped: ${torchMissingReason})`;
const withTorch = it.skipIf(torchMissingReason !== null);

/** Python functions that read and write safetensors files from the format's definition. */
const SAFETENSORS_PY = `
import json, struct
DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16,
          'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
          'U8': torch.uint8, 'BOOL': torch.bool}
NAMES = {dtype: name for name, dtype in DTYPES.items()}

def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (length,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    metadata = header.pop('__metadata__', None)
    tensors = {}
    for name, entry in header.items():
        begin, end = entry['data_offsets']
        raw = bytearray(body[begin:end])
        flat = torch.frombuffer(raw, dtype=DTYPES[entry['dtype']]) if raw else torch.empty(0, dtype=DTYPES[entry['dtype']])
        tensors[name] = flat.reshape(entry['shape']).clone()
    return tensors, metadata, length

def write_safetensors(path, tensors, metadata=None):
    header = {} if metadata is None else {'__metadata__': metadata}
    chunks, offset = [], 0
    for name, value in tensors.items():
        raw = value.contiguous().view(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b''
        header[name] = {'dtype': NAMES[value.dtype], 'shape': list(value.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
`;

/** One tensor per dtype with values that each dtype represents exactly, including an empty one. */
function tensorsOfEveryDType(): Map<string, Tensor> {
  const values = [0, 1, -2, 3.5, 100, -0.25];
  const rows: Array<[DType, number[]]> = [
    ['float32', values],
    ['float64', values.map((v) => v / 3)],
    ['float16', values],
    ['bfloat16', values],
    ['int32', [0, 1, -2, 3, 2147483647, -2147483648]],
    ['int16', [0, 1, -2, 3, 32767, -32768]],
    ['int8', [0, 1, -2, 3, 127, -128]],
    ['uint8', [0, 1, 2, 3, 255, 128]],
    ['bool', [0, 1, 1, 0, 1, 0]],
  ];
  const result = new Map<string, Tensor>(rows.map(([dtype, row]) => [dtype, tensor(row, [2, 3], { dtype })]));
  result.set('int64', tensor(new BigInt64Array([0n, -1n, 2n ** 40n, -(2n ** 53n), 7n, 9n]), [3, 2]));
  result.set('empty', tensor(new Float32Array(0), [0, 4]));
  result.set('scalar', tensor([2.5], []));
  return result;
}

function plain(t: Tensor): Array<number | bigint> {
  return Array.from(t.data() as ArrayLike<number | bigint>);
}

function expectCheckpointError(call: () => unknown, pattern: RegExp): void {
  expect(call).toThrow(CheckpointError);
  expect(call).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(pattern) }));
}

function trainedModel(seed: number): UNet {
  manualSeed(seed);
  const model = new UNet({ inChannels: 2, numClasses: 2, baseWidth: 2 });
  model.forward(randn([2, 2, 32, 32]));
  return model.eval();
}

describe('safetensors', () => {
  it('round-trips tensors of every dtype exactly', () => {
    const path = join(folder, 'dtypes.safetensors');
    const source = tensorsOfEveryDType();
    saveSafetensors(path, source, { note: 'dtypes' });
    const { tensors, metadata } = loadSafetensors(path);
    expect(metadata).toEqual({ note: 'dtypes' });
    expect([...tensors.keys()]).toEqual([...source.keys()]);
    for (const [name, value] of source) {
      const loaded = tensors.get(name)!;
      expect(loaded.dtype, name).toBe(value.dtype);
      expect(loaded.shape, name).toEqual(value.shape);
      expect(plain(loaded), name).toEqual(plain(value));
    }
  });

  it('pads the header so that the data starts on an 8-byte boundary', () => {
    const path = join(folder, 'aligned.safetensors');
    saveSafetensors(path, new Map([['x', tensor([1, 2, 3])]]));
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'))).toEqual({
      x: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
    });
    expect(bytes.length).toBe(8 + headerLength + 12);
  });

  it('records the architecture and loads the model with identical outputs', () => {
    const model = trainedModel(1);
    const path = join(folder, 'unet.safetensors');
    saveSafetensors(path, model, { axisIndex: '1' });
    const { metadata } = readCheckpoint(path);
    expect(metadata).toMatchObject({ format: 'medunet', version: 1, architecture: model.architecture, axisIndex: '1' });
    const loaded = loadModel(path);
    expect(loaded.architecture).toEqual(model.architecture);
    const x = randn([1, 2, 24, 20]);
    const expected = Array.from(noGrad(() => model.forward(x)).data() as Float32Array);
    expect(Array.from(noGrad(() => loaded.forward(x)).data() as Float32Array)).toEqual(expected);
    const tracked = loaded.stateDict().get('inc.double_conv.1.num_batches_tracked')!;
    expect(tracked.dtype).toBe('int64');
    expect(tracked.item()).toBe(1);
  });

  it('predict --model takes a safetensors file and its recorded axis', () => {
    const path = join(folder, 'cli.safetensors');
    saveSafetensors(path, trainedModel(2), { axisIndex: '0' });
    const loaded = loadModelOption({ model: path }, 'cpu');
    expect(loaded.model.architecture).toEqual({ name: 'UNet', inChannels: 2, numClasses: 2, baseWidth: 2 });
    expect(loaded.axis).toBe('sagittal');
    expect(loaded.axisSource).toBe('checkpoint');
  });

  it('recognises a safetensors file by its header whatever its extension', () => {
    const path = join(folder, 'unet.safetensors');
    const renamed = join(folder, 'weights.bin');
    copyFileSync(path, renamed);
    expect(hasSafetensorsMagic(renamed)).toBe(true);
    expect(loadModel(renamed).architecture.baseWidth).toBe(2);
  });

  withTorch(`writes files that a Python reader loads into PyTorch's UNet${skipReason}`, () => {
    const model = trainedModel(3);
    const path = join(folder, 'for-python.safetensors');
    saveSafetensors(path, model);
    const dtypesPath = join(folder, 'dtypes-for-python.safetensors');
    saveSafetensors(dtypesPath, tensorsOfEveryDType());
    const script = `${PYTHON_UNET}${SAFETENSORS_PY}
import sys
tensors, metadata, length = read_safetensors(sys.argv[1])
model = UNet(2, 2, 2)
model.load_state_dict(tensors, strict=True)
model.eval()
x = torch.arange(2 * 32 * 32, dtype=torch.float32).reshape(1, 2, 32, 32) / 1000.0
with torch.no_grad():
    y = model(x).flatten().tolist()
every, _, _ = read_safetensors(sys.argv[2])
print(json.dumps({
    'metadata': metadata,
    'aligned': (8 + length) % 8 == 0,
    'tracked': str(tensors['inc.double_conv.1.num_batches_tracked'].dtype),
    'prediction': y,
    'dtypes': {name: str(value.dtype) for name, value in every.items()},
    'values': {name: [float(v) for v in value.flatten().tolist()] for name, value in every.items() if name != 'int64'},
    'int64': [str(v) for v in every['int64'].flatten().tolist()],
}))
`;
    const result = JSON.parse(runPython(script, [path, dtypesPath])) as {
      metadata: Record<string, string>;
      aligned: boolean;
      tracked: string;
      prediction: number[];
      dtypes: Record<string, string>;
      values: Record<string, number[]>;
      int64: string[];
    };
    expect(JSON.parse(result.metadata['medunet']!)).toMatchObject({ format: 'medunet', architecture: model.architecture });
    expect(result.aligned).toBe(true);
    expect(result.tracked).toBe('torch.int64');
    const x = tensor(
      Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => i / 1000),
      [1, 2, 32, 32],
    );
    const ours = Array.from(noGrad(() => model.forward(x)).data() as Float32Array);
    expect(Math.max(...ours.map((v, i) => Math.abs(v - result.prediction[i]!)))).toBeLessThan(1e-4);
    const source = tensorsOfEveryDType();
    expect(result.dtypes['bfloat16']).toBe('torch.bfloat16');
    expect(result.dtypes['float16']).toBe('torch.float16');
    expect(result.dtypes['bool']).toBe('torch.bool');
    for (const [name, values] of Object.entries(result.values)) {
      expect(values, name).toEqual(plain(source.get(name)!).map(Number));
    }
    expect(result.int64).toEqual(plain(source.get('int64')!).map(String));
  });

  withTorch(`reads files that a Python writer made from PyTorch's UNet${skipReason}`, () => {
    const path = join(folder, 'from-python.safetensors');
    const script = `${PYTHON_UNET}${SAFETENSORS_PY}
import sys
torch.manual_seed(0)
model = UNet(1, 3, 2)
model.train()
model(torch.randn(2, 1, 32, 32))
model.eval()
write_safetensors(sys.argv[1], model.state_dict(), {'format': 'pt'})
x = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32) / 1000.0
with torch.no_grad():
    print(json.dumps(model(x).flatten().tolist()))
`;
    const expected = JSON.parse(runPython(script, [path])) as number[];
    const { metadata } = readCheckpoint(path);
    expect(metadata).toBeNull();
    const model = loadModel(path);
    expect(model.architecture).toEqual({ name: 'UNet', inChannels: 1, numClasses: 3, baseWidth: 2 });
    const x = tensor(
      Float32Array.from({ length: 32 * 32 }, (_, i) => i / 1000),
      [1, 1, 32, 32],
    );
    const actual = Array.from(noGrad(() => model.forward(x)).data() as Float32Array);
    expect(actual).toHaveLength(expected.length);
    expect(Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-4);
  });
});

describe('safetensors failures', () => {
  /** Writes a file with the given header object and data bytes. */
  function writeRaw(name: string, header: unknown, data = Buffer.alloc(0), headerText?: string): string {
    const text = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(text.length));
    const path = join(folder, name);
    writeFileSync(path, Buffer.concat([prefix, text, data]));
    return path;
  }

  // Each row: a file name, its header (or raw header text), data bytes, and the message pattern.
  const cases: Array<[string, unknown, Buffer, RegExp, string?]> = [
    ['unknown dtype', { a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1), /"a" has dtype "F8_E4M3"/],
    ['offsets past the data', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(4), /"a" has data_offsets \[0, 8\] outside the 4 data bytes/],
    ['size mismatch', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8), /"a" has 8 data bytes, but shape \[3\] of F32 needs 12/],
    ['negative shape', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, Buffer.alloc(0), /"a" has an invalid shape \[-1\]/],
    ['metadata with a number', { __metadata__: { epoch: 3 } }, Buffer.alloc(0), /`__metadata__` value "epoch" is not a string/],
    ['header that is an array', [1, 2], Buffer.alloc(0), /header is not a JSON object/],
    ['header that is not JSON', null, Buffer.alloc(0), /header is not valid UTF-8 JSON/, '{"a": '],
  ];

  it.each(cases)('fails: %s', (name, header, data, pattern, text) => {
    const path = writeRaw(`${name.replaceAll(' ', '-')}.safetensors`, header, data, text);
    expectCheckpointError(() => loadSafetensors(path), pattern);
    expectCheckpointError(() => loadModel(path), pattern);
  });

  it('fails: a header length past the end of the file', () => {
    const path = join(folder, 'short.safetensors');
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(1000n);
    writeFileSync(path, bytes);
    expectCheckpointError(() => loadSafetensors(path), /header length 1000 exceeds the 8 bytes after it/);
  });

  it('fails: a missing file', () => {
    expectCheckpointError(() => loadModel(join(folder, 'absent.safetensors')), /absent\.safetensors: could not read the checkpoint/);
  });

  it('rejects: metadata values that are not strings', () => {
    const call = (): unknown => saveSafetensors(join(folder, 'x.safetensors'), new Map(), { epoch: 3 as unknown as string });
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^metadata\.epoch must be a string/) }));
  });

  it('rejects: a medunet metadata key for a model', () => {
    const call = (): unknown => saveSafetensors(join(folder, 'x.safetensors'), trainedModel(4), { medunet: '{}' });
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^metadata\.medunet must be absent/) }));
  });

  it('rejects: a source that is neither a module nor a map', () => {
    const call = (): unknown => saveSafetensors(join(folder, 'x.safetensors'), [] as unknown as Map<string, Tensor>);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^source must be/) }));
  });

  it('rejects: a map entry that is not a tensor', () => {
    const call = (): unknown => saveSafetensors(join(folder, 'x.safetensors'), new Map([['w', 1 as unknown as Tensor]]));
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^source\["w"\] must be a Tensor/) }));
  });
});
