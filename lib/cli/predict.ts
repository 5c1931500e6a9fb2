// SPDX-License-Identifier: MIT
//
// `medunet predict`: segments a whole NIfTI volume slice by slice with a checkpoint and writes
// the mask as NIfTI with the input's affine, so that it overlays the scan in any viewer.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeNifti } from '../data/nifti.js';
import { resolveAxis } from '../data/slices.js';
import { renderMontage, writePng } from '../visualize/png.js';
import { loadModelOption, predictWithProgress, readVolumeOption } from './model-input.js';
import { checkImageValues } from './labels.js';
import { checkOutputFile, checkOutputFolder } from './paths.js';
import { numberOption, stringOption, UsageError, type OptionValues } from './options.js';
import { applyRuntimeOptions, writeLine } from './runtime.js';

/** Runs `medunet predict` with parsed options and returns its summary. */
export async function run(values: OptionValues): Promise<Record<string, unknown>> {
  const started = performance.now();
  const input = stringOption(values, 'input') as string;
  const outputText = stringOption(values, 'output') as string;
  if (!/\.nii(\.gz)?$/.test(outputText)) throw new UsageError(`--output must end in .nii or .nii.gz; got ${JSON.stringify(outputText)}`);
  const output = checkOutputFile('output', outputText, [input, stringOption(values, 'model') as string]);
  const pngText = stringOption(values, 'png');
  const pngDir = pngText === undefined ? undefined : checkOutputFolder('png', pngText);
  const batchSize = numberOption(values, 'batch-size', { integer: true, min: 1 }) as number;
  const threshold = numberOption(values, 'threshold', { min: 0, max: 1 }) as number;
  const autocast = parseAutocast(values);
  const device = applyRuntimeOptions(values);

  const loaded = loadModelOption(values, device);
  const volume = readVolumeOption('input', input);
  checkImageValues(input, volume.data as ArrayLike<number | bigint>);
  const result = await predictWithProgress(loaded, volume, { batchSize, threshold, quiet: Boolean(values['quiet']), autocast });
  const [nx, ny, nz] = result.dims as [number, number, number];
  mkdirSync(dirname(output), { recursive: true });
  writeNifti(output, {
    data: result.mask,
    dims: [nx, ny, nz],
    pixdim: volume.pixdim.slice(0, 3),
    affine: volume.affine,
    header: { ...volume.header, description: 'medunet predicted mask' },
  });

  let foreground = 0;
  for (const label of result.mask) if (label !== 0) foreground++;
  const voxelMl = Math.abs(volume.pixdim[0]! * volume.pixdim[1]! * volume.pixdim[2]!) / 1000;
  const summary: Record<string, unknown> = {
    command: 'predict',
    input,
    output,
    dims: [nx, ny, nz],
    axis: loaded.axis,
    foregroundVoxels: foreground,
    foregroundMl: Math.round(foreground * voxelMl * 10) / 10,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };

  if (pngDir !== undefined) {
    const axis = resolveAxis(loaded.axis);
    const path = join(pngDir, 'prediction-montage.png');
    // renderMontage takes [D, H, W] with W fastest, which is [nz, ny, nx] for NIfTI's x-fastest order.
    const montageAxis = 2 - axis;
    const png = renderMontage(volume.data as ArrayLike<number> as Float32Array, [nz, ny, nx], {
      mask: result.mask,
      axis: montageAxis,
      slices: 12,
      flipVertical: true,
      title: `${loaded.axis} slices with the predicted mask`,
    });
    mkdirSync(dirname(path), { recursive: true });
    await writePng(path, png);
    summary['png'] = path;
  }
  if (!values['json']) {
    writeLine(`mask ${output} (${foreground} foreground voxels, ${summary['foregroundMl']} ml)`);
    if (summary['png']) writeLine(`picture ${String(summary['png'])}`);
  }
  return summary;
}

/** Reads `--autocast bf16|none`. */
export function parseAutocast(values: OptionValues): 'bfloat16' | null {
  const name = stringOption(values, 'autocast') ?? 'none';
  if (name !== 'none' && name !== 'bf16') throw new UsageError(`--autocast must be bf16 or none; got ${JSON.stringify(name)}`);
  return name === 'bf16' ? 'bfloat16' : null;
}
