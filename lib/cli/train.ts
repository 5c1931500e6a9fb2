// SPDX-License-Identifier: MIT
//
// `medunet train`: trains a UNet on 2D slices of (image, mask) NIfTI pairs, validates on whole
// held-out blocks of slices after each epoch, and saves a checkpoint after each epoch.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MedicalImageDataset, type VolumePair } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { readNifti, readNiftiHeader } from '../data/nifti.js';
import { RandomAugment } from '../data/augment.js';
import { heldOutBlocks } from '../data/split.js';
import { resolveAxis, sliceCount, type Axis } from '../data/slices.js';
import { saveCheckpoint } from '../engine/checkpoint.js';
import { saveSafetensors } from '../engine/safetensors.js';
import { trainModel, type EpochRecord } from '../engine/train.js';
import { DiceLoss } from '../losses/dice.js';
import { UNet } from '../models/unet.js';
import { Adam } from '../optim/adam.js';
import { CosineAnnealingLR } from '../optim/lr_scheduler.js';
import { manualSeed } from '../tensor.js';
import { formatSliceList, listOption, numberOption, parseSliceList, stringOption, UsageError, type OptionValues } from './options.js';
import { checkImageValues, checkMaskLabels } from './labels.js';
import { checkOutputFile } from './paths.js';
import { Progress } from './progress.js';
import { applyRuntimeOptions, writeLine } from './runtime.js';

const AXES = ['axial', 'coronal', 'sagittal'];

/** Runs `medunet train` with parsed options and returns its summary. */
export async function run(values: OptionValues): Promise<Record<string, unknown>> {
  const started = performance.now();
  const images = listOption(values, 'image');
  const masks = listOption(values, 'mask');
  if (images.length === 0) throw new UsageError('--image is required');
  if (masks.length !== images.length) {
    throw new UsageError(`give one --mask per --image; got ${images.length} images and ${masks.length} masks`);
  }
  const axisName = stringOption(values, 'axis') as string;
  if (!AXES.includes(axisName)) throw new UsageError(`--axis must be one of ${AXES.join(', ')}; got ${JSON.stringify(axisName)}`);
  const axis = axisName as Axis;
  const epochs = numberOption(values, 'epochs', { integer: true, min: 1, max: 100_000 }) as number;
  const batchSize = numberOption(values, 'batch-size', { integer: true, min: 1, max: 4096 }) as number;
  const lr = numberOption(values, 'lr', { min: 0, max: 10 }) as number;
  if (lr === 0) throw new UsageError('--lr must be a number > 0; got 0');
  const baseWidth = numberOption(values, 'base-width', { integer: true, min: 1, max: 1024 }) as number;
  const numClasses = numberOption(values, 'classes', { integer: true, min: 1, max: 255 }) as number;
  const seed = numberOption(values, 'seed', { integer: true, min: 0, max: 2 ** 31 - 1 }) as number;
  const valBlocks = numberOption(values, 'val-blocks', { integer: true, min: 0 }) as number;
  const valBlockSize = numberOption(values, 'val-block-size', { integer: true, min: 1 }) as number;
  const valSliceText = stringOption(values, 'val-slices');
  const schedule = stringOption(values, 'lr-schedule') as string;
  if (schedule !== 'cosine' && schedule !== 'constant') throw new UsageError(`--lr-schedule must be cosine or constant; got ${JSON.stringify(schedule)}`);
  const autocastName = stringOption(values, 'autocast') as string;
  if (autocastName !== 'none' && autocastName !== 'bf16') throw new UsageError(`--autocast must be bf16 or none; got ${JSON.stringify(autocastName)}`);
  const outputText = stringOption(values, 'output') as string;
  if (/\.(nii|nii\.gz|hdr|img)$/i.test(outputText)) {
    throw new UsageError(`--output ${outputText} names a NIfTI file; the checkpoint needs a name such as model.pt or model.safetensors`);
  }
  const output = checkOutputFile('output', outputText, [...images, ...masks]);
  const device = applyRuntimeOptions(values);
  manualSeed(seed);

  // Check every volume before any training, so a bad label or image names its file.
  for (const mask of masks) checkMaskLabels(mask, readNifti(mask).data as ArrayLike<number | bigint>, numClasses);
  for (const image of images) checkImageValues(image, readNifti(image).data as ArrayLike<number | bigint>);

  // Split every volume's slices into training slices and whole held-out validation blocks.
  const trainPairs: VolumePair[] = [];
  const valPairs: VolumePair[] = [];
  const heldOut: Record<string, string> = {};
  images.forEach((image, i) => {
    const mask = masks[i] as string;
    const count = sliceCount(readNiftiHeader(image).dims, axis);
    const split =
      valSliceText !== undefined
        ? complement(count, parseSliceList('val-slices', valSliceText, count))
        : heldOutBlocks(count, Math.min(valBlocks, Math.floor(count / valBlockSize)), valBlockSize, seed + i);
    if (split.train.length === 0) throw new UsageError(`${image}: no slices are left for training after holding out validation slices`);
    trainPairs.push({ image, mask, slices: split.train });
    if (split.validation.length > 0) valPairs.push({ image, mask, slices: split.validation });
    heldOut[image] = formatSliceList(split.validation);
  });

  const maskMode = numClasses > 1 ? 'labels' : 'binary';
  const trainSet = new MedicalImageDataset(trainPairs, {
    axis,
    maskMode,
    padMultiple: 16,
    transform: values['no-augment'] ? null : new RandomAugment(),
    seed,
  });
  if (trainSet.length < 2) throw new UsageError(`batch normalisation needs at least 2 training slices; got ${trainSet.length}`);
  // Batch normalisation fails on a batch of one slice when the bottleneck is 1x1, so a last batch
  // of one is dropped. Shuffling leaves out a different slice each epoch.
  const trainLoader = new DataLoader(trainSet, { batchSize, shuffle: true, seed, dropLast: trainSet.length % batchSize === 1 });
  const valLoader =
    valPairs.length > 0 ? new DataLoader(new MedicalImageDataset(valPairs, { axis, maskMode, padMultiple: 16 }), { batchSize }) : undefined;

  const model = new UNet({ inChannels: 1, numClasses, baseWidth }).to(device);
  const optimizer = new Adam(model.parameters(), { lr });
  // Stepped after every batch, so the rate falls smoothly to 0 by the last batch.
  const scheduler = schedule === 'cosine' ? new CosineAnnealingLR(optimizer, epochs * trainLoader.length) : null;
  const lossFn = new DiceLoss();
  mkdirSync(dirname(output), { recursive: true });
  const extra = { axis: axisName, axisIndex: resolveAxis(axis), normalize: 'minmax', heldOutSlices: heldOut };

  const progress = values['quiet'] ? null : new Progress();
  const log = (line: string) => {
    if (!values['quiet']) process.stderr.write(`${line}\n`);
  };
  const valCount = valPairs.reduce((sum, pair) => sum + (pair.slices?.length ?? 0), 0);
  const classes = `${numClasses} class${numClasses > 1 ? 'es' : ''}`;
  log(`medunet train: ${trainSet.length} training slices, ${valCount} validation slices, UNet base width ${baseWidth}, ${classes}, device ${device}`);
  let last: EpochRecord | undefined;
  const history = await trainModel(model, trainLoader, optimizer, lossFn, device, epochs, {
    ...(valLoader ? { valLoader } : {}),
    autocast: autocastName === 'bf16' ? 'bfloat16' : null,
    onBatch: (info) => {
      if (info.batch === 1) progress?.start(info.batches ?? trainLoader.length, `epoch ${info.epoch}/${epochs}`);
      progress?.tick(1, { loss: info.loss });
      scheduler?.step();
    },
    onEpoch: (record) => {
      progress?.done();
      last = record;
      if (output.endsWith('.safetensors')) {
        // safetensors metadata values are strings only.
        const strings = { axis: axisName, axisIndex: String(extra.axisIndex), normalize: extra.normalize, epoch: String(record.epoch) };
        saveSafetensors(output, model, strings);
      } else {
        saveCheckpoint(output, model, { ...extra, epoch: record.epoch });
      }
      const scores = record.valDice !== undefined ? `, val loss ${record.valLoss?.toFixed(4)}, val Dice ${record.valDice.toFixed(4)}, val Jaccard ${record.valJaccard?.toFixed(4)}` : '';
      log(`epoch ${record.epoch}/${epochs}: loss ${record.loss.toFixed(4)}${scores} (${record.seconds.toFixed(1)} s)`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const trainSeconds = history.epochs.reduce((sum, record) => sum + record.seconds, 0);
  log(`medunet train: saved ${output}`);
  const summary: Record<string, unknown> = {
    command: 'train',
    checkpoint: output,
    device,
    epochs,
    trainSlices: trainSet.length,
    loss: last === undefined ? null : round(last.loss),
    seconds: round(seconds),
    slicesPerSecond: round((trainSet.length * epochs) / trainSeconds),
    // Share of the epochs' time spent waiting for the loader, not overlapped with a step.
    dataWaitShare: round(history.epochs.reduce((sum, record) => sum + record.dataWaitSeconds, 0) / trainSeconds),
    heldOutSlices: heldOut,
  };
  if (last?.valDice !== undefined) Object.assign(summary, { valDice: round(last.valDice), valJaccard: round(last.valJaccard ?? NaN), valLoss: round(last.valLoss ?? NaN) });
  if (values['json']) return summary;
  writeLine(`checkpoint ${output}`);
  if (last?.valDice !== undefined) writeLine(`held-out Dice ${last.valDice.toFixed(4)}, Jaccard ${(last.valJaccard ?? NaN).toFixed(4)}`);
  return summary;
}

/** Training and validation indices for an explicit list of validation slices. */
function complement(count: number, validation: number[]): { train: number[]; validation: number[] } {
  const held = new Set(validation);
  const train = Array.from({ length: count }, (_, i) => i).filter((i) => !held.has(i));
  return { train, validation };
}

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
