// SPDX-License-Identifier: MIT
//
// Option tables of the subcommands. They import nothing that loads the native addon, so that
// `medunet <command> --help` works even where the addon is missing.

import type { CommandSpec } from './options.js';

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'Train a U-Net on 2D slices of NIfTI image and mask volumes and save a checkpoint.',
  usage: 'medunet train --image IMG.nii.gz --mask MASK.nii.gz [--image ... --mask ...] [options]',
  options: [
    { name: 'image', type: 'string', multiple: true, value: 'PATH', help: 'image volume (.nii or .nii.gz)', required: true },
    { name: 'mask', type: 'string', multiple: true, value: 'PATH', help: 'mask volume of the image given in the same position; voxels > 0 are foreground (class labels with --classes above 1)', required: true },
    { name: 'output', type: 'string', value: 'PATH', default: 'out/model.pt', help: 'checkpoint to write after each epoch: the torch.save format, or safetensors when the name ends in .safetensors' },
    { name: 'axis', type: 'string', value: 'axial|coronal|sagittal', default: 'axial', help: 'slicing axis (voxel axis z, y or x)' },
    { name: 'epochs', type: 'string', value: 'N', default: '10', help: 'passes over the training slices' },
    { name: 'batch-size', type: 'string', value: 'N', default: '8', help: 'slices per batch' },
    { name: 'lr', type: 'string', value: 'X', default: '0.001', help: 'Adam learning rate' },
    { name: 'lr-schedule', type: 'string', value: 'cosine|constant', default: 'cosine', help: 'cosine: anneal the learning rate to 0 over the run; constant: keep --lr' },
    { name: 'base-width', type: 'string', value: 'N', default: '16', help: 'channels of the first U-Net level (64 in the classic model)' },
    { name: 'classes', type: 'string', value: 'N', default: '1', help: 'output classes; above 1, mask voxels are class labels 0..N-1' },
    { name: 'val-slices', type: 'string', value: 'LIST', help: 'slices held out for validation in every volume, e.g. 50:64,100:114 (end excluded)' },
    { name: 'val-blocks', type: 'string', value: 'N', default: '2', help: 'without --val-slices: number of whole blocks of slices held out per volume' },
    { name: 'val-block-size', type: 'string', value: 'N', default: '12', help: 'slices per held-out block' },
    { name: 'no-augment', type: 'boolean', help: 'train without random affine, flip and intensity augmentation' },
    { name: 'autocast', type: 'string', value: 'bf16|none', default: 'none', help: 'run the forward pass in bfloat16 autocast (CPU or CUDA)' },
    { name: 'seed', type: 'string', value: 'N', default: '42', help: 'seed of weights, shuffling, augmentation and held-out blocks' },
  ],
  examples: [
    'medunet train --image data/sample/ch2.nii.gz --mask data/sample/ch2bet.nii.gz --epochs 8 --output out/brain.pt',
    'medunet train --image a.nii.gz --mask a_seg.nii.gz --image b.nii.gz --mask b_seg.nii.gz --classes 3 --json',
  ],
};

export const predictSpec: CommandSpec = {
  name: 'predict',
  summary: 'Segment a whole NIfTI volume with a checkpoint and write the mask as NIfTI.',
  usage: 'medunet predict --model CKPT --input IN.nii.gz --output OUT.nii.gz [options]',
  options: [
    { name: 'model', type: 'string', value: 'PATH', required: true, help: 'checkpoint written by medunet train, a PyTorch state_dict of the classic U-Net saved with torch.save, or a .safetensors file' },
    { name: 'input', type: 'string', value: 'PATH', required: true, help: 'volume to segment (.nii or .nii.gz)' },
    { name: 'output', type: 'string', value: 'PATH', required: true, help: 'mask to write (.nii or .nii.gz): uint8 labels, same shape and affine as the input' },
    { name: 'axis', type: 'string', value: 'axial|coronal|sagittal', help: 'slicing axis (default: the one the checkpoint was trained on, else axial)' },
    { name: 'batch-size', type: 'string', value: 'N', default: '4', help: 'slices per forward pass' },
    { name: 'threshold', type: 'string', value: 'P', default: '0.5', help: 'foreground probability threshold of one-class models' },
    { name: 'autocast', type: 'string', value: 'bf16|none', default: 'none', help: 'run the model in bfloat16 autocast' },
    { name: 'png', type: 'string', value: 'DIR', help: 'also write a montage of slices with the mask overlaid to DIR/prediction-montage.png' },
  ],
  examples: ['medunet predict --model out/brain.pt --input data/sample/ch2.nii.gz --output out/ch2_mask.nii.gz --png out'],
};

export const evaluateSpec: CommandSpec = {
  name: 'evaluate',
  summary: 'Score a prediction against a ground-truth mask with Dice and Jaccard, optionally on chosen slices.',
  usage: 'medunet evaluate (--model CKPT --image IMG | --prediction PRED) --mask MASK [options]',
  options: [
    { name: 'model', type: 'string', value: 'PATH', help: 'checkpoint to predict --image with' },
    { name: 'image', type: 'string', value: 'PATH', help: 'image volume (needed with --model and for --png)' },
    { name: 'prediction', type: 'string', value: 'PATH', help: 'mask already predicted, instead of --model' },
    { name: 'mask', type: 'string', value: 'PATH', required: true, help: 'ground-truth mask; voxels > 0 are foreground for one-class models, class labels otherwise' },
    { name: 'slices', type: 'string', value: 'LIST', help: 'score only these slices, e.g. 50:64,100:114 (end excluded); default all' },
    { name: 'axis', type: 'string', value: 'axial|coronal|sagittal', help: 'axis of --slices (default: the checkpoint\'s, else axial)' },
    { name: 'classes', type: 'string', value: 'N', help: 'with --prediction: number of classes (default 1, binary)' },
    { name: 'batch-size', type: 'string', value: 'N', default: '4', help: 'slices per forward pass' },
    { name: 'threshold', type: 'string', value: 'P', default: '0.5', help: 'foreground probability threshold of one-class models' },
    { name: 'autocast', type: 'string', value: 'bf16|none', default: 'none', help: 'run the model in bfloat16 autocast' },
    { name: 'png', type: 'string', value: 'DIR', help: 'write scan / ground truth / prediction panels of some slices to DIR' },
    { name: 'png-count', type: 'string', value: 'N', default: '4', help: 'number of slices drawn with --png' },
  ],
  examples: [
    'medunet evaluate --model out/brain.pt --image data/sample/ch2.nii.gz --mask data/sample/ch2bet.nii.gz --slices 50:64 --json',
    'medunet evaluate --prediction out/ch2_mask.nii.gz --mask data/sample/ch2bet.nii.gz',
  ],
};
