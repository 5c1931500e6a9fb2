// SPDX-License-Identifier: MIT
//
// The data path: NIfTI input and output, intensity normalisation, slicing, augmentation,
// datasets and loaders.

export {
  NIFTI_DATATYPES,
  readNifti,
  readNiftiAsync,
  readNiftiHeader,
  readNiftiHeaderAsync,
  toFloat32Array,
  writeNifti,
  writeNiftiAsync,
  selectVolume,
  volumeCount,
  axisCodes,
  axisOrientation,
  reorientToRAS,
  reorientFromRAS,
  type AxisOrientation,
  type AxisDirection,
  type NiftiDatatype,
  type NiftiHeaderInfo,
  type NiftiHeaderOnly,
  type NiftiVolume,
  type NiftiWriteInput,
  type ReadNiftiOptions,
  type VoxelArray,
  type WriteNiftiOptions,
} from './nifti.js';
export {
  normalizeIntensity,
  percentiles,
  type IntensityArray,
  type NormalizeMode,
  type NormalizeOptions,
} from './normalize.js';
export {
  extractSlice,
  insertSlice,
  resolveAxis,
  sliceCount,
  sliceShape,
  type Axis,
  type NumericArray,
  type Slice,
} from './slices.js';
export { Random } from './random.js';
export { RandomAugment, type AugmentParams, type Augmented, type RandomAugmentOptions } from './augment.js';
export { heldOutBlocks, type SliceSplit } from './split.js';
export {
  MedicalImageDataset,
  type DatasetItem,
  type MedicalImageDatasetOptions,
  type SliceRef,
  type VolumePair,
} from './dataset.js';
export { DataLoader, type Batch, type DataLoaderOptions } from './loader.js';
