// SPDX-License-Identifier: MIT
//
// torch.nn for medunet: the module base class, layers, weight initialisation and functions.

export { Module, type StateDict, type StateDictOptions, type LoadStateDictOptions, type IncompatibleKeys, type ZeroGradOptions } from './module.js';
export { Conv2d, ConvTranspose2d, type Conv2dLayerOptions, type ConvTranspose2dLayerOptions } from './conv.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './batchnorm.js';
export { ReLU, Sigmoid, Softmax } from './activation.js';
export { MaxPool2d, type MaxPool2dLayerOptions } from './pooling.js';
export { Sequential } from './container.js';
export * as init from './init.js';
export * as functional from './functional.js';
export type { Size2 } from './functional.js';
