// SPDX-License-Identifier: MIT
//
// Segmentation losses.

export { DiceLoss, type DiceLossOptions, type DiceActivation } from './dice.js';
