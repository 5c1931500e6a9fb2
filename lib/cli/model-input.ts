// SPDX-License-Identifier: MIT
//
// Loading a checkpoint and predicting a volume, shared by `medunet predict` and `medunet evaluate`.

import { readNifti, type NiftiVolume } from '../data/nifti.js';
import { resolveAxis, type Axis } from '../data/slices.js';
import { loadModel, readCheckpoint } from '../engine/checkpoint.js';
import { predictVolume, type PredictResult } from '../engine/predict.js';
import type { UNet } from '../models/unet.js';
import { Progress } from './progress.js';
import { stringOption, UsageError, type OptionValues } from './options.js';

const AXIS_NAMES = ['sagittal', 'coronal', 'axial'] as const;

/** A loaded model and the slicing axis to predict with. */
export interface LoadedModel {
  model: UNet;
  axis: Axis;
  /** Source of the axis: the command line, the checkpoint, or the default. */
  axisSource: 'option' | 'checkpoint' | 'default';
}

/**
 * Loads `--model` onto `device` and picks the axis: `--axis`, else the checkpoint's, else axial.
 * `--model` may be a medunet checkpoint, a PyTorch state dict or a safetensors file (see `loadModel`).
 */
export function loadModelOption(values: OptionValues, device: string): LoadedModel {
  const path = stringOption(values, 'model') as string;
  const model = loadModel(path, { device });
  const given = stringOption(values, 'axis');
  if (given !== undefined) {
    if (!(AXIS_NAMES as readonly string[]).includes(given)) {
      throw new UsageError(`--axis must be one of axial, coronal, sagittal; got ${JSON.stringify(given)}`);
    }
    return { model, axis: given as Axis, axisSource: 'option' };
  }
  const { metadata, tensors } = readCheckpoint(path);
  for (const tensor of tensors.values()) tensor.dispose();
  // A .pt checkpoint records a number; safetensors metadata holds only strings.
  const stored = metadata?.['axisIndex'];
  const recorded = typeof stored === 'string' && /^[0-2]$/.test(stored) ? Number(stored) : stored;
  if (recorded === 0 || recorded === 1 || recorded === 2) return { model, axis: AXIS_NAMES[recorded], axisSource: 'checkpoint' };
  return { model, axis: 'axial', axisSource: 'default' };
}

/** Predicts a whole volume slice by slice with a progress display unless `--quiet`. */
export async function predictWithProgress(
  loaded: LoadedModel,
  volume: NiftiVolume,
  options: { batchSize: number; threshold: number; quiet: boolean; autocast: 'bfloat16' | null; slices?: readonly number[] },
): Promise<PredictResult> {
  const progress = options.quiet ? null : new Progress();
  let reported = 0;
  const result = await predictVolume(loaded.model, volume, {
    axis: resolveAxis(loaded.axis),
    batchSize: options.batchSize,
    threshold: options.threshold,
    autocast: options.autocast,
    ...(options.slices ? { slices: options.slices } : {}),
    onProgress: (done, total) => {
      if (reported === 0) progress?.start(total, 'predicting slices');
      progress?.tick(done - reported);
      reported = done;
    },
  });
  progress?.done();
  return result;
}

/** Reads a NIfTI volume for the command and rejects one with several 3D volumes (4D or 5D). */
export function readVolumeOption(name: string, path: string): NiftiVolume {
  const volume = readNifti(path);
  const extra = volume.dims.slice(3).reduce((product, size) => product * size, 1);
  if (extra > 1) {
    throw new UsageError(
      `--${name} ${path} contains ${extra} volumes (dims [${volume.dims.join(', ')}]); medunet segments one 3D volume, so extract one first (selectVolume in the library)`,
    );
  }
  return volume;
}
