// SPDX-License-Identifier: MIT
//
// How the addon rejects bad arguments and reports libtorch failures.

import { describe, expect, it } from 'vitest';

import { native, type NativeTensor } from '../../../lib/native.js';
import { expectNativeError } from './expect-error.js';

describe('argument checks', () => {
  it('rejects: a number where a tensor belongs', () => {
    expectNativeError(() => native.relu(3 as unknown as NativeTensor), TypeError, 'ERR_INVALID_ARG_TYPE', /^relu: input must be a Tensor; got 3$/);
  });

  it('rejects: a plain object posing as a tensor', () => {
    const impostor = Object.create(native.Tensor.prototype) as NativeTensor;
    expectNativeError(() => native.sigmoid(impostor), TypeError, 'ERR_INVALID_ARG_TYPE', /sigmoid: input must be a Tensor; got an instance of Tensor/);
  });

  it('rejects: a string shape', () => {
    expectNativeError(() => native.zeros('2' as unknown as number[]), TypeError, 'ERR_INVALID_ARG_TYPE', /zeros: shape must be an array of integers; got "2"/);
  });

  it('rejects: a fractional size', () => {
    expectNativeError(() => native.zeros([2, 1.5]), RangeError, 'ERR_OUT_OF_RANGE', /zeros: shape\[1\] must be an integer; got 1\.5/);
  });

  it('rejects: a negative size', () => {
    expectNativeError(() => native.ones([-1]), RangeError, 'ERR_OUT_OF_RANGE', /ones: shape must hold sizes >= 0; got \[-1\]/);
  });

  it('rejects: an unknown dtype', () => {
    expectNativeError(() => native.zeros([1], 'float' as never), RangeError, 'ERR_OUT_OF_RANGE', /zeros: dtype must be one of 'float32'.*; got 'float'/);
  });

  it('rejects: an unknown device', () => {
    expectNativeError(() => native.zeros([1], 'float32', 'gpu'), RangeError, 'ERR_OUT_OF_RANGE', /zeros: device must be 'cpu', 'cuda' or 'cuda:N'; got 'gpu'/);
  });

  it('rejects: data shorter than the shape', () => {
    expectNativeError(() => native.tensor(new Float32Array(5), [2, 3]), RangeError, 'ERR_OUT_OF_RANGE', /data must have 6 elements to fill shape \[2, 3\]; got 5/);
  });

  it('rejects: unsupported typed arrays', () => {
    expectNativeError(() => native.tensor(new Uint16Array(2) as never, [2]), TypeError, 'ERR_INVALID_ARG_TYPE', /tensor: data must be a Float32Array/);
  });

  it('rejects: non-numbers in a number array', () => {
    expectNativeError(() => native.tensor([1, '2'] as never, [2]), TypeError, 'ERR_INVALID_ARG_TYPE', /tensor: data\[1\] must be a number; got "2"/);
  });

  it('rejects: a pair with one element', () => {
    const input = native.zeros([1, 1, 4, 4]);
    const weight = native.zeros([1, 1, 3, 3]);
    expectNativeError(
      () => native.conv2d(input, weight, null, [1] as never, [0, 0], [1, 1], 1),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /conv2d: stride must be an array of two integers; got \[1\]/,
    );
  });

  it('rejects: a boolean where a number belongs', () => {
    expectNativeError(() => native.full([1], true as never), TypeError, 'ERR_INVALID_ARG_TYPE', /full: value must be a number; got true/);
  });

  it('rejects: a wrong type in a tensor method', () => {
    expectNativeError(() => native.ones([2]).add('1' as never), TypeError, 'ERR_INVALID_ARG_TYPE', /Tensor\.add: other must be a Tensor or a number; got "1"/);
  });

  it('rejects: item of many elements', () => {
    expectNativeError(() => native.ones([2, 2]).item(), RangeError, 'ERR_OUT_OF_RANGE', /Tensor\.item: the tensor must have exactly one element; got shape \[2, 2\]/);
  });

  it('rejects: new Tensor() from JavaScript', () => {
    const Tensor = native.Tensor as unknown as new () => NativeTensor;
    expectNativeError(() => new Tensor(), TypeError, 'ERR_INVALID_ARG_TYPE', /Tensor cannot be constructed with `new`/);
  });

  it('rejects: an out-of-range dimension', () => {
    expectNativeError(() => native.ones([2, 2]).select(5, 0), RangeError, 'ERR_OUT_OF_RANGE', /^select failed on input \[2, 2\] float32: Dimension out of range/);
  });
});

describe('libtorch failures', () => {
  it('fails: conv2d with mismatched channels names the op and shapes', () => {
    const input = native.zeros([1, 3, 8, 8]);
    const weight = native.zeros([8, 4, 3, 3]);
    const error = expectNativeError(
      () => native.conv2d(input, weight, null, [1, 1], [0, 0], [1, 1], 1),
      Error,
      'ERR_TORCH',
      /^conv2d failed on input \[1, 3, 8, 8\] float32, weight \[8, 4, 3, 3\] float32: .*channels/,
    );
    expect(error.message).not.toContain('\n');
  });

  it('fails: matmul with incompatible shapes', () => {
    expectNativeError(
      () => native.ones([2, 3]).matmul(native.ones([2, 3])),
      Error,
      'ERR_TORCH',
      /^matmul failed on input \[2, 3\] float32, other \[2, 3\] float32: /,
    );
  });

  it('fails: cat of mismatched tensors lists them', () => {
    expectNativeError(
      () => native.cat([native.ones([2, 3]), native.ones([2, 4])], 0),
      Error,
      'ERR_TORCH',
      /^cat failed on tensors\[0\] \[2, 3\] float32, tensors\[1\] \[2, 4\] float32: /,
    );
  });
});

describe('disposed tensors', () => {
  it('fails: a method of a disposed tensor', () => {
    const tensor = native.ones([2]);
    tensor.dispose();
    expect(tensor.disposed).toBe(true);
    expectNativeError(() => tensor.neg(), Error, 'ERR_TENSOR_DISPOSED', /Tensor\.neg: the tensor was disposed/);
    expectNativeError(() => tensor.shape, Error, 'ERR_TENSOR_DISPOSED', /Tensor\.shape: the tensor was disposed/);
    expect(tensor.toString()).toBe('Tensor (disposed)');
  });

  it('fails: a disposed tensor as an argument', () => {
    const weight = native.ones([2]);
    weight.dispose();
    expectNativeError(() => native.ones([2]).mul(weight), Error, 'ERR_TENSOR_DISPOSED', /Tensor\.mul: other is a disposed tensor/);
  });

  it('dispose twice does nothing', () => {
    const tensor = native.ones([2]);
    tensor.dispose();
    expect(() => tensor.dispose()).not.toThrow();
  });
});

describe('cuda', () => {
  const hasCuda = native.cudaIsAvailable();

  it.skipIf(hasCuda)('fails: a cuda device without CUDA', () => {
    expect(native.cudaDeviceCount()).toBe(0);
    expectNativeError(() => native.zeros([2], 'float32', 'cuda'), Error, 'ERR_CUDA_UNAVAILABLE', /CUDA is not available/);
    expectNativeError(() => native.ones([2]).to('cuda:0'), Error, 'ERR_CUDA_UNAVAILABLE', /CUDA is not available/);
    expectNativeError(() => native.cudaSynchronize(), Error, 'ERR_CUDA_UNAVAILABLE', /CUDA is not available/);
    expectNativeError(() => native.setAutocast('cuda', true, 'float16'), Error, 'ERR_CUDA_UNAVAILABLE', /CUDA is not available/);
  });

  it.skipIf(!hasCuda)('moves tensors to the GPU and back', () => {
    const tensor = native.tensor([1, 2], [2]).to('cuda');
    expect(tensor.device).toBe('cuda:0');
    expect(Array.from(tensor.mul(2).data() as Float32Array)).toEqual([2, 4]);
    expect(native.versions.cuda).toMatch(/^\d+\.\d+$/);
  });
});
