// SPDX-License-Identifier: MIT
//
// The exported surface of lib/index.ts as the property test enumerates it: what kind each export is,
// and how to build a valid instance of each class so that its methods and setters can be called.
// A test compares this table with the real exports, so a new export fails it until it is listed.

import * as medunet from '../../../../lib/index.js';

export type ExportKind = 'function' | 'class' | 'namespace' | 'constant';

/** Every export of lib/index.ts and its kind. */
export const SURFACE: Record<string, ExportKind> = {
  Adam: 'class',
  BatchNorm2d: 'class',
  CHECKPOINT_FORMAT: 'constant',
  CHECKPOINT_VERSION: 'constant',
  CheckpointError: 'class',
  Conv2d: 'class',
  ConvTranspose2d: 'class',
  CosineAnnealingLR: 'class',
  DTYPES: 'constant',
  DataLoader: 'class',
  DiceLoss: 'class',
  DoubleConv: 'class',
  DownBlock: 'class',
  ErrorCode: 'constant',
  MaxPool2d: 'class',
  MedicalImageDataset: 'class',
  Module: 'class',
  NIFTI_DATATYPES: 'constant',
  NiftiError: 'class',
  Optimizer: 'class',
  Palette: 'constant',
  Random: 'class',
  RandomAugment: 'class',
  ReLU: 'class',
  SAFETENSORS_MEDUNET_KEY: 'constant',
  SGD: 'class',
  SegmentationMetric: 'class',
  Sequential: 'class',
  Sigmoid: 'class',
  Softmax: 'class',
  Tensor: 'class',
  UNet: 'class',
  UpBlock: 'class',
  arange: 'function',
  autocast: 'function',
  axisCodes: 'function',
  axisOrientation: 'function',
  cat: 'function',
  cudaDeviceCount: 'function',
  cudaIsAvailable: 'function',
  dice: 'function',
  empty: 'function',
  enableGrad: 'function',
  encodePng: 'function',
  evaluateModel: 'function',
  extractSlice: 'function',
  full: 'function',
  functional: 'namespace',
  getNumThreads: 'function',
  hasSafetensorsMagic: 'function',
  heldOutBlocks: 'function',
  init: 'namespace',
  insertSlice: 'function',
  isGradEnabled: 'function',
  jaccardIndex: 'function',
  keep: 'function',
  loadModel: 'function',
  loadModelAsync: 'function',
  loadSafetensors: 'function',
  manualSeed: 'function',
  memoryStats: 'function',
  noGrad: 'function',
  normalizeIntensity: 'function',
  ones: 'function',
  percentiles: 'function',
  predictVolume: 'function',
  rand: 'function',
  randn: 'function',
  readCheckpoint: 'function',
  readCheckpointAsync: 'function',
  readNifti: 'function',
  readNiftiAsync: 'function',
  readNiftiHeader: 'function',
  readNiftiHeaderAsync: 'function',
  renderMontage: 'function',
  renderPanels: 'function',
  reorientFromRAS: 'function',
  reorientToRAS: 'function',
  resolveAxis: 'function',
  resolveDevice: 'function',
  saveCheckpoint: 'function',
  saveCheckpointAsync: 'function',
  saveSafetensors: 'function',
  selectVolume: 'function',
  setNumThreads: 'function',
  sliceCount: 'function',
  sliceShape: 'function',
  stack: 'function',
  tensor: 'function',
  tidy: 'function',
  toFloat32Array: 'function',
  trainModel: 'function',
  trainStep: 'function',
  trainStepAsync: 'function',
  versions: 'constant',
  visualizePredictions: 'function',
  volumeCount: 'function',
  writeNifti: 'function',
  writeNiftiAsync: 'function',
  writePng: 'function',
  zeros: 'function',
};

/** Files that the runner writes into its working folder before the first call. */
export const FIXTURE_FILES = {
  nifti: 'volume.nii',
  niftiGzip: 'volume.nii.gz',
  checkpoint: 'model.ckpt',
  safetensors: 'model.safetensors',
} as const;

/** Builds a 16x16x2 volume with a band of foreground, for datasets and prediction. */
export function smallVolume(): medunet.NiftiVolume {
  const data = new Float32Array(16 * 16 * 2).map((_, i) => ((i % 16) > 4 && (i % 16) < 11 ? 1 : 0));
  const affine = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  return { data, dims: [16, 16, 2], pixdim: [1, 1, 1], affine } as unknown as medunet.NiftiVolume;
}

function smallUNet(): medunet.UNet {
  return new medunet.UNet({ inChannels: 1, numClasses: 1, baseWidth: 2 });
}

function dataset(): medunet.MedicalImageDataset {
  const volume = smallVolume();
  return new medunet.MedicalImageDataset([{ image: volume, mask: volume }]);
}

/**
 * Builders of one valid instance per class, used as receivers of instance methods and as
 * well-formed arguments. Each call builds a new instance, because a method may dispose or
 * change its receiver.
 */
export const INSTANCE_FACTORIES: Record<string, () => object> = {
  Adam: () => new medunet.Adam([medunet.zeros([4], { requiresGrad: true })], { lr: 0.01 }),
  BatchNorm2d: () => new medunet.BatchNorm2d(1),
  CheckpointError: () => new medunet.CheckpointError('model.ckpt', 'invalid'),
  Conv2d: () => new medunet.Conv2d(1, 1, 3, { padding: 1 }),
  ConvTranspose2d: () => new medunet.ConvTranspose2d(2, 1, 2, { stride: 2 }),
  CosineAnnealingLR: () => new medunet.CosineAnnealingLR(new medunet.SGD([medunet.zeros([4], { requiresGrad: true })], { lr: 0.1 }), 10),
  DataLoader: () => new medunet.DataLoader(dataset(), { batchSize: 2 }),
  DiceLoss: () => new medunet.DiceLoss(),
  DoubleConv: () => new medunet.DoubleConv(1, 2),
  DownBlock: () => new medunet.DownBlock(1, 2),
  MaxPool2d: () => new medunet.MaxPool2d(2),
  MedicalImageDataset: dataset,
  Module: () => new medunet.Module(),
  NiftiError: () => new medunet.NiftiError('volume.nii', 'invalid'),
  Optimizer: () => new medunet.SGD([medunet.zeros([4], { requiresGrad: true })], { lr: 0.1 }),
  Random: () => new medunet.Random(1),
  RandomAugment: () => new medunet.RandomAugment(),
  ReLU: () => new medunet.ReLU(),
  SGD: () => new medunet.SGD([medunet.zeros([4], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 }),
  SegmentationMetric: () => new medunet.SegmentationMetric(),
  Sequential: () => new medunet.Sequential(new medunet.Conv2d(1, 1, 3, { padding: 1 }), new medunet.ReLU()),
  Sigmoid: () => new medunet.Sigmoid(),
  Softmax: () => new medunet.Softmax(1),
  Tensor: () => medunet.randn([1, 1, 16, 16]),
  UNet: smallUNet,
  UpBlock: () => new medunet.UpBlock(4, 2),
};
