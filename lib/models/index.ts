// SPDX-License-Identifier: MIT
//
// Segmentation models.

export { UNet, DoubleConv, DownBlock, UpBlock, type UNetOptions, type UNetArchitecture } from './unet.js';
