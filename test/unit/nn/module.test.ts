// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, Module, ReLU, Sequential } from '../../../lib/nn/index.js';
import { native } from '../../../lib/native.js';
import { manualSeed, ones, randn, tidy, zeros, type Tensor } from '../../../lib/tensor.js';

import { liveTensorsAfterGc } from '../gc.js';
class Block extends Module {
  readonly body: Sequential;
  constructor() {
    super();
    this.registerParameter('scale', ones([1], { requiresGrad: true }));
    this.registerBuffer('steps', zeros([1]));
    this.registerBuffer('scratch', zeros([1]), { persistent: false });
    this.body = this.registerModule('body', new Sequential(new Conv2d(1, 2, 3, { bias: false }), new BatchNorm2d(2), new ReLU()));
  }
  override forward(x: Tensor): Tensor {
    return this.body.forward(x).mul(this.getParameter('scale'));
  }
}

function values(t: Tensor): number[] {
  return Array.from(t.data() as Float32Array);
}

function expectStateDictError(call: () => unknown, pattern: RegExp): void {
  expect(call).toThrow(Error);
  expect(call).toThrow(expect.objectContaining({ code: 'ERR_STATE_DICT', message: expect.stringMatching(pattern) }));
}

describe('Module', () => {
  it('names parameters, buffers and modules as PyTorch does', () => {
    const block = new Block();
    expect(block.namedParameters().map(([name]) => name)).toEqual(['scale', 'body.0.weight', 'body.1.weight', 'body.1.bias']);
    expect(block.namedBuffers().map(([name]) => name)).toEqual([
      'steps',
      'scratch',
      'body.1.running_mean',
      'body.1.running_var',
      'body.1.num_batches_tracked',
    ]);
    expect(block.namedModules().map(([name]) => name)).toEqual(['', 'body', 'body.0', 'body.1', 'body.2']);
    expect(block.children()).toEqual([block.body]);
  });

  it('leaves non-persistent buffers out of the state dict', () => {
    expect([...new Block().stateDict().keys()]).toEqual([
      'scale',
      'steps',
      'body.0.weight',
      'body.1.weight',
      'body.1.bias',
      'body.1.running_mean',
      'body.1.running_var',
      'body.1.num_batches_tracked',
    ]);
  });

  it('propagates train and eval to every descendant', () => {
    const block = new Block();
    block.eval();
    expect(block.modules().every((m) => !m.training)).toBe(true);
    block.train();
    expect(block.modules().every((m) => m.training)).toBe(true);
  });

  it('round-trips a state dict between two instances', () => {
    manualSeed(5);
    const source = new Block();
    source.forward(randn([2, 1, 5, 5]));
    const target = new Block();
    const result = target.loadStateDict(source.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const a = source.stateDict();
    for (const [key, value] of target.stateDict()) {
      expect(Array.from(value.data() as Float32Array), key).toEqual(Array.from(a.get(key)!.data() as Float32Array));
    }
    expect(target.getParameter('scale').requiresGrad).toBe(true);
  });

  it('loads state dicts given as plain objects', () => {
    const target = new Conv2d(1, 1, 1);
    target.loadStateDict({ weight: ones([1, 1, 1, 1]), bias: zeros([1]) });
    expect(values(target.weight)).toEqual([1]);
    expect(values(target.bias!)).toEqual([0]);
  });

  it('fails: strict load names missing keys', () => {
    const dict = new Block().stateDict();
    dict.delete('body.1.running_var');
    expectStateDictError(() => new Block().loadStateDict(dict), /missing keys: body\.1\.running_var/);
  });

  it('fails: strict load names unexpected keys', () => {
    const dict = new Block().stateDict();
    dict.set('body.9.weight', ones([1]));
    expectStateDictError(() => new Block().loadStateDict(dict), /unexpected keys: body\.9\.weight/);
  });

  it('fails: load names mis-shaped keys with both shapes, even when not strict', () => {
    const dict = new Block().stateDict();
    dict.set('body.0.weight', ones([3, 1, 3, 3]));
    expectStateDictError(
      () => new Block().loadStateDict(dict, { strict: false }),
      /mis-shaped keys: body\.0\.weight \(expected \[2, 1, 3, 3\], got \[3, 1, 3, 3\]\)/,
    );
  });

  it('copies nothing when a check fails', () => {
    const target = new Block();
    const before = values(target.getParameter('scale'));
    const dict = new Block().stateDict();
    dict.set('scale', ones([1]).mul(9));
    dict.delete('steps');
    expect(() => target.loadStateDict(dict)).toThrow();
    expect(values(target.getParameter('scale'))).toEqual(before);
  });

  it('returns missing and unexpected keys when not strict', () => {
    const dict = new Block().stateDict();
    dict.delete('steps');
    dict.set('extra', ones([1]));
    expect(new Block().loadStateDict(dict, { strict: false })).toEqual({ missingKeys: ['steps'], unexpectedKeys: ['extra'] });
  });

  it('rejects: a state dict that is not a map or object', () => {
    const call = (): unknown => new Block().loadStateDict(42 as unknown as Map<string, Tensor>);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^stateDict must be/) }));
  });

  it('rejects: a second registration under one name', () => {
    const module = new Module();
    module.registerParameter('w', null);
    const call = (): unknown => module.registerBuffer('w', zeros([1]));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^name must be/) }));
  });

  it('zeroGrad drops or zeroes every gradient', () => {
    const block = new Block();
    block.forward(randn([2, 1, 5, 5])).sum().backward();
    block.zeroGrad({ setToNone: false });
    expect(block.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() === 0)).toBe(true);
    block.zeroGrad();
    expect(block.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('moves to the CPU without replacing tensors already there', () => {
    const block = new Block();
    const before = block.parameters();
    block.to('cpu');
    expect(block.parameters()).toEqual(before);
  });

  it('keeps parameters alive inside a tidy scope', () => {
    const block = tidy(() => new Block());
    expect(block.parameters().every((p) => !p.disposed)).toBe(true);
    expect(block.forward(randn([1, 1, 5, 5])).shape).toEqual([1, 2, 3, 3]);
  });

  it('dispose frees every parameter and buffer', async () => {
    const before = await liveTensorsAfterGc();
    const block = new Block();
    const tensors = [...block.parameters(), ...block.buffers()];
    block.dispose();
    expect(tensors.every((p) => p.disposed)).toBe(true);
    expect(await liveTensorsAfterGc()).toBe(before);
  });

  it('fails: forward of the base class', () => {
    const call = (): unknown => new Module().forward(ones([1]));
    expect(call).toThrow(/^Module\.forward is not implemented/);
  });
});
