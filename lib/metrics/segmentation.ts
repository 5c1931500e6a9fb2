// SPDX-License-Identifier: MIT
//
// Overlap metrics on hard labels: Dice (F1) and Jaccard (intersection over union), per class and
// averaged, for one batch or accumulated over a whole data set.

import { ErrorCode, withCode } from '../errors.js';
import { checkTensor, formatShape, isTensor, noGrad, tidy, type Tensor, type TypedArray } from '../tensor.js';
import { checkBoolean, checkInt, checkNumber, checkOptions, rangeError, typeError } from '../validate.js';

/** A prediction or target: a tensor, or a typed array of voxels. */
export type LabelSource = Tensor | TypedArray;

/** Options of {@link dice}, {@link jaccardIndex} and {@link SegmentationMetric}. */
export interface MetricOptions {
  /**
   * Output channels of the model: 1 for binary segmentation, K >= 2 for K classes. Default: the
   * prediction tensor's channel count, or 1 for typed arrays.
   */
  numClasses?: number;
  /** A one-channel probability above this is foreground; default 0.5. */
  threshold?: number;
  /** Average over the background (label 0) too; default false. */
  includeBackground?: boolean;
}

/** Scores for one label. */
export interface ClassScore {
  label: number;
  dice: number;
  jaccard: number;
  /** Voxels of this label in the prediction, in the target, and in both. */
  predicted: number;
  actual: number;
  intersection: number;
}

/** Result of {@link SegmentationMetric.compute}. */
export interface SegmentationScores {
  /** Mean Dice over the scored labels (1..K-1, or 0..K-1 with `includeBackground`). */
  dice: number;
  /** Mean Jaccard index over the same labels. */
  jaccard: number;
  /** Scores of every label 0..L-1 (L = 2 for binary segmentation), background included. */
  perClass: ClassScore[];
}

interface CheckedMetricOptions {
  numClasses: number | undefined;
  threshold: number;
  includeBackground: boolean;
}

function checkMetricOptions(options: unknown): CheckedMetricOptions {
  const opts = checkOptions<MetricOptions>('options', options);
  return {
    numClasses: opts.numClasses === undefined ? undefined : checkInt('options.numClasses', opts.numClasses, 1),
    threshold: checkNumber('options.threshold', opts.threshold ?? 0.5),
    includeBackground: checkBoolean('options.includeBackground', opts.includeBackground ?? false),
  };
}

function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

function isFloatArray(values: TypedArray): boolean {
  return values instanceof Float32Array || values instanceof Float64Array;
}

/**
 * Turns a prediction into one label per voxel: a one-channel tensor of probabilities is
 * thresholded, a K-channel tensor is reduced by argmax over the channels, and a typed array
 * contains probabilities (one class, thresholded) or labels (K classes).
 */
function predictionLabels(prediction: LabelSource, numClasses: number | undefined, threshold: number): { labels: TypedArray; classes: number } {
  if (isTensor(prediction)) {
    checkTensor('prediction', prediction);
    if (prediction.dim() < 2) throw rangeError('prediction', 'a [B, K, ...spatial] tensor', formatShape(prediction.shape));
    const channels = prediction.shape[1] as number;
    if (numClasses !== undefined && numClasses !== channels) {
      throw rangeError('prediction', `a tensor with \`numClasses\` (${numClasses}) channels`, formatShape(prediction.shape));
    }
    const labels = noGrad(() =>
      tidy(() => {
        if (channels > 1) return prediction.argmax(1).to('int32').data();
        const floating = ['float32', 'float64', 'float16', 'bfloat16'].includes(prediction.dtype);
        return floating ? prediction.gt(threshold).to('uint8').data() : prediction.to('int32').data();
      }),
    );
    return { labels, classes: channels };
  }
  if (!isTypedArray(prediction)) throw typeError('prediction', 'a Tensor or a typed array', prediction);
  const classes = numClasses ?? 1;
  if (classes === 1 && isFloatArray(prediction)) {
    const labels = new Uint8Array(prediction.length);
    for (let i = 0; i < prediction.length; i++) labels[i] = (prediction[i] as number) > threshold ? 1 : 0;
    return { labels, classes };
  }
  return { labels: prediction, classes };
}

/** Turns a target (class indices, `[B, 1, ...]` or `[B, ...]`) into one label per voxel. */
function targetLabels(target: LabelSource): TypedArray {
  if (isTensor(target)) return noGrad(() => tidy(() => checkTensor('target', target).to('float32').data()));
  if (!isTypedArray(target)) throw typeError('target', 'a Tensor or a typed array', target);
  return target;
}

/** Sizes of the two inputs, for messages. */
function describeSize(value: LabelSource, length: number): string {
  return isTensor(value) ? `${formatShape(value.shape)} (${length} voxels)` : `a ${value.constructor.name} of ${length} elements`;
}

/**
 * Accumulates per-label voxel counts (prediction, target, intersection) over batches, so that
 * Dice and Jaccard are computed over a whole data set rather than averaged per batch.
 *
 * @example
 * const metric = new SegmentationMetric();
 * for (const { logits, masks } of batches) metric.update(logits.sigmoid(), masks);
 * const { dice, jaccard } = metric.compute();
 */
export class SegmentationMetric {
  readonly threshold: number;
  readonly includeBackground: boolean;
  #numClasses: number | undefined;
  #predicted: number[] = [];
  #actual: number[] = [];
  #intersection: number[] = [];

  /** @param options - `numClasses` (from the first prediction), `threshold` (0.5), `includeBackground` (false). */
  constructor(options?: MetricOptions) {
    const opts = checkMetricOptions(options);
    this.#numClasses = opts.numClasses;
    this.threshold = opts.threshold;
    this.includeBackground = opts.includeBackground;
  }

  /** Output channels (1 for binary), once known. */
  get numClasses(): number | undefined {
    return this.#numClasses;
  }

  /**
   * Adds one batch.
   *
   * @param prediction - Probabilities `[B, 1, ...]`, scores `[B, K, ...]` (logits or
   *   probabilities), or a typed array of probabilities (one class) or labels.
   * @param target - Class indices `[B, 1, ...]` or `[B, ...]` (a tensor or typed array), with as
   *   many voxels as the prediction has per channel.
   * @throws RangeError when the sizes differ or a label is outside [0, L).
   */
  update(prediction: LabelSource, target: LabelSource): void {
    const { labels, classes } = predictionLabels(prediction, this.#numClasses, this.threshold);
    const truth = targetLabels(target);
    if (labels.length !== truth.length) {
      throw rangeError(
        'target',
        `labels for as many voxels as \`prediction\` has per channel (${labels.length})`,
        describeSize(target, truth.length),
      );
    }
    if (this.#numClasses === undefined) this.#numClasses = classes;
    const count = Math.max(2, this.#numClasses);
    if (this.#predicted.length === 0) {
      this.#predicted = new Array<number>(count).fill(0);
      this.#actual = new Array<number>(count).fill(0);
      this.#intersection = new Array<number>(count).fill(0);
    }
    const predicted = new Float64Array(count);
    const actual = new Float64Array(count);
    const intersection = new Float64Array(count);
    for (let i = 0; i < labels.length; i++) {
      const p = Number(labels[i]);
      const t = Math.round(Number(truth[i]));
      if (!(p >= 0 && p < count)) throw rangeError('prediction', `labels in [0, ${count - 1}]`, p);
      if (!(t >= 0 && t < count)) throw rangeError('target', `labels in [0, ${count - 1}]`, Number(truth[i]));
      predicted[p]! += 1;
      actual[t]! += 1;
      if (p === t) intersection[p]! += 1;
    }
    for (let k = 0; k < count; k++) {
      this.#predicted[k]! += predicted[k]!;
      this.#actual[k]! += actual[k]!;
      this.#intersection[k]! += intersection[k]!;
    }
  }

  /**
   * Returns Dice and Jaccard over everything added since construction or `reset()`. A label
   * absent from both prediction and target scores 1 on both.
   *
   * @throws Error with code ERR_INVALID_STATE when no batch was added.
   */
  compute(): SegmentationScores {
    if (this.#predicted.length === 0) {
      throw withCode(new Error('SegmentationMetric.compute() needs at least one update() first'), ErrorCode.INVALID_STATE);
    }
    const perClass: ClassScore[] = this.#predicted.map((predicted, label) => {
      const actual = this.#actual[label] as number;
      const intersection = this.#intersection[label] as number;
      const total = predicted + actual;
      const union = total - intersection;
      return {
        label,
        dice: total === 0 ? 1 : (2 * intersection) / total,
        jaccard: union === 0 ? 1 : intersection / union,
        predicted,
        actual,
        intersection,
      };
    });
    const scored = this.includeBackground ? perClass : perClass.slice(1);
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
    return { dice: mean(scored.map((s) => s.dice)), jaccard: mean(scored.map((s) => s.jaccard)), perClass };
  }

  /** Clears the counts (the class count stays as set or inferred). */
  reset(): void {
    this.#predicted = [];
    this.#actual = [];
    this.#intersection = [];
  }
}

/**
 * Dice coefficient `2|P ∩ T| / (|P| + |T|)` of hard labels, averaged over the foreground labels
 * (and the background with `includeBackground`). Empty prediction and empty target give 1.
 *
 * @param prediction - Probabilities `[B, 1, ...]` (thresholded), scores `[B, K, ...]` (argmax),
 *   or a typed array of probabilities (one class) or labels.
 * @param target - Class indices with as many voxels as the prediction has per channel.
 * @param options - `numClasses`, `threshold` (0.5), `includeBackground` (false).
 * @returns A number in [0, 1].
 * @example
 * const score = dice(logits.sigmoid(), masks);
 * @see https://docs.monai.io/en/stable/metrics.html#mean-dice
 */
export function dice(prediction: LabelSource, target: LabelSource, options?: MetricOptions): number {
  const metric = new SegmentationMetric(options);
  metric.update(prediction, target);
  return metric.compute().dice;
}

/**
 * Jaccard index (intersection over union) `|P ∩ T| / |P ∪ T|` of hard labels, averaged as
 * {@link dice} is. Empty prediction and empty target give 1.
 *
 * @param prediction - As for {@link dice}.
 * @param target - As for {@link dice}.
 * @param options - `numClasses`, `threshold` (0.5), `includeBackground` (false).
 * @returns A number in [0, 1].
 * @example
 * const iou = jaccardIndex(probabilities, masks);
 * @see https://docs.monai.io/en/stable/metrics.html#mean-iou
 */
export function jaccardIndex(prediction: LabelSource, target: LabelSource, options?: MetricOptions): number {
  const metric = new SegmentationMetric(options);
  metric.update(prediction, target);
  return metric.compute().jaccard;
}
