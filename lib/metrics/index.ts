// SPDX-License-Identifier: MIT
//
// Segmentation metrics.

export {
  dice,
  jaccardIndex,
  SegmentationMetric,
  type LabelSource,
  type MetricOptions,
  type ClassScore,
  type SegmentationScores,
} from './segmentation.js';
