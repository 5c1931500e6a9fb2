// SPDX-License-Identifier: MIT
//
// torch.optim for medunet.

export { Optimizer, type OptimizerZeroGradOptions } from './optimizer.js';
export { Adam, type AdamOptions } from './adam.js';
export { SGD, type SGDOptions } from './sgd.js';
export { CosineAnnealingLR } from './lr_scheduler.js';
