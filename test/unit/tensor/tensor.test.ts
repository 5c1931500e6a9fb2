// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { native } from '../../../lib/native.js';
import {
  arange,
  autocast,
  cat,
  full,
  isGradEnabled,
  keep,
  manualSeed,
  noGrad,
  ones,
  rand,
  randn,
  stack,
  tensor,
  Tensor,
  tidy,
  zeros,
} from '../../../lib/tensor.js';
import { resolveDevice, sameDevice } from '../../../lib/device.js';
import { Conv2d } from '../../../lib/nn/conv.js';

const live = (): number => native.memoryStats().liveTensors;

describe('tensor', () => {
  it.each([
    // data, shape, expected dtype
    [new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'float32'],
    [new Float64Array([1, 2]), [2, 1], 'float64'],
    [new Int32Array([1, 2, 3]), [3], 'int32'],
    [new Uint8Array([0, 1, 1, 0]), [2, 2], 'uint8'],
    [[1.5, 2.5], [2], 'float32'],
  ] as const)('keeps the data, shape and dtype of %o', (data, shape, dtype) => {
    const t = tensor(data as Float32Array, [...shape]);
    expect(t.shape).toEqual(shape);
    expect(t.dtype).toBe(dtype);
    expect(Array.from(t.data() as Float32Array)).toEqual(Array.from(data as ArrayLike<number>));
    expect(t).toBeInstanceOf(Tensor);
    t.dispose();
  });

  it('converts to the requested dtype', () => {
    const t = tensor([1, 2, 3], [3], { dtype: 'int64' });
    expect(t.dtype).toBe('int64');
    expect(Array.from(t.data() as BigInt64Array)).toEqual([1n, 2n, 3n]);
  });

  it('creates a leaf that requires grad', () => {
    const t = tensor([1, 2], [2], { requiresGrad: true });
    expect(t.requiresGrad).toBe(true);
    expect(t.isLeaf).toBe(true);
  });

  it('rejects: a shape that does not match the data', () => {
    const call = (): unknown => tensor(new Float32Array(6), [4, 2]);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^shape must be/) }));
  });

  it('rejects: an unknown dtype', () => {
    const call = (): unknown => tensor([1], [1], { dtype: 'float8' as 'float32' });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/options\.dtype/) }));
  });

  it('rejects: a misspelt device', () => {
    const call = (): unknown => zeros([2], { device: 'gpu' });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/options\.device/) }));
  });

  it('rejects: data that is not numeric', () => {
    const call = (): unknown => tensor(['a'] as unknown as number[], [1]);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^data must be/) }));
  });

  it('rejects: requiresGrad on an integer dtype', () => {
    const call = (): unknown => zeros([2], { dtype: 'int64', requiresGrad: true });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/options\.requiresGrad/) }));
  });
});

describe('factories', () => {
  it.each([
    ['zeros', () => zeros([2, 3]), 0],
    ['ones', () => ones([2, 3]), 1],
    ['full', () => full([2, 3], 7), 7],
  ] as const)('%s fills every element', (_name, make, value) => {
    const t = make();
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data() as Float32Array)).toEqual(new Array(6).fill(value));
  });

  it('arange counts up to the end', () => {
    expect(Array.from(arange(0, 5).data() as Float32Array)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects: an arange step of zero', () => {
    const call = (): unknown => arange(0, 5, 0);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^step must be/) }));
  });

  it('rejects: random samples of an integer dtype', () => {
    const call = (): unknown => randn([2], { dtype: 'int32' });
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/options\.dtype/) }));
  });

  it('cat and stack join tensors', () => {
    const a = ones([2, 3]);
    const b = zeros([2, 3]);
    expect(cat([a, b], 1).shape).toEqual([2, 6]);
    expect(stack([a, b]).shape).toEqual([2, 2, 3]);
  });

  it('rejects: cat of an empty list', () => {
    const call = (): unknown => cat([]);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^tensors must be/) }));
  });

  it('manualSeed makes samples repeatable', () => {
    manualSeed(42);
    const first = Array.from(rand([8]).data() as Float32Array);
    manualSeed(42);
    const second = Array.from(rand([8]).data() as Float32Array);
    expect(second).toEqual(first);
  });

  it('rejects: a negative seed', () => {
    const call = (): unknown => manualSeed(-1);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^seed must be/) }));
  });
});

describe('noGrad', () => {
  it('turns gradients off inside and restores them after', () => {
    expect(isGradEnabled()).toBe(true);
    const x = ones([2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2);
    });
    expect(y.requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);
  });

  it('restores the mode when fn throws', () => {
    expect(() =>
      noGrad(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(isGradEnabled()).toBe(true);
  });

  it('rejects: an async function', () => {
    const call = (): unknown => noGrad(async () => 1);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^fn must be/) }));
    expect(isGradEnabled()).toBe(true);
  });
});

describe('tidy', () => {
  it('frees intermediates and keeps the returned tensor', () => {
    const x = ones([4]);
    const before = live();
    const result = tidy(() => x.add(1).mul(3).sub(2));
    expect(live()).toBe(before + 1);
    expect(Array.from(result.data() as Float32Array)).toEqual([4, 4, 4, 4]);
  });

  it('keeps tensors inside returned arrays and objects', () => {
    const before = live();
    const out = tidy(() => {
      const a = ones([2]).add(1);
      const b = zeros([2]).sub(1);
      return { pair: [a, b], total: a.add(b), note: 'text' };
    });
    expect(live()).toBe(before + 3);
    expect(out.pair[0]!.disposed).toBe(false);
    expect(out.total.disposed).toBe(false);
  });

  it('nests: an inner result belongs to the outer scope', () => {
    const before = live();
    let inner: Tensor | null = null;
    tidy(() => {
      inner = tidy(() => ones([2]).add(1));
      expect(inner.disposed).toBe(false);
      return null;
    });
    expect((inner as Tensor | null)?.disposed).toBe(true);
    expect(live()).toBe(before);
  });

  it('spares tensors passed to keep', () => {
    let kept: Tensor | null = null;
    tidy(() => {
      kept = keep(ones([2]).mul(5));
    });
    expect((kept as Tensor | null)?.disposed).toBe(false);
    expect(Array.from((kept as unknown as Tensor).data() as Float32Array)).toEqual([5, 5]);
  });

  it('frees everything when fn throws', () => {
    const before = live();
    expect(() =>
      tidy(() => {
        ones([3]).add(1);
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(live()).toBe(before);
  });

  it('keeps autograd working after intermediates are freed', () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    const loss = tidy(() => x.mul(x).mul(2).sum());
    loss.backward();
    expect(Array.from(x.grad!.data() as Float32Array)).toEqual([4, 8, 12]);
  });
});

describe('autocast', () => {
  it('enables CPU autocast inside and restores it after', () => {
    expect(native.isAutocastEnabled('cpu')).toBe(false);
    const inside = autocast('bfloat16', () => native.isAutocastEnabled('cpu'));
    expect(inside).toBe(true);
    expect(native.isAutocastEnabled('cpu')).toBe(false);
  });

  it('runs convolutions in bfloat16 inside', () => {
    const conv = new Conv2d(1, 2, 3);
    const x = randn([1, 1, 8, 8]);
    expect(autocast('bfloat16', () => conv.forward(x)).dtype).toBe('bfloat16');
    expect(conv.forward(x).dtype).toBe('float32');
  });

  it('rejects: an unsupported dtype', () => {
    const call = (): unknown => autocast('float64' as 'bfloat16', () => 1);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^dtype must be/) }));
  });
});

describe('resolveDevice', () => {
  it.each([
    ['cpu', 'cpu'],
    ['auto', native.cudaIsAvailable() ? 'cuda:0' : 'cpu'],
  ])('resolves %s', (spec, expected) => {
    expect(resolveDevice(spec)).toBe(expected);
  });

  it('treats cuda and cuda:0 as the same device', () => {
    expect(sameDevice('cuda', 'cuda:0')).toBe(true);
    expect(sameDevice('cpu', 'cuda:0')).toBe(false);
  });

  it.skipIf(native.cudaIsAvailable())('fails: cuda without CUDA (skipped: this machine has CUDA)', () => {
    const call = (): unknown => resolveDevice('cuda');
    expect(call).toThrow(Error);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_CUDA_UNAVAILABLE', message: expect.stringMatching(/"cuda" is unavailable/) }));
  });

  it('rejects: an unknown device name', () => {
    const call = (): unknown => resolveDevice('tpu');
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^device must be/) }));
  });
});
