// SPDX-License-Identifier: MIT
//
// Weight initialisation as torch.nn.init. Every function fills its tensor in place, without
// recording gradients, and returns it.

import { checkTensor, formatShape, noGrad, type Tensor } from '../tensor.js';
import { checkNumber, checkOneOf, checkOptions, isShape, rangeError, typeError } from '../validate.js';

/**
 * Returns `[fanIn, fanOut]` of a weight shape as PyTorch computes them: `fanIn = size(1) * k`
 * and `fanOut = size(0) * k`, where `k` is the product of the remaining (kernel) sizes.
 * For a ConvTranspose2d weight `[in, out / groups, kH, kW]` this makes `fanIn = out / groups * kH * kW`.
 *
 * @param shape - A weight shape with at least 2 dimensions.
 * @throws RangeError for fewer than 2 dimensions.
 * @see https://pytorch.org/docs/stable/nn.init.html
 */
export function calculateFanInAndFanOut(shape: readonly number[]): [number, number] {
  if (!isShape(shape)) throw typeError('shape', 'an array of non-negative integers', shape);
  if (shape.length < 2) {
    throw rangeError('shape', 'a shape with at least 2 dimensions to compute fan in and fan out', [...shape]);
  }
  const receptiveField = shape.slice(2).reduce((product, size) => product * size, 1);
  return [(shape[1] as number) * receptiveField, (shape[0] as number) * receptiveField];
}

/** Non-linearities understood by {@link calculateGain}. */
export type Nonlinearity = 'linear' | 'conv2d' | 'conv_transpose2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

const NONLINEARITIES: readonly Nonlinearity[] = ['linear', 'conv2d', 'conv_transpose2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu'];

/**
 * Returns the recommended gain for a non-linearity, as `torch.nn.init.calculate_gain`.
 *
 * @param nonlinearity - One of {@link Nonlinearity}.
 * @param param - Negative slope for 'leaky_relu'; default 0.01.
 * @see https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.calculate_gain
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  checkOneOf('nonlinearity', nonlinearity, NONLINEARITIES);
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param === undefined ? 0.01 : checkNumber('param', param);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    default:
      return 1;
  }
}

/** Depth of nested {@link skipInit} calls; the random initialisers do nothing while it is above 0. */
let skipDepth = 0;

/**
 * Runs `build` with {@link uniform_}, {@link normal_} and {@link kaimingUniform_} leaving their
 * tensors unfilled, as `torch.nn.utils.skip_init` does in PyTorch. This is for a model whose
 * every parameter is overwritten at once, such as one loaded from a checkpoint: it saves the
 * time of the random fills and leaves the random number generator's state as it was.
 *
 * @param build - Constructs the model; it must not return a promise.
 * @returns What `build` returns.
 * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `build` is not a function.
 * @internal
 */
export function skipInit<T>(build: () => T): T {
  if (typeof build !== 'function') throw typeError('build', 'a function', build);
  skipDepth += 1;
  try {
    return build();
  } finally {
    skipDepth -= 1;
  }
}

/**
 * Fills `tensor` with samples from U(low, high), as `torch.nn.init.uniform_`.
 *
 * @returns `tensor`.
 */
export function uniform_(tensor: Tensor, low = 0, high = 1): Tensor {
  checkTensor('tensor', tensor);
  checkNumber('low', low);
  checkNumber('high', high, low);
  if (skipDepth > 0) return tensor;
  return noGrad(() => tensor.uniform_(low, high));
}

/**
 * Fills `tensor` with samples from N(mean, std²), as `torch.nn.init.normal_`.
 *
 * @returns `tensor`.
 */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  checkTensor('tensor', tensor);
  checkNumber('mean', mean);
  checkNumber('std', std, 0);
  if (skipDepth > 0) return tensor;
  return noGrad(() => tensor.normal_(mean, std));
}

/** Fills `tensor` with `value`, as `torch.nn.init.constant_`. @returns `tensor`. */
export function constant_(tensor: Tensor, value: number): Tensor {
  checkTensor('tensor', tensor);
  checkNumber('value', value);
  return noGrad(() => tensor.fill_(value));
}

/** Fills `tensor` with zeros, as `torch.nn.init.zeros_`. @returns `tensor`. */
export function zeros_(tensor: Tensor): Tensor {
  return constant_(tensor, 0);
}

/** Fills `tensor` with ones, as `torch.nn.init.ones_`. @returns `tensor`. */
export function ones_(tensor: Tensor): Tensor {
  return constant_(tensor, 1);
}

/** Options of {@link kaimingUniform_}. */
export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (for 'leaky_relu'); default 0. */
  a?: number;
  /** 'fanIn' (default) keeps the forward pass's variance, 'fanOut' the backward pass's. */
  mode?: 'fanIn' | 'fanOut';
  /** Default 'leaky_relu'. */
  nonlinearity?: Nonlinearity;
}

/**
 * Fills `tensor` with samples from U(-bound, bound), `bound = gain * sqrt(3 / fan)`, as
 * `torch.nn.init.kaiming_uniform_` (He et al., 2015). PyTorch's Conv2d default, `a = sqrt(5)`,
 * gives `bound = 1 / sqrt(fanIn)`.
 *
 * @param tensor - A weight with at least 2 dimensions.
 * @param options - `a`, `mode`, `nonlinearity`.
 * @returns `tensor`.
 * @example
 * kaimingUniform_(weight, { a: Math.sqrt(5) });
 * @see https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.kaiming_uniform_
 */
export function kaimingUniform_(tensor: Tensor, options?: KaimingOptions): Tensor {
  checkTensor('tensor', tensor);
  const opts = checkOptions<KaimingOptions>('options', options);
  const a = opts.a === undefined ? 0 : checkNumber('options.a', opts.a);
  const mode = opts.mode === undefined ? 'fanIn' : checkOneOf('options.mode', opts.mode, ['fanIn', 'fanOut'] as const);
  const nonlinearity = opts.nonlinearity ?? 'leaky_relu';
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor.shape);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  if (fan === 0) throw rangeError('tensor', 'a tensor with a non-zero fan', formatShape(tensor.shape));
  const bound = calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
  if (skipDepth > 0) return tensor;
  return noGrad(() => tensor.uniform_(-bound, bound));
}
