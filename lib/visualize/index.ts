// SPDX-License-Identifier: MIT
//
// Pictures of a model's predictions: for each chosen slice, one PNG with three panels (scan,
// ground truth, prediction), as the classic U-Net tutorial's `visualize_predictions` plots them.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MedicalImageDataset } from '../data/dataset.js';
import { resolveDevice } from '../device.js';
import { dice } from '../metrics/segmentation.js';
import type { Module } from '../nn/module.js';
import { noGrad, tensor, tidy } from '../tensor.js';
import { checkEach, checkInt, checkOptions, checkString, rangeError, typeError } from '../validate.js';
import { Palette } from './colors.js';
import { renderPanels, writePng } from './png.js';

export { renderPanels, renderMontage, writePng, encodePng, type Panel, type RenderOptions, type MontageOptions } from './png.js';
export { Palette, type Rgb } from './colors.js';

/** Options of {@link visualizePredictions}. */
export interface VisualizeOptions {
  /** Folder for the PNG files; created when missing. */
  outDir: string;
  /** Dataset indices to draw. Default: `numSamples` indices spread evenly over the dataset. */
  indices?: readonly number[];
  /** How many slices to draw when `indices` is not given. Default 3. */
  numSamples?: number;
  /** Device to run the model on. Default 'auto'. */
  device?: string;
  /** Foreground threshold on the sigmoid output of a one-class model. Default 0.5. */
  threshold?: number;
  /** Draw rows bottom-up, so that anterior is at the top of an axial slice of an RAS volume. Default true. */
  flipVertical?: boolean;
  /** File name prefix. Default 'prediction'. */
  prefix?: string;
}

/** One written picture. */
export interface VisualizedSlice {
  path: string;
  volumeIndex: number;
  sliceIndex: number;
  /** Dice of the prediction against the ground truth on this slice (1 when both are empty). */
  dice: number;
}

/**
 * Predicts chosen slices of a dataset and writes one PNG per slice with three panels: the scan,
 * the ground truth over the scan, and the prediction over the scan, with the slice's Dice below.
 *
 * The model runs in evaluation mode without gradients; its previous mode is restored afterwards.
 * Slices must have masks. A one-class model's output is thresholded after a sigmoid; a
 * multi-class model's output is reduced with argmax, and every non-background class is drawn.
 *
 * @param model - A segmentation model such as {@link UNet}, on `options.device`.
 * @param dataset - Slices with masks, without augmentation for a faithful picture.
 * @param options - Output folder and slice choice; see {@link VisualizeOptions}.
 * @returns The files written, in the order of `indices`.
 * @throws {TypeError | RangeError} naming the invalid option.
 * @example
 * await visualizePredictions(model, validationSet, { outDir: 'out/panels', numSamples: 4 });
 * @see https://pytorch.org/tutorials/ (the classic U-Net tutorial's `visualize_predictions`)
 */
export async function visualizePredictions(
  model: Module,
  dataset: MedicalImageDataset,
  options: VisualizeOptions,
): Promise<VisualizedSlice[]> {
  const opts = checkOptions<VisualizeOptions>('options', options);
  const outDir = checkString('options.outDir', opts.outDir);
  const indices = chooseIndices(dataset.length, opts.indices, opts.numSamples ?? 3);
  const device = resolveDevice(opts.device ?? 'auto');
  const threshold = opts.threshold ?? 0.5;
  const prefix = opts.prefix ?? 'prediction';
  await mkdir(outDir, { recursive: true });

  const wasTraining = model.training;
  model.eval();
  const written: VisualizedSlice[] = [];
  try {
    for (const index of indices) {
      const item = dataset.get(index);
      if (item.mask === null) throw rangeError(`dataset item ${index}`, 'a slice with a mask', null);
      const predicted = predictSlice(model, item.image, item.height, item.width, device, threshold);
      const crop = (values: ArrayLike<number>) => cropTopLeft(values, item.width, item.originalHeight, item.originalWidth);
      const scan = crop(item.image);
      const truth = crop(item.mask);
      const prediction = crop(predicted);
      const score = dice(Uint8Array.from(prediction, (v) => (v > 0 ? 1 : 0)), Uint8Array.from(truth, (v) => (v > 0 ? 1 : 0)));
      const png = renderPanels(
        [
          { title: 'scan', image: scan },
          { title: 'ground truth', mask: truth, overlayOn: scan, color: Palette.groundTruth },
          { title: 'prediction', mask: prediction, overlayOn: scan },
        ],
        item.originalHeight,
        item.originalWidth,
        { flipVertical: opts.flipVertical ?? true, footer: `volume ${item.volumeIndex}  slice ${item.sliceIndex}  Dice ${score.toFixed(3)}` },
      );
      const path = join(outDir, `${prefix}-v${item.volumeIndex}-s${String(item.sliceIndex).padStart(3, '0')}.png`);
      await writePng(path, png);
      written.push({ path, volumeIndex: item.volumeIndex, sliceIndex: item.sliceIndex, dice: score });
    }
  } finally {
    model.train(wasTraining);
  }
  return written;
}

/** Picks `count` indices spread evenly over [0, length), or checks the given ones. */
function chooseIndices(length: number, indices: readonly number[] | undefined, count: number): number[] {
  if (indices !== undefined) {
    if (!Array.isArray(indices)) throw typeError('options.indices', 'an array of dataset indices', indices);
    return checkEach(indices, (value, i) => checkInt(`options.indices[${i}]`, value, 0, length - 1));
  }
  checkInt('options.numSamples', count, 1);
  const n = Math.min(count, length);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * length) / n));
}

/** Runs the model on one [1, H, W] slice and returns its labels (0/1 for one class, argmax otherwise). */
function predictSlice(model: Module, image: Float32Array, height: number, width: number, device: string, threshold: number): Uint8Array {
  return noGrad(() =>
    tidy(() => {
      const input = tensor(image, [1, 1, height, width], { device });
      const logits = model.forward(input);
      const classes = logits.shape[1] ?? 1;
      const labels = classes === 1 ? logits.sigmoid().gt(threshold) : logits.argmax(1, false);
      return Uint8Array.from(labels.to('cpu').to('uint8').data() as Uint8Array);
    }),
  );
}

/** Copies the top-left `height` x `width` block of a row-major array whose rows have `stride` elements. */
function cropTopLeft(values: ArrayLike<number>, stride: number, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) out[r * width + c] = values[r * stride + c] as number;
  }
  return out;
}
