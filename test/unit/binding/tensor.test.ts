// SPDX-License-Identifier: MIT
//
// Tensor creation, element copies and the Tensor methods of the native addon.

import { describe, expect, it } from 'vitest';

import { native, type DType, type TypedArray } from '../../../lib/native.js';

interface RoundTripCase {
  dtype: DType;
  data: TypedArray;
  /** What data() returns, when it differs from `data`. */
  expected?: TypedArray;
}

const roundTripCases: RoundTripCase[] = [
  { dtype: 'float32', data: new Float32Array([1.5, -2.25, 3e30, 0]) },
  { dtype: 'float64', data: new Float64Array([1.5, -2.25, 1e300, 0.1]) },
  // Half precision converts on the way in and comes back as float32.
  { dtype: 'float16', data: new Float32Array([1.5, -2.25, 1024, 1 + 1 / 4096]), expected: new Float32Array([1.5, -2.25, 1024, 1]) },
  { dtype: 'bfloat16', data: new Float32Array([1.5, -2.25, 1024, 1 + 1 / 512]), expected: new Float32Array([1.5, -2.25, 1024, 1]) },
  { dtype: 'int64', data: new BigInt64Array([1n, -2n, 1n << 62n, 0n]) },
  { dtype: 'int32', data: new Int32Array([1, -2, 2 ** 30, 0]) },
  { dtype: 'int16', data: new Int16Array([1, -2, 32767, -32768]) },
  { dtype: 'int8', data: new Int8Array([1, -2, 127, -128]) },
  { dtype: 'uint8', data: new Uint8Array([1, 2, 255, 0]) },
  { dtype: 'bool', data: new Uint8Array([0, 1, 7, 0]), expected: new Uint8Array([0, 1, 1, 0]) },
];

describe('tensor', () => {
  it.each(roundTripCases)('round trips $dtype', ({ dtype, data, expected }) => {
    const tensor = native.tensor(data, [2, 2], dtype);
    expect(tensor.dtype).toBe(dtype);
    expect(tensor.shape).toEqual([2, 2]);
    const copy = tensor.data();
    expect(copy.constructor).toBe((expected ?? data).constructor);
    expect(Array.from(copy as ArrayLike<number | bigint>)).toEqual(Array.from((expected ?? data) as ArrayLike<number | bigint>));
  });

  it('takes its dtype from the typed array', () => {
    expect(native.tensor(new Float64Array(2), [2]).dtype).toBe('float64');
    expect(native.tensor(new BigInt64Array(2), [2]).dtype).toBe('int64');
    expect(native.tensor(new Int8Array(2), [2]).dtype).toBe('int8');
    expect(native.tensor(new Uint8Array(2), [2]).dtype).toBe('uint8');
  });

  it('makes float32 from number arrays', () => {
    const tensor = native.tensor([1, 2.5, -3], [3]);
    expect(tensor.dtype).toBe('float32');
    expect(Array.from(tensor.data() as Float32Array)).toEqual([1, 2.5, -3]);
    expect(Array.from(native.tensor([1, 2], [2], 'int64').data() as BigInt64Array)).toEqual([1n, 2n]);
  });

  it('reads a typed array view at its offset', () => {
    const buffer = new Float32Array([9, 1, 2, 3, 9]);
    const view = new Float32Array(buffer.buffer, 4, 3);
    expect(Array.from(native.tensor(view, [3]).data() as Float32Array)).toEqual([1, 2, 3]);
  });

  it('copies the data both ways', () => {
    const source = new Float32Array([1, 2]);
    const tensor = native.tensor(source, [2]);
    source[0] = 5;
    const copy = tensor.data() as Float32Array;
    copy[1] = 7;
    expect(Array.from(tensor.data() as Float32Array)).toEqual([1, 2]);
  });

  it('reports getters of a new tensor', () => {
    const tensor = native.zeros([2, 1, 4, 3]);
    expect(tensor.shape).toEqual([2, 1, 4, 3]);
    expect(tensor.dtype).toBe('float32');
    expect(tensor.device).toBe('cpu');
    expect(tensor.disposed).toBe(false);
    expect(tensor.requiresGrad).toBe(false);
    expect(tensor.isLeaf).toBe(true);
    expect(tensor.grad).toBeNull();
    expect(tensor.numel()).toBe(24);
    expect(tensor.dim()).toBe(4);
    expect(tensor.toString()).toBe('Tensor[2, 1, 4, 3] float32 cpu');
    expect(`${tensor}`).toBe('Tensor[2, 1, 4, 3] float32 cpu');
  });

  it('creates filled and random tensors', () => {
    expect(Array.from(native.ones([3], 'int32').data() as Int32Array)).toEqual([1, 1, 1]);
    expect(Array.from(native.full([2], 2.5, 'float64').data() as Float64Array)).toEqual([2.5, 2.5]);
    expect(native.empty([2, 3]).shape).toEqual([2, 3]);
    expect(Array.from(native.arange(0, 1, 0.25).data() as Float32Array)).toEqual([0, 0.25, 0.5, 0.75]);
    const uniform = native.rand([1000]).data() as Float32Array;
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniform)).toBeLessThan(1);
    expect(native.randn([4], 'float64').dtype).toBe('float64');
  });

  it('repeats random numbers after manualSeed', () => {
    native.manualSeed(7);
    const first = Array.from(native.randn([5]).data() as Float32Array);
    native.manualSeed(7);
    expect(Array.from(native.randn([5]).data() as Float32Array)).toEqual(first);
  });

  it('returns item of a single element', () => {
    expect(native.tensor([2.5], [1]).item()).toBe(2.5);
    expect(native.tensor([1], [], 'bool').item()).toBe(1);
    expect(native.tensor(new BigInt64Array([42n]), [1, 1]).item()).toBe(42);
  });

  it('converts dtypes and devices with to', () => {
    const tensor = native.tensor([1.7, -1.7], [2]);
    const converted = tensor.to('int32');
    expect(converted.dtype).toBe('int32');
    expect(Array.from(converted.data() as Int32Array)).toEqual([1, -1]);
    expect(tensor.to('cpu').device).toBe('cpu');
  });

  it('reshapes and permutes like PyTorch', () => {
    const tensor = native.arange(0, 6, 1).reshape([2, 3]);
    expect(Array.from(tensor.transpose(0, 1).contiguous().data() as Float32Array)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(tensor.permute([1, 0]).shape).toEqual([3, 2]);
    expect(tensor.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(tensor.unsqueeze(0).squeeze().shape).toEqual([2, 3]);
    expect(tensor.unsqueeze(1).squeeze(1).shape).toEqual([2, 3]);
    expect(tensor.reshape([1, 2, 3]).flatten().shape).toEqual([6]);
    expect(tensor.reshape([1, 2, 3]).flatten(1).shape).toEqual([1, 6]);
    expect(Array.from(tensor.narrow(1, 1, 2).contiguous().data() as Float32Array)).toEqual([1, 2, 4, 5]);
    expect(Array.from(tensor.select(0, 1).data() as Float32Array)).toEqual([3, 4, 5]);
    const index = native.tensor(new BigInt64Array([2n, 0n]), [2]);
    expect(Array.from(tensor.indexSelect(1, index).data() as Float32Array)).toEqual([2, 0, 5, 3]);
    expect(native.ones([1, 3]).expand([2, 3]).shape).toEqual([2, 3]);
    expect(native.ones([1, 2, 3, 3]).toChannelsLast().shape).toEqual([1, 2, 3, 3]);
  });

  it('computes element-wise arithmetic', () => {
    const a = native.tensor([1, 2, 3], [3]);
    const b = native.tensor([4, 5, 6], [3]);
    expect(Array.from(a.add(b).data() as Float32Array)).toEqual([5, 7, 9]);
    expect(Array.from(a.add(b, 2).data() as Float32Array)).toEqual([9, 12, 15]);
    expect(Array.from(b.sub(a).data() as Float32Array)).toEqual([3, 3, 3]);
    expect(Array.from(a.sub(1, 2).data() as Float32Array)).toEqual([-1, 0, 1]);
    expect(Array.from(a.mul(b).data() as Float32Array)).toEqual([4, 10, 18]);
    expect(Array.from(b.div(2).data() as Float32Array)).toEqual([2, 2.5, 3]);
    expect(Array.from(a.pow(2).data() as Float32Array)).toEqual([1, 4, 9]);
    expect(Array.from(a.neg().abs().data() as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(native.tensor([4, 9], [2]).sqrt().data() as Float32Array)).toEqual([2, 3]);
    expect(Array.from(a.clamp(1.5, null).data() as Float32Array)).toEqual([1.5, 2, 3]);
    expect(Array.from(a.clamp(null, 2).data() as Float32Array)).toEqual([1, 2, 2]);
    expect(a.exp().log().sub(a).abs().amax().item()).toBeLessThan(1e-6);
    expect(native.tensor([0], [1]).sigmoid().item()).toBe(0.5);
    expect(Array.from(native.tensor([-1, 2], [2]).relu().data() as Float32Array)).toEqual([0, 2]);
  });

  it('keeps integer dtypes for integer numbers', () => {
    const ints = native.tensor(new Int32Array([1, 2]), [2]);
    expect(ints.add(1).dtype).toBe('int32');
    expect(ints.mul(0.5).dtype).toBe('float32');
    expect(ints.div(2).dtype).toBe('float32');
  });

  it('reduces over all or some dimensions', () => {
    const tensor = native.arange(0, 6, 1).reshape([2, 3]);
    expect(tensor.sum().item()).toBe(15);
    expect(tensor.sum().shape).toEqual([]);
    expect(tensor.sum(null, true).shape).toEqual([1, 1]);
    expect(Array.from(tensor.sum([1]).data() as Float32Array)).toEqual([3, 12]);
    expect(tensor.mean([0], true).shape).toEqual([1, 3]);
    expect(tensor.mean().item()).toBe(2.5);
    expect(tensor.amax().item()).toBe(5);
    expect(Array.from(tensor.amin([1]).data() as Float32Array)).toEqual([0, 3]);
    expect(tensor.argmax().item()).toBe(5);
    const rows = tensor.argmax(1, true);
    expect(rows.dtype).toBe('int64');
    expect(rows.shape).toEqual([2, 1]);
    expect(Array.from(native.tensor([1, 3, 2], [1, 3]).softmax(1).sum([1]).data() as Float32Array)[0]).toBeCloseTo(1, 6);
    expect(native.tensor([1, 3], [2]).logSoftmax(0).exp().sum().item()).toBeCloseTo(1, 6);
  });

  it('compares element-wise into bool tensors', () => {
    const a = native.tensor([1, 2, 3], [3]);
    const b = native.tensor([3, 2, 1], [3]);
    expect(a.eq(b).dtype).toBe('bool');
    expect(Array.from(a.eq(b).data() as Uint8Array)).toEqual([0, 1, 0]);
    expect(Array.from(a.ne(2).data() as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(a.gt(b).data() as Uint8Array)).toEqual([0, 0, 1]);
    expect(Array.from(a.ge(2).data() as Uint8Array)).toEqual([0, 1, 1]);
    expect(Array.from(a.lt(b).data() as Uint8Array)).toEqual([1, 0, 0]);
    expect(Array.from(a.le(2).data() as Uint8Array)).toEqual([1, 1, 0]);
    expect(Array.from(a.gt(1).logicalAnd(a.lt(3)).data() as Uint8Array)).toEqual([0, 1, 0]);
    expect(Array.from(a.lt(2).logicalOr(a.gt(2)).data() as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(a.eq(2).logicalNot().data() as Uint8Array)).toEqual([1, 0, 1]);
  });

  it('multiplies matrices', () => {
    const a = native.tensor([1, 2, 3, 4], [2, 2]);
    expect(Array.from(a.matmul(native.tensor([1, 0, 0, 1], [2, 2])).data() as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(a.matmul(a).data() as Float32Array)).toEqual([7, 10, 15, 22]);
  });

  it('modifies in place and returns this', () => {
    const tensor = native.zeros([3]);
    expect(tensor.fill_(2)).toBe(tensor);
    expect(tensor.add_(native.ones([3]), 3)).toBe(tensor);
    expect(tensor.mul_(2)).toBe(tensor);
    expect(Array.from(tensor.data() as Float32Array)).toEqual([10, 10, 10]);
    expect(tensor.copy_(native.tensor([1, 2, 3], [3]))).toBe(tensor);
    expect(Array.from(tensor.data() as Float32Array)).toEqual([1, 2, 3]);
    expect(tensor.zero_()).toBe(tensor);
    expect(tensor.sum().item()).toBe(0);
    const uniform = native.empty([500]).uniform_(2, 3).data() as Float32Array;
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...uniform)).toBeLessThanOrEqual(3);
    const normal = native.empty([5000]).normal_(10, 0.1);
    expect(normal.mean().item()).toBeCloseTo(10, 1);
  });

  it('shares memory between a view and its base', () => {
    const base = native.zeros([2, 2]);
    base.select(0, 1).fill_(1);
    expect(Array.from(base.data() as Float32Array)).toEqual([0, 0, 1, 1]);
  });

  it('joins tensors with cat, stack and where', () => {
    const a = native.tensor([1, 2], [1, 2]);
    const b = native.tensor([3, 4], [1, 2]);
    expect(native.cat([a, b], 0).shape).toEqual([2, 2]);
    expect(Array.from(native.cat([a, b], 1).data() as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(native.stack([a, b], 0).shape).toEqual([2, 1, 2]);
    const condition = native.tensor([1, 0], [1, 2], 'bool');
    expect(Array.from(native.where(condition, a, b).data() as Float32Array)).toEqual([1, 4]);
  });
});
