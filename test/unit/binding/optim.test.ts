// SPDX-License-Identifier: MIT
//
// The Adam and SGD optimizers of the native addon against their textbook update rules.

import { describe, expect, it } from 'vitest';

import { native, type NativeTensor } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

const values = (tensor: NativeTensor): number[] => Array.from(tensor.data() as Float32Array);

/** Creates a leaf parameter with `initial` values and sets its gradient to `gradient`. */
function parameter(initial: number[], gradient: number[]): NativeTensor {
  const param = native.tensor(initial, [initial.length], 'float32', 'cpu', true);
  param.setGrad(native.tensor(gradient, [gradient.length]));
  return param;
}

const adamDefaults = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, amsgrad: false };
const sgdDefaults = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

describe('Adam', () => {
  it('takes one step by the textbook formula', () => {
    const initial = [1, -2, 0.5];
    const gradient = [0.3, -0.1, 2];
    const options = { ...adamDefaults, weightDecay: 0.01 };
    const param = parameter(initial, gradient);
    new native.Adam([param], options).step();
    initial.forEach((p0, i) => {
      const g = gradient[i]! + options.weightDecay * p0;
      const mHat = ((1 - options.beta1) * g) / (1 - options.beta1);
      const vHat = ((1 - options.beta2) * g * g) / (1 - options.beta2);
      expect(values(param)[i]).toBeCloseTo(p0 - (options.lr * mHat) / (Math.sqrt(vHat) + options.eps), 5);
    });
  });

  it('updates the tensor that JavaScript holds', () => {
    const param = parameter([1], [1]);
    const alias = param.detach();
    new native.Adam([param], adamDefaults).step();
    expect(values(alias)[0]).toBeCloseTo(0.9, 5);
  });

  it('reads and sets the learning rate', () => {
    const optimizer = new native.Adam([parameter([1], [1])], adamDefaults);
    expect(optimizer.lr).toBe(0.1);
    optimizer.lr = 0.01;
    expect(optimizer.lr).toBe(0.01);
  });

  it('rejects: an empty parameter list', () => {
    expectNativeError(() => new native.Adam([], adamDefaults), RangeError, 'ERR_OUT_OF_RANGE', /Adam: params must be a non-empty array of Tensors; got \[\]/);
  });

  it('rejects: a non-leaf parameter', () => {
    const leaf = parameter([1], [1]);
    expectNativeError(() => new native.Adam([leaf.mul(2)], adamDefaults), RangeError, 'ERR_OUT_OF_RANGE', /Adam: params\[0\] must be a leaf tensor/);
  });

  it('rejects: a missing option', () => {
    const { lr: _lr, ...withoutLr } = adamDefaults;
    expectNativeError(() => new native.Adam([parameter([1], [1])], withoutLr as never), TypeError, 'ERR_INVALID_ARG_TYPE', /Adam: options\.lr must be a number; got undefined/);
  });

  it('fails: a negative learning rate', () => {
    expectNativeError(() => new native.Adam([parameter([1], [1])], { ...adamDefaults, lr: -1 }), Error, 'ERR_TORCH', /^Adam failed: Invalid learning rate: -1/);
  });

  it('fails: use after dispose', () => {
    const optimizer = new native.Adam([parameter([1], [1])], adamDefaults);
    optimizer.dispose();
    expectNativeError(() => optimizer.step(), Error, 'ERR_TENSOR_DISPOSED', /Adam\.step: the optimizer was disposed/);
  });
});

describe('SGD', () => {
  it('takes one step with weight decay', () => {
    const param = parameter([1, -2], [0.5, 0.5]);
    new native.SGD([param], { ...sgdDefaults, weightDecay: 0.1 }).step();
    // p - lr * (g + weight_decay * p)
    expect(values(param)[0]).toBeCloseTo(1 - 0.1 * (0.5 + 0.1 * 1), 6);
    expect(values(param)[1]).toBeCloseTo(-2 - 0.1 * (0.5 + 0.1 * -2), 6);
  });

  it('applies momentum and dampening on the second step', () => {
    const options = { ...sgdDefaults, momentum: 0.9, dampening: 0.5 };
    const param = parameter([1], [1]);
    const optimizer = new native.SGD([param], options);
    optimizer.step();
    param.setGrad(native.tensor([2], [1]));
    optimizer.step();
    // Step 1: buffer = g1. Step 2: buffer = momentum * buffer + (1 - dampening) * g2.
    const buffer2 = 0.9 * 1 + 0.5 * 2;
    expect(values(param)[0]).toBeCloseTo(1 - 0.1 * 1 - 0.1 * buffer2, 6);
  });

  it('applies Nesterov momentum', () => {
    const param = parameter([1], [1]);
    new native.SGD([param], { ...sgdDefaults, momentum: 0.9, nesterov: true }).step();
    // update = g + momentum * buffer, with buffer = g on the first step.
    expect(values(param)[0]).toBeCloseTo(1 - 0.1 * (1 + 0.9 * 1), 6);
  });

  it('zeroes or drops gradients', () => {
    const param = parameter([1, 2], [3, 4]);
    const optimizer = new native.SGD([param], sgdDefaults);
    optimizer.zeroGrad(false);
    expect(values(param.grad!)).toEqual([0, 0]);
    optimizer.zeroGrad();
    expect(param.grad).toBeNull();
  });
});
