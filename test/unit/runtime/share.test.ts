// SPDX-License-Identifier: MIT
//
// The addon's loans (native/share.cc), exercised within one environment: adoption aliases the
// same tensors, a busy loan blocks every handle to them, and the random state round-trips.

import { describe, expect, it } from 'vitest';
import { native } from '../../../lib/native.js';
import { Adam } from '../../../lib/optim/adam.js';
import { nativeOptimizerOf } from '../../../lib/optim/optimizer.js';
import { manualSeed, rand, tensor, zeros } from '../../../lib/tensor.js';
import { expectNativeError } from '../binding/expect-error.js';

describe('shareTensors and adoptTensors', () => {
  it('adopts new handles to the same tensors', () => {
    const source = zeros([3]);
    const id = native.shareTensors([source]);
    const [adopted] = native.adoptTensors(id);
    adopted!.add_(2);
    expect(Array.from(source.data())).toEqual([2, 2, 2]);
    native.releaseShared(id);
    // Adopted handles outlive the loan.
    expect(adopted!.sum().item()).toBe(6);
  });

  it('rebinds target handles to the loaned tensors', () => {
    const source = tensor([1, 2, 3, 4], [2, 2]);
    source.requiresGrad = true;
    const target = zeros([2, 2]);
    const id = native.shareTensors([source]);
    expect(native.adoptTensors(id, [target])).toEqual([target]);
    native.releaseShared(id);
    expect(Array.from(target.data())).toEqual([1, 2, 3, 4]);
    target.mul(3).sum().backward();
    // The gradient lands on the source tensor, because both handles are one at::Tensor.
    expect(Array.from(source.grad!.data())).toEqual([3, 3, 3, 3]);
  });

  it('rejects: targets that do not match the loan', () => {
    const id = native.shareTensors([zeros([2, 2])]);
    expectNativeError(() => native.adoptTensors(id, [zeros([4])]), RangeError, 'ERR_OUT_OF_RANGE', /targets\[0\] must be a tensor like/);
    expectNativeError(() => native.adoptTensors(id, []), RangeError, 'ERR_OUT_OF_RANGE', /targets must be 1 tensors/);
    native.releaseShared(id);
  });

  it('rejects: an id that is not a live loan', () => {
    const id = native.shareTensors([zeros([1])]);
    native.releaseShared(id);
    expectNativeError(() => native.adoptTensors(id), RangeError, 'ERR_OUT_OF_RANGE', /adoptTensors: id must be the id of a loan/);
    expectNativeError(() => native.releaseShared(id), RangeError, 'ERR_OUT_OF_RANGE', /releaseShared: id must be/);
  });

  it('rejects: an optimizer that is not Adam or SGD', () => {
    expectNativeError(() => native.shareTensors([zeros([1])], {} as never), TypeError, 'ERR_INVALID_ARG_TYPE', /shareTensors: optimizer must be/);
  });
});

describe('setSharedBusy', () => {
  it('makes every handle to a lent tensor throw until the loan is free', () => {
    const lent = zeros([2]);
    const other = zeros([2]);
    const id = native.shareTensors([lent]);
    const [alias] = native.adoptTensors(id);
    native.setSharedBusy(id, true);
    expectNativeError(() => lent.add(1), Error, 'ERR_TENSOR_BUSY', /Tensor\.add: the tensor is in use by an off-thread step/);
    expectNativeError(() => alias!.sum(), Error, 'ERR_TENSOR_BUSY', /in use by an off-thread step/);
    expectNativeError(() => other.add(lent), Error, 'ERR_TENSOR_BUSY', /in use by an off-thread step/);
    expect(other.add(1).sum().item()).toBe(2);
    native.setSharedBusy(id, false);
    expect(lent.add(1).sum().item()).toBe(2);
    native.releaseShared(id);
  });

  it('is cleared when the loan is released', () => {
    const lent = zeros([2]);
    const id = native.shareTensors([lent]);
    native.setSharedBusy(id, true);
    native.releaseShared(id);
    expect(lent.sum().item()).toBe(0);
  });

  it('makes the lent optimizer throw too', () => {
    const param = zeros([2]);
    param.requiresGrad = true;
    const optimizer = new Adam([param], { lr: 0.1 });
    const id = native.shareTensors([], nativeOptimizerOf(optimizer));
    native.setSharedBusy(id, true);
    expectNativeError(() => optimizer.step(), Error, 'ERR_TENSOR_BUSY', /Adam\.step: the optimizer is in use/);
    expectNativeError(() => param.sum(), Error, 'ERR_TENSOR_BUSY', /in use by an off-thread step/);
    native.releaseShared(id);
    optimizer.step();
  });
});

describe('adoptOptimizer', () => {
  it('drives the same optimizer state and learning rate', () => {
    const param = tensor([1, 1]);
    param.requiresGrad = true;
    const optimizer = new Adam([param], { lr: 0.1 });
    const id = native.shareTensors([], nativeOptimizerOf(optimizer));
    const adopted = native.adoptOptimizer(id);
    native.releaseShared(id);
    optimizer.lr = 0.5;
    expect(adopted.lr).toBe(0.5);
    param.sum().backward();
    adopted.step();
    // Adam's first step moves each element by lr against the gradient's sign.
    for (const value of param.data()) expect(value).toBeCloseTo(0.5, 6);
    adopted.zeroGrad(true);
    expect(param.grad).toBeNull();
    adopted.dispose();
    optimizer.step();
  });

  it('rejects: a loan made without an optimizer', () => {
    const id = native.shareTensors([zeros([1])]);
    expectNativeError(() => native.adoptOptimizer(id), RangeError, 'ERR_OUT_OF_RANGE', /adoptOptimizer: id must be a loan made with an optimizer/);
    native.releaseShared(id);
  });
});

describe('getRandomState and setRandomState', () => {
  it('repeat the random numbers drawn after the saved state', () => {
    manualSeed(4);
    const state = native.getRandomState();
    const first = Array.from(rand([4]).data());
    native.setRandomState(state);
    expect(Array.from(rand([4]).data())).toEqual(first);
  });
});
