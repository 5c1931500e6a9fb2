// SPDX-License-Identifier: MIT
//
// saveCheckpoint and loadCheckpoint, including files exchanged with PyTorch in Python.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-checkpoint-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs Python code with /usr/bin/python3 and returns its standard output, or null without PyTorch. */
function python(code: string): string | null {
  const result = spawnSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return result.stdout;
}
const hasPythonTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('checkpoints', () => {
  it('round trips tensors and metadata', () => {
    const path = join(folder, 'round-trip.pt');
    const weight = native.randn([4, 1, 3, 3]);
    const counter = native.tensor(new BigInt64Array([12n]), []);
    native.saveCheckpoint(path, { 'inc.double_conv.0.weight': weight, 'bn.num_batches_tracked': counter }, '{"epoch":2}');
    const loaded = native.loadCheckpoint(path);
    expect(loaded.metadata).toBe('{"epoch":2}');
    expect(Object.keys(loaded.tensors)).toEqual(['inc.double_conv.0.weight', 'bn.num_batches_tracked']);
    const loadedWeight = loaded.tensors['inc.double_conv.0.weight']!;
    expect(loadedWeight.shape).toEqual([4, 1, 3, 3]);
    expect(Array.from(loadedWeight.data() as Float32Array)).toEqual(Array.from(weight.data() as Float32Array));
    expect(loaded.tensors['bn.num_batches_tracked']!.dtype).toBe('int64');
    expect(loaded.tensors['bn.num_batches_tracked']!.item()).toBe(12);
    expect(readdirSync(folder).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('keeps a __proto__ key as an own property', () => {
    const path = join(folder, 'proto.pt');
    const tensors = Object.defineProperty({}, '__proto__', { value: native.ones([1]), enumerable: true });
    native.saveCheckpoint(path, tensors, '{}');
    const loaded = native.loadCheckpoint(path);
    expect(Object.getPrototypeOf(loaded.tensors)).toBe(Object.prototype);
    expect(Object.keys(loaded.tensors)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(loaded.tensors, '__proto__')?.value.shape).toEqual([1]);
  });

  it('fails: a missing file names the path', () => {
    const path = join(folder, 'absent.pt');
    expectNativeError(() => native.loadCheckpoint(path), Error, 'ERR_CHECKPOINT', new RegExp(`^${path}: could not open the checkpoint: No such file or directory$`));
  });

  it('fails: a corrupt file names the path', () => {
    const path = join(folder, 'corrupt.pt');
    writeFileSync(path, 'not a checkpoint');
    expectNativeError(() => native.loadCheckpoint(path), Error, 'ERR_CHECKPOINT', new RegExp(`^${path}: is not a zip archive written by torch\\.save`));
  });

  it('fails: saving into a missing folder names the path', () => {
    const path = join(folder, 'missing', 'model.pt');
    expectNativeError(() => native.saveCheckpoint(path, { a: native.ones([1]) }, '{}'), Error, 'ERR_CHECKPOINT', new RegExp(`^${path}: could not create a temporary file`));
  });

  it('rejects: a non-tensor value', () => {
    expectNativeError(
      () => native.saveCheckpoint(join(folder, 'bad.pt'), { a: 1 as never }, '{}'),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /saveCheckpoint: tensors\['a'\] must be a Tensor; got 1/,
    );
  });

  it.skipIf(!hasPythonTorch)('writes files that torch.load reads', () => {
    const path = join(folder, 'for-python.pt');
    native.saveCheckpoint(path, { 'outc.bias': native.tensor([1.5, -2], [2]), mask: native.tensor([1, 0], [2], 'bool') }, '{"in_channels":1}');
    const output = python(
      `import json, torch; d = torch.load(${JSON.stringify(path)}); ` +
        `print(json.dumps({'keys': list(d['state_dict']), 'bias': d['state_dict']['outc.bias'].tolist(), ` +
        `'mask': str(d['state_dict']['mask'].dtype), 'metadata': d['metadata']}))`,
    );
    expect(JSON.parse(output!)).toEqual({ keys: ['outc.bias', 'mask'], bias: [1.5, -2], mask: 'torch.bool', metadata: '{"in_channels":1}' });
  });

  it.skipIf(!hasPythonTorch)('reads a state_dict saved by torch.save', () => {
    const path = join(folder, 'from-python.pt');
    python(
      'import torch; torch.manual_seed(0); ' +
        'm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ConvTranspose2d(2, 1, 2, 2)); ' +
        `torch.save(m.state_dict(), ${JSON.stringify(path)}); ` +
        `torch.save({'only': torch.arange(3.)}, ${JSON.stringify(path + '.single')})`,
    );
    const loaded = native.loadCheckpoint(path);
    expect(loaded.metadata).toBeNull();
    expect(Object.keys(loaded.tensors)).toEqual([
      '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '2.weight', '2.bias',
    ]);
    expect(loaded.tensors['2.weight']!.shape).toEqual([2, 1, 2, 2]);
    const expectedWeight = JSON.parse(python(`import json, torch; print(json.dumps(torch.load(${JSON.stringify(path)})['0.weight'].flatten().tolist()))`)!);
    expect(Array.from(loaded.tensors['0.weight']!.data() as Float32Array)).toEqual(expectedWeight.map(Math.fround));
    // A dict with one entry is pickled with SETITEM rather than SETITEMS.
    expect(Array.from(native.loadCheckpoint(path + '.single').tensors['only']!.data() as Float32Array)).toEqual([0, 1, 2]);
  });
});
