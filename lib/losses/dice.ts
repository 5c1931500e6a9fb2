// SPDX-License-Identifier: MIT
//
// Soft Dice loss for segmentation logits, after MONAI's DiceLoss.

import { Module } from '../nn/module.js';
import { oneHot, sigmoid, softmax } from '../nn/functional.js';
import { checkTensor, formatShape, isFloatingDType, tidy, type Tensor } from '../tensor.js';
import { checkBoolean, checkKnownKeys, checkNumber, checkOneOf, checkOptions, rangeError } from '../validate.js';

/** Activation that {@link DiceLoss} applies to turn logits into probabilities. */
export type DiceActivation = 'auto' | 'sigmoid' | 'softmax' | 'none';

/** Options of {@link DiceLoss}. */
export interface DiceLossOptions {
  /** Added to numerator and denominator so that empty masks are well defined; default 1.0. */
  smooth?: number;
  /**
   * 'auto' (default) applies sigmoid to a one-channel input and softmax over the channels of a
   * multi-channel input. 'sigmoid' on K > 1 channels scores each channel on its own
   * (multi-label), and then the target must have K channels too. 'none' takes the input as
   * probabilities already.
   */
  activation?: DiceActivation;
  /** Score channel 0 (the background of a multi-class output); default true. */
  includeBackground?: boolean;
  /**
   * Sum over the batch before dividing, which gives one Dice per class for the whole batch
   * (default true). With false, one Dice per sample and class is computed and the loss averages them.
   */
  batch?: boolean;
}

const WARNING_CODE = 'MEDUNET_DICE_OPTION_IGNORED';

/**
 * Soft Dice loss: `1 - mean(dice)`, with, for each class k,
 * `dice_k = (2 * sum(p_k * t_k) + smooth) / (sum(p_k) + sum(t_k) + smooth)`,
 * where p are probabilities from the input logits and t is the target.
 *
 * Inputs are logits `[B, K, ...spatial]`. With one channel (K = 1, binary segmentation) the
 * probabilities are `sigmoid(input)` and the target is a `[B, 1, ...]` or `[B, ...]` mask of 0
 * and 1. With K >= 2 classes the probabilities are `softmax(input, 1)` and the target contains class
 * indices `[B, 1, ...]` or `[B, ...]` (turned one-hot), or is already one-hot `[B, K, ...]`.
 * Scoring a two-class output with sigmoid, which treats background and foreground as unrelated
 * labels, needs `activation: 'sigmoid'` explicitly.
 *
 * When both the prediction and the target of a class are empty, its Dice is `smooth / smooth = 1`,
 * so the loss is 0; with `smooth` 0 it is NaN.
 *
 * @example
 * const criterion = new DiceLoss();
 * const loss = criterion.forward(model.forward(images), masks); // scalar
 * loss.backward();
 * @see https://docs.monai.io/en/stable/losses.html#diceloss
 */
export class DiceLoss extends Module {
  readonly smooth: number;
  readonly activation: DiceActivation;
  readonly includeBackground: boolean;
  readonly batch: boolean;
  #warned = false;

  /**
   * @param options - `smooth` (1.0), `activation` ('auto'), `includeBackground` (true), `batch` (true).
   * @throws TypeError or RangeError for invalid options; RangeError for a key that is not one of these.
   */
  constructor(options?: DiceLossOptions) {
    super();
    const opts = checkOptions<DiceLossOptions>('options', options);
    checkKnownKeys('options', opts, ['smooth', 'activation', 'includeBackground', 'batch'], 'DiceLoss');
    this.smooth = checkNumber('options.smooth', opts.smooth ?? 1.0, 0);
    this.activation = checkOneOf('options.activation', opts.activation ?? 'auto', ['auto', 'sigmoid', 'softmax', 'none'] as const);
    this.includeBackground = checkBoolean('options.includeBackground', opts.includeBackground ?? true);
    this.batch = checkBoolean('options.batch', opts.batch ?? true);
  }

  /**
   * @param input - Logits (or probabilities with 'none') `[B, K, ...spatial]`.
   * @param target - `[B, 1, ...]` or `[B, ...]` mask or class indices, or `[B, K, ...]` one-hot.
   * @returns A scalar float32 tensor in [0, 1].
   * @throws RangeError when the shapes do not fit together, softmax meets a single channel, or a
   *   class-label target contains a value that is not an integer in [0, K).
   */
  override forward(input: Tensor, target: Tensor): Tensor {
    checkTensor('input', input);
    checkTensor('target', target);
    if (input.dim() < 3) throw rangeError('input', 'a [B, K, ...spatial] tensor', formatShape(input.shape));
    const classes = input.shape[1] as number;
    let activation = this.activation;
    if (activation === 'auto') activation = classes === 1 ? 'sigmoid' : 'softmax';
    if (activation === 'softmax' && classes === 1) {
      throw rangeError('input', "a tensor with at least 2 channels for `activation` 'softmax' (use 'sigmoid' or 'auto' for one channel)", formatShape(input.shape));
    }
    return tidy(() => {
      const logits = input.dtype === 'float32' || input.dtype === 'float64' ? input : input.to('float32');
      let probabilities = logits;
      if (activation === 'sigmoid') probabilities = sigmoid(logits);
      else if (activation === 'softmax') probabilities = softmax(logits, 1);
      let truth = this.#prepareTarget(input, target, activation === 'sigmoid' && classes > 1);
      if (!this.includeBackground) {
        if (classes === 1) {
          this.#warnOnce('`includeBackground` false is ignored for a one-channel input, whose only channel is the foreground');
        } else {
          probabilities = probabilities.narrow(1, 1, classes - 1);
          truth = truth.narrow(1, 1, classes - 1);
        }
      }
      const spatial = Array.from({ length: input.dim() - 2 }, (_, i) => i + 2);
      const dims = this.batch ? [0, ...spatial] : spatial;
      const intersection = probabilities.mul(truth).sum(dims);
      const denominator = probabilities.sum(dims).add(truth.sum(dims));
      const dice = intersection.mul(2).add(this.smooth).div(denominator.add(this.smooth));
      return dice.mean().neg().add(1);
    });
  }

  /** Returns the target as float probabilities shaped like `input`, on its device. */
  #prepareTarget(input: Tensor, target: Tensor, multiLabel: boolean): Tensor {
    const classes = input.shape[1] as number;
    const spatial = input.shape.slice(2);
    const sameShape = target.dim() === input.dim() && target.shape.every((size, i) => size === input.shape[i]);
    const labelShape = [input.shape[0] as number, 1, ...spatial];
    const isLabels =
      (target.dim() === input.dim() && target.shape.every((size, i) => size === labelShape[i])) ||
      (target.dim() === input.dim() - 1 && target.shape.every((size, i) => size === labelShape[i === 0 ? 0 : i + 1]));
    const onDevice = target.device === input.device ? target : target.to(input.device);
    if (sameShape) return onDevice.to(input.dtype === 'float64' ? 'float64' : 'float32');
    if (!isLabels || multiLabel) {
      const expected = multiLabel
        ? `shaped like \`input\` ${formatShape(input.shape)} (multi-label sigmoid scores each channel against its own mask)`
        : `shaped ${formatShape(labelShape)}, ${formatShape(labelShape.filter((_, i) => i !== 1))} or ${formatShape(input.shape)} for \`input\` ${formatShape(input.shape)}`;
      throw rangeError('target', expected, formatShape(target.shape));
    }
    const withChannel = target.dim() === input.dim() ? onDevice : onDevice.unsqueeze(1);
    if (classes === 1) return withChannel.to('float32');
    checkClassLabels(withChannel, input);
    // Class indices [B, 1, ...] -> one-hot [B, ..., K] -> [B, K, ...].
    const indices = withChannel.squeeze(1).to('int64');
    const encoded = oneHot(indices, classes);
    const order = [0, encoded.dim() - 1, ...Array.from({ length: encoded.dim() - 2 }, (_, i) => i + 1)];
    return encoded.permute(order).to('float32');
  }

  #warnOnce(message: string): void {
    if (this.#warned) return;
    this.#warned = true;
    process.emitWarning(message, { code: WARNING_CODE, type: 'MedunetWarning' });
  }
}

/**
 * Throws a RangeError unless every element of `labels` is an integer class index of `input`, in
 * [0, K). The checks are whole-tensor reductions, so a NaN, fraction or out-of-range value is found
 * without copying the target to the host.
 */
function checkClassLabels(labels: Tensor, input: Tensor): void {
  if (labels.numel() === 0 || labels.dtype === 'bool') return;
  const classes = input.shape[1] as number;
  const rule = `integer class labels in [0, ${classes - 1}] for the ${classes} classes of \`input\` ${formatShape(input.shape)}`;
  if (isFloatingDType(labels.dtype)) {
    const flat = labels.flatten();
    // NaN and Inf give a NaN or non-zero fraction too, so argmax points at them as well.
    const fraction = flat.sub(flat.to('int64').to(flat.dtype)).abs();
    const worst = fraction.amax().item();
    if (worst !== 0) throw rangeError('target', rule, flat.select(0, fraction.argmax().item()).item());
  }
  const lowest = labels.amin().item();
  if (lowest < 0) throw rangeError('target', rule, lowest);
  const highest = labels.amax().item();
  if (highest >= classes) throw rangeError('target', rule, highest);
}
