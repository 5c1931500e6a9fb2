// SPDX-License-Identifier: MIT
//
// torch.nn.functional: the stateless operations that layers are built from, with PyTorch's
// argument names and defaults. Spatial arguments are a number or a [height, width] pair.

import { native, type Reduction } from '../native.js';
import { checkTensor, formatShape, type Tensor } from '../tensor.js';
import { checkBoolean, checkInt, checkNumber, checkOneOf, checkOptions, rangeError, typeError } from '../validate.js';

/** A size for both spatial dimensions, or a `[height, width]` pair. */
export type Size2 = number | [number, number];

/** Expands a {@link Size2} into a pair after checking each entry is an integer >= `min`. */
export function toPair(name: string, value: unknown, min: number): [number, number] {
  if (typeof value === 'number') {
    checkInt(name, value, min);
    return [value, value];
  }
  if (!Array.isArray(value) || value.length !== 2) throw typeError(name, 'a number or a [height, width] pair', value);
  checkInt(`${name}[0]`, value[0], min);
  checkInt(`${name}[1]`, value[1], min);
  return [value[0] as number, value[1] as number];
}

function checkRank(name: string, input: Tensor, rank: number, layout: string): void {
  if (input.dim() !== rank) {
    throw rangeError(name, `a ${rank}-D tensor ${layout}`, formatShape(input.shape));
  }
}

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  bias?: Tensor | null;
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
}

/**
 * 2-D convolution, as `F.conv2d`.
 *
 * @param input - `[B, C_in, H, W]`.
 * @param weight - `[C_out, C_in / groups, kH, kW]`.
 * @param options - `bias` `[C_out]` or null, `stride` (1), `padding` (0), `dilation` (1), `groups` (1).
 * @returns `[B, C_out, H_out, W_out]`.
 * @see https://pytorch.org/docs/stable/generated/torch.nn.functional.conv2d.html
 */
export function conv2d(input: Tensor, weight: Tensor, options?: Conv2dOptions): Tensor {
  checkTensor('input', input);
  checkTensor('weight', weight);
  const opts = checkOptions<Conv2dOptions>('options', options);
  const bias = opts.bias == null ? null : checkTensor('options.bias', opts.bias);
  checkRank('input', input, 4, '[B, C, H, W]');
  return native.conv2d(
    input,
    weight,
    bias,
    toPair('options.stride', opts.stride ?? 1, 1),
    toPair('options.padding', opts.padding ?? 0, 0),
    toPair('options.dilation', opts.dilation ?? 1, 1),
    checkInt('options.groups', opts.groups ?? 1, 1),
  );
}

/** Options of {@link convTranspose2d}. */
export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Size2;
}

/**
 * 2-D transposed convolution, as `F.conv_transpose2d`.
 *
 * @param input - `[B, C_in, H, W]`.
 * @param weight - `[C_in, C_out / groups, kH, kW]`.
 * @param options - `bias` `[C_out]` or null, `stride` (1), `padding` (0), `outputPadding` (0),
 *   `groups` (1), `dilation` (1).
 * @returns `[B, C_out, H_out, W_out]`.
 * @see https://pytorch.org/docs/stable/generated/torch.nn.functional.conv_transpose2d.html
 */
export function convTranspose2d(input: Tensor, weight: Tensor, options?: ConvTranspose2dOptions): Tensor {
  checkTensor('input', input);
  checkTensor('weight', weight);
  const opts = checkOptions<ConvTranspose2dOptions>('options', options);
  const bias = opts.bias == null ? null : checkTensor('options.bias', opts.bias);
  checkRank('input', input, 4, '[B, C, H, W]');
  return native.convTranspose2d(
    input,
    weight,
    bias,
    toPair('options.stride', opts.stride ?? 1, 1),
    toPair('options.padding', opts.padding ?? 0, 0),
    toPair('options.outputPadding', opts.outputPadding ?? 0, 0),
    checkInt('options.groups', opts.groups ?? 1, 1),
    toPair('options.dilation', opts.dilation ?? 1, 1),
  );
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use batch statistics (and update the running ones in place); default false. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over the channel dimension, as `F.batch_norm`.
 *
 * @param input - `[B, C, ...]`.
 * @param runningMean - `[C]` or null.
 * @param runningVar - `[C]` or null.
 * @param options - `weight`, `bias`, `training` (false), `momentum` (0.1), `eps` (1e-5).
 * @returns A tensor shaped like `input`.
 * @see https://pytorch.org/docs/stable/generated/torch.nn.functional.batch_norm.html
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options?: BatchNormOptions): Tensor {
  checkTensor('input', input);
  if (runningMean !== null) checkTensor('runningMean', runningMean);
  if (runningVar !== null) checkTensor('runningVar', runningVar);
  const opts = checkOptions<BatchNormOptions>('options', options);
  const weight = opts.weight == null ? null : checkTensor('options.weight', opts.weight);
  const bias = opts.bias == null ? null : checkTensor('options.bias', opts.bias);
  const training = checkBoolean('options.training', opts.training ?? false);
  const momentum = checkNumber('options.momentum', opts.momentum ?? 0.1, 0, 1);
  const eps = checkNumber('options.eps', opts.eps ?? 1e-5, 0);
  if (!training && (runningMean === null || runningVar === null)) {
    throw rangeError('runningMean', 'a tensor when `training` is false (evaluation normalises with running statistics)', null);
  }
  return native.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps);
}

/** Options of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Default: `kernelSize`. */
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

/**
 * 2-D max pooling, as `F.max_pool2d`.
 *
 * @param input - `[B, C, H, W]`.
 * @param kernelSize - Window size.
 * @param options - `stride` (= `kernelSize`), `padding` (0, at most half the kernel), `dilation` (1), `ceilMode` (false).
 * @returns `[B, C, H_out, W_out]`.
 * @see https://pytorch.org/docs/stable/generated/torch.nn.functional.max_pool2d.html
 */
export function maxPool2d(input: Tensor, kernelSize: Size2, options?: MaxPool2dOptions): Tensor {
  checkTensor('input', input);
  checkRank('input', input, 4, '[B, C, H, W]');
  const opts = checkOptions<MaxPool2dOptions>('options', options);
  const kernel = toPair('kernelSize', kernelSize, 1);
  const stride = opts.stride === undefined ? kernel : toPair('options.stride', opts.stride, 1);
  const padding = toPair('options.padding', opts.padding ?? 0, 0);
  checkPoolPadding(padding, kernel);
  const dilation = toPair('options.dilation', opts.dilation ?? 1, 1);
  return native.maxPool2d(input, kernel, stride, padding, dilation, checkBoolean('options.ceilMode', opts.ceilMode ?? false));
}

/** Throws a RangeError for pooling padding above half the kernel size, which PyTorch rejects. */
export function checkPoolPadding(padding: Size2, kernelSize: Size2): void {
  const pair = toPair('padding', padding, 0);
  const kernel = toPair('kernelSize', kernelSize, 1);
  if (pair[0] > kernel[0] / 2 || pair[1] > kernel[1] / 2) {
    throw rangeError('padding', `at most half of \`kernelSize\` ${formatShape(kernel)}`, padding);
  }
}

/** Element-wise `max(0, x)`, as `F.relu`; with `inplace`, `input` is overwritten and returned. */
export function relu(input: Tensor, inplace = false): Tensor {
  if (checkBoolean('inplace', inplace)) return native.relu_(checkTensor('input', input));
  return native.relu(checkTensor('input', input));
}

/** Element-wise logistic function, as `torch.sigmoid`. */
export function sigmoid(input: Tensor): Tensor {
  return native.sigmoid(checkTensor('input', input));
}

/** Softmax along `dim`, as `F.softmax`. */
export function softmax(input: Tensor, dim: number): Tensor {
  checkTensor('input', input);
  return native.softmax(input, checkInt('dim', dim));
}

/** Log-softmax along `dim`, as `F.log_softmax`. */
export function logSoftmax(input: Tensor, dim: number): Tensor {
  checkTensor('input', input);
  return native.logSoftmax(input, checkInt('dim', dim));
}

/**
 * Pads the last dimensions, as `F.pad`.
 *
 * @param input - Any tensor.
 * @param pad - `(left, right, top, bottom, ...)` from the last dimension backwards; an even
 *   number of integers (negative values crop).
 * @param mode - 'constant' (default), 'reflect' or 'replicate'.
 * @param value - Fill value for 'constant'; default 0.
 * @see https://pytorch.org/docs/stable/generated/torch.nn.functional.pad.html
 */
export function pad(input: Tensor, pad: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  checkTensor('input', input);
  if (!Array.isArray(pad) || pad.length % 2 !== 0 || pad.length / 2 > input.dim()) {
    throw typeError('pad', `an even number of integers, at most 2 per dimension of \`input\` (${input.dim()})`, pad);
  }
  pad.forEach((p, i) => checkInt(`pad[${i}]`, p));
  checkOneOf('mode', mode, ['constant', 'reflect', 'replicate'] as const);
  return native.pad(input, pad, mode, checkNumber('value', value));
}

/**
 * Class indices to one-hot vectors along a new last dimension, as `F.one_hot`.
 *
 * @param indices - An int64 tensor of values in [0, numClasses).
 * @param numClasses - Number of classes.
 * @returns An int64 tensor shaped `[...indices.shape, numClasses]`.
 */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  checkTensor('indices', indices);
  if (indices.dtype !== 'int64') throw rangeError('indices', 'an int64 tensor', indices.dtype);
  return native.oneHot(indices, checkInt('numClasses', numClasses, 1));
}

/**
 * Binary cross-entropy on logits, as `F.binary_cross_entropy_with_logits`.
 *
 * @param input - Logits of any shape.
 * @param target - Probabilities in [0, 1], shaped like `input`.
 * @param reduction - 'mean' (default), 'sum' or 'none'.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkTensor('input', input);
  checkTensor('target', target);
  checkOneOf('reduction', reduction, ['mean', 'sum', 'none'] as const);
  return native.binaryCrossEntropyWithLogits(input, target, null, reduction, null);
}

/**
 * Cross-entropy of logits against class indices, as `F.cross_entropy`.
 *
 * @param input - Logits `[B, K, ...]`.
 * @param target - int64 class indices `[B, ...]`.
 * @param reduction - 'mean' (default), 'sum' or 'none'.
 * @param ignoreIndex - Target value that contributes nothing; default -100.
 */
export function crossEntropy(input: Tensor, target: Tensor, reduction: Reduction = 'mean', ignoreIndex = -100): Tensor {
  checkTensor('input', input);
  checkTensor('target', target);
  checkOneOf('reduction', reduction, ['mean', 'sum', 'none'] as const);
  return native.crossEntropy(input, target, null, reduction, checkInt('ignoreIndex', ignoreIndex));
}
