// SPDX-License-Identifier: MIT
//
// Memory scopes, keep() and memoryStats() of the native addon.

import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

describe('scopes', () => {
  it('disposes tensors created inside the scope', () => {
    const before = native.ones([2]);
    const marker = native.scopeBegin();
    const inside = native.ones([2]);
    const derived = inside.add(1);
    native.scopeEnd(marker, []);
    expect(before.disposed).toBe(false);
    expect(inside.disposed).toBe(true);
    expect(derived.disposed).toBe(true);
  });

  it('hands kept tensors to the enclosing scope', () => {
    const outer = native.scopeBegin();
    const inner = native.scopeBegin();
    const result = native.ones([2]).mul(3);
    native.scopeEnd(inner, [result]);
    expect(result.disposed).toBe(false);
    expect(result.sum().item()).toBe(6);
    native.scopeEnd(outer, []);
    expect(result.disposed).toBe(true);
  });

  it('never disposes tensors passed to keep', () => {
    const outer = native.scopeBegin();
    const inner = native.scopeBegin();
    const weight = native.keep(native.zeros([2]));
    native.scopeEnd(inner, []);
    native.scopeEnd(outer, []);
    expect(weight.disposed).toBe(false);
  });

  it('counts grad handles as scope members', () => {
    const x = native.tensor([1, 2], [2], 'float32', 'cpu', true);
    x.mul(x).sum().backward();
    const marker = native.scopeBegin();
    const grad = x.grad!;
    native.scopeEnd(marker, []);
    expect(grad.disposed).toBe(true);
    // The gradient itself lives on in the parameter.
    expect(Array.from(x.grad!.data() as Float32Array)).toEqual([2, 4]);
  });

  it('rejects: a keep list with something else', () => {
    const marker = native.scopeBegin();
    expectNativeError(() => native.scopeEnd(marker, [1 as never]), TypeError, 'ERR_INVALID_ARG_TYPE', /scopeEnd: keep\[0\] must be a Tensor; got 1/);
    native.scopeEnd(marker, []);
  });
});

describe('memoryStats', () => {
  it('counts live handles and their CPU bytes', () => {
    const start = native.memoryStats();
    const tensor = native.zeros([256], 'float64');
    const afterCreate = native.memoryStats();
    expect(afterCreate.liveTensors).toBe(start.liveTensors + 1);
    expect(afterCreate.cpuBytes).toBe(start.cpuBytes + 256 * 8);
    expect(afterCreate.cudaBytes).toBe(start.cudaBytes);
    tensor.dispose();
    expect(native.memoryStats()).toEqual(start);
  });

  it('counts a view and its base once', () => {
    const start = native.memoryStats();
    const base = native.zeros([100]);
    const view = base.narrow(0, 0, 10);
    const stats = native.memoryStats();
    expect(stats.liveTensors).toBe(start.liveTensors + 2);
    expect(stats.cpuBytes).toBe(start.cpuBytes + 400);
    base.dispose();
    expect(native.memoryStats().cpuBytes).toBe(start.cpuBytes + 400);
    view.dispose();
    expect(native.memoryStats().cpuBytes).toBe(start.cpuBytes);
  });
});
