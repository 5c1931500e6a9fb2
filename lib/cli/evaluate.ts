// SPDX-License-Identifier: MIT
//
// `medunet evaluate`: scores a predicted mask against ground truth with Dice and Jaccard over the
// chosen slices, from a checkpoint run on the image or from a mask file already predicted.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NiftiVolume } from '../data/nifti.js';
import { normalizeIntensity } from '../data/normalize.js';
import { extractSlice, resolveAxis, sliceCount, type Axis } from '../data/slices.js';
import { SegmentationMetric } from '../metrics/segmentation.js';
import { Palette } from '../visualize/colors.js';
import { renderPanels, writePng } from '../visualize/png.js';
import { checkMaskLabels } from './labels.js';
import { loadModelOption, predictWithProgress, readVolumeOption } from './model-input.js';
import { checkOutputFolder } from './paths.js';
import { formatSliceList, numberOption, parseSliceList, stringOption, UsageError, type OptionValues } from './options.js';
import { parseAutocast } from './predict.js';
import { applyRuntimeOptions, writeLine } from './runtime.js';

const AXIS_NAMES = ['sagittal', 'coronal', 'axial'] as const;

/** Runs `medunet evaluate` with parsed options and returns its summary. */
export async function run(values: OptionValues): Promise<Record<string, unknown>> {
  const started = performance.now();
  const modelPath = stringOption(values, 'model');
  const predictionPath = stringOption(values, 'prediction');
  if ((modelPath === undefined) === (predictionPath === undefined)) {
    throw new UsageError('give either --model (with --image) or --prediction, not both');
  }
  const imagePath = stringOption(values, 'image');
  if (modelPath !== undefined && imagePath === undefined) throw new UsageError('--image is required with --model');
  const maskPath = stringOption(values, 'mask') as string;
  const batchSize = numberOption(values, 'batch-size', { integer: true, min: 1 }) as number;
  const threshold = numberOption(values, 'threshold', { min: 0, max: 1 }) as number;
  const pngCount = numberOption(values, 'png-count', { integer: true, min: 1, max: 1000 }) as number;
  const autocast = parseAutocast(values);
  const device = applyRuntimeOptions(values);

  const pngText = stringOption(values, 'png');
  const pngDir = pngText === undefined ? undefined : checkOutputFolder('png', pngText);
  if (pngDir !== undefined && imagePath === undefined) throw new UsageError('--png needs --image for the scan panel');
  const truth = readVolumeOption('mask', maskPath);
  const image = imagePath !== undefined ? readVolumeOption('image', imagePath) : null;
  const dims = truth.dims.slice(0, 3);
  const sliceText = stringOption(values, 'slices');
  const chooseSlices = (axis: Axis): number[] => {
    const count = sliceCount(dims, axis);
    return sliceText !== undefined ? parseSliceList('slices', sliceText, count) : Array.from({ length: count }, (_, i) => i);
  };
  let predicted: ArrayLike<number>;
  let axis: Axis;
  let numClasses: number;
  if (modelPath !== undefined) {
    const loaded = loadModelOption(values, device);
    checkSameGrid(image as NiftiVolume, imagePath as string, truth, maskPath);
    axis = loaded.axis;
    numClasses = loaded.model.architecture.numClasses;
    checkMaskLabels(maskPath, truth.data as ArrayLike<number | bigint>, numClasses, 'model classes');
    // Only the scored slices are predicted.
    const options = { batchSize, threshold, quiet: Boolean(values['quiet']), autocast, slices: chooseSlices(axis) };
    predicted = (await predictWithProgress(loaded, image as NiftiVolume, options)).mask;
  } else {
    const prediction = readVolumeOption('prediction', predictionPath as string);
    checkSameGrid(prediction, predictionPath as string, truth, maskPath);
    if (image !== null) checkSameGrid(image, imagePath as string, truth, maskPath);
    predicted = prediction.data as ArrayLike<number>;
    axis = axisOption(values) ?? 'axial';
    numClasses = numberOption(values, 'classes', { integer: true, min: 1, max: 255 }) ?? 1;
    checkMaskLabels(maskPath, truth.data as ArrayLike<number | bigint>, numClasses);
    checkMaskLabels(predictionPath as string, prediction.data as ArrayLike<number | bigint>, numClasses);
  }

  // Binary evaluation treats every voxel > 0 as foreground, in the prediction and the truth.
  const slices = chooseSlices(axis);
  const metric = new SegmentationMetric({ numClasses: Math.max(numClasses, 1) });
  const toLabels = (data: ArrayLike<number>) => (numClasses === 1 ? Uint8Array.from(data as ArrayLike<number>, (v) => (v > 0 ? 1 : 0)) : Uint8Array.from(data as ArrayLike<number>));
  const predictedSlices = new Map<number, Uint8Array>();
  const truthSlices = new Map<number, Uint8Array>();
  for (const index of slices) {
    const p = toLabels(extractSlice(predicted, dims, axis, index).data);
    const t = toLabels(extractSlice(truth.data as ArrayLike<number>, dims, axis, index).data);
    metric.update(p, t);
    predictedSlices.set(index, p);
    truthSlices.set(index, t);
  }
  const scores = metric.compute();
  const summary: Record<string, unknown> = {
    command: 'evaluate',
    dice: Math.round(scores.dice * 1e4) / 1e4,
    jaccard: Math.round(scores.jaccard * 1e4) / 1e4,
    slices: formatSliceList(slices),
    sliceCount: slices.length,
    axis,
    perClass: scores.perClass.map((c) => ({ label: c.label, dice: Math.round(c.dice * 1e4) / 1e4, jaccard: Math.round(c.jaccard * 1e4) / 1e4 })),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };

  if (pngDir !== undefined) {
    summary['png'] = await writePanels(pngDir, image as NiftiVolume, axis, slices, predictedSlices, truthSlices, pngCount);
  }
  if (!values['json']) {
    writeLine(`Dice ${scores.dice.toFixed(4)}, Jaccard ${scores.jaccard.toFixed(4)} over ${slices.length} ${axis} slices (${formatSliceList(slices)})`);
    const written = summary['png'] as string[] | undefined;
    if (written) writeLine(`pictures ${written.join(', ')}`);
  }
  return summary;
}

/** Writes scan / ground truth / prediction panels for `count` slices spread over `slices`. */
async function writePanels(
  dir: string,
  image: NiftiVolume,
  axis: Axis,
  slices: number[],
  predicted: Map<number, Uint8Array>,
  truth: Map<number, Uint8Array>,
  count: number,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const dims = image.dims.slice(0, 3);
  const scan = normalizeIntensity(image.data as ArrayLike<number>);
  const chosen = Array.from({ length: Math.min(count, slices.length) }, (_, i) => slices[Math.floor(((i + 0.5) * slices.length) / Math.min(count, slices.length))] as number);
  const written: string[] = [];
  for (const index of chosen) {
    const slice = extractSlice(scan, dims, axis, index);
    const p = predicted.get(index) as Uint8Array;
    const t = truth.get(index) as Uint8Array;
    const sliceMetric = new SegmentationMetric({ numClasses: 1 });
    sliceMetric.update(Uint8Array.from(p, (v) => (v > 0 ? 1 : 0)), Uint8Array.from(t, (v) => (v > 0 ? 1 : 0)));
    const png = renderPanels(
      [
        { title: 'scan', image: slice.data },
        { title: 'ground truth', mask: t, overlayOn: slice.data, color: Palette.groundTruth },
        { title: 'prediction', mask: p, overlayOn: slice.data },
      ],
      slice.height,
      slice.width,
      { flipVertical: true, footer: `${AXIS_NAMES[resolveAxis(axis)]} slice ${index}  Dice ${sliceMetric.compute().dice.toFixed(3)}` },
    );
    const path = join(dir, `panel-${String(index).padStart(3, '0')}.png`);
    await writePng(path, png);
    written.push(path);
  }
  return written;
}

function axisOption(values: OptionValues): Axis | undefined {
  const given = stringOption(values, 'axis');
  if (given === undefined) return undefined;
  if (!(AXIS_NAMES as readonly string[]).includes(given)) throw new UsageError(`--axis must be one of axial, coronal, sagittal; got ${JSON.stringify(given)}`);
  return given as Axis;
}

/** Throws unless two volumes have the same spatial dims. */
function checkSameGrid(a: NiftiVolume, aPath: string, b: NiftiVolume, bPath: string): void {
  const da = a.dims.slice(0, 3).join('x');
  const db = b.dims.slice(0, 3).join('x');
  if (da !== db) throw new UsageError(`${aPath} is ${da} voxels but ${bPath} is ${db}; they must match`);
}
