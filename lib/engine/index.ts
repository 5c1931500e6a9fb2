// SPDX-License-Identifier: MIT
//
// Training, evaluation, prediction and checkpoints.

export {
  trainModel,
  trainStep,
  trainStepAsync,
  evaluateModel,
  type TrainBatch,
  type BatchSource,
  type LossFunction,
  type BatchInfo,
  type EpochRecord,
  type TrainHistory,
  type TrainOptions,
  type TrainStepOptions,
  type EvaluationResult,
} from './train.js';
export { type ThreadMode } from './executor.js';
export { predictVolume, type VolumeInput, type PredictOptions, type PredictResult } from './predict.js';
export {
  saveCheckpoint,
  saveCheckpointAsync,
  loadModel,
  loadModelAsync,
  readCheckpoint,
  readCheckpointAsync,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointMetadata,
  type CheckpointContents,
  type LoadModelOptions,
} from './checkpoint.js';
export { saveSafetensors, loadSafetensors, hasSafetensorsMagic, SAFETENSORS_MEDUNET_KEY, type SafetensorsContents } from './safetensors.js';
