// SPDX-License-Identifier: MIT
//
// Gradients, grad mode and autocast through the native addon.

import { afterEach, describe, expect, it } from 'vitest';

import { native } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

describe('autograd', () => {
  afterEach(() => native.setGradEnabled(true));

  it('computes the gradient of a sum of squares', () => {
    const x = native.tensor([1, -2, 3], [3], 'float32', 'cpu', true);
    expect(x.requiresGrad).toBe(true);
    const loss = x.mul(x).sum();
    expect(loss.isLeaf).toBe(false);
    loss.backward();
    expect(Array.from(x.grad!.data() as Float32Array)).toEqual([2, -4, 6]);
  });

  it('accumulates gradients over two backward passes', () => {
    const x = native.tensor([1, 2], [2], 'float32', 'cpu', true);
    const loss = x.mul(3).sum();
    loss.backward(null, true);
    loss.backward();
    expect(Array.from(x.grad!.data() as Float32Array)).toEqual([6, 6]);
  });

  it('takes an explicit gradient for non-scalar outputs', () => {
    const x = native.tensor([1, 2], [2], 'float32', 'cpu', true);
    x.mul(x).backward(native.tensor([1, 10], [2]));
    expect(Array.from(x.grad!.data() as Float32Array)).toEqual([2, 40]);
  });

  it('fails: backward of a non-scalar without gradient', () => {
    const x = native.tensor([1, 2], [2], 'float32', 'cpu', true);
    expectNativeError(() => x.mul(2).backward(), Error, 'ERR_TORCH', /^backward failed on input \[2\] float32: grad can be implicitly created only for scalar outputs/);
  });

  it('sets and clears the gradient', () => {
    const x = native.zeros([2]);
    x.requiresGrad = true;
    x.setGrad(native.ones([2]));
    expect(Array.from(x.grad!.data() as Float32Array)).toEqual([1, 1]);
    x.setGrad(null);
    expect(x.grad).toBeNull();
  });

  it('rejects: a gradient of another shape', () => {
    const x = native.zeros([2]);
    expectNativeError(() => x.setGrad(native.ones([3])), RangeError, 'ERR_OUT_OF_RANGE', /Tensor\.setGrad: grad must match the tensor's shape, dtype and device \[2\] float32; got \[3\] float32/);
  });

  it('fails: requiresGrad on an integer tensor', () => {
    const ints = native.zeros([2], 'int64');
    expectNativeError(() => (ints.requiresGrad = true), Error, 'ERR_TORCH', /requires_grad_ failed on input \[2\] int64: /);
  });

  it('records no graph with grad mode off', () => {
    const x = native.tensor([1, 2], [2], 'float32', 'cpu', true);
    native.setGradEnabled(false);
    expect(native.isGradEnabled()).toBe(false);
    const y = x.mul(2);
    expect(y.requiresGrad).toBe(false);
    native.setGradEnabled(true);
    expect(native.isGradEnabled()).toBe(true);
    expect(x.mul(2).requiresGrad).toBe(true);
  });

  it('detach leaves the graph', () => {
    const x = native.tensor([1, 2], [2], 'float32', 'cpu', true);
    const detached = x.mul(2).detach();
    expect(detached.requiresGrad).toBe(false);
    expect(detached.isLeaf).toBe(true);
  });
});

describe('autocast', () => {
  afterEach(() => native.setAutocast('cpu', false, 'bfloat16'));

  it('runs conv2d in bfloat16 on the CPU', () => {
    const input = native.randn([1, 2, 5, 5]);
    const weight = native.randn([3, 2, 3, 3]);
    native.setAutocast('cpu', true, 'bfloat16');
    expect(native.isAutocastEnabled('cpu')).toBe(true);
    expect(native.conv2d(input, weight, null, [1, 1], [1, 1], [1, 1], 1).dtype).toBe('bfloat16');
    native.setAutocast('cpu', false, 'bfloat16');
    expect(native.isAutocastEnabled('cpu')).toBe(false);
    expect(native.conv2d(input, weight, null, [1, 1], [1, 1], [1, 1], 1).dtype).toBe('float32');
  });

  it('rejects: an autocast dtype that is not half precision', () => {
    expectNativeError(() => native.setAutocast('cpu', true, 'float32'), RangeError, 'ERR_OUT_OF_RANGE', /setAutocast: dtype must be 'bfloat16' or 'float16'/);
  });

  it('rejects: an unknown device type', () => {
    expectNativeError(() => native.isAutocastEnabled('tpu' as never), RangeError, 'ERR_OUT_OF_RANGE', /isAutocastEnabled: deviceType must be 'cpu' or 'cuda'/);
  });
});
