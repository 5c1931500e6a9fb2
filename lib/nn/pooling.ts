// SPDX-License-Identifier: MIT
//
// MaxPool2d as torch.nn.MaxPool2d.

import { Module } from './module.js';
import { checkPoolPadding, maxPool2d, toPair, type Size2 } from './functional.js';
import { type Tensor } from '../tensor.js';
import { checkBoolean, checkOptions } from '../validate.js';

/** Options of {@link MaxPool2d}. */
export interface MaxPool2dLayerOptions {
  /** Window step; default `kernelSize`. */
  stride?: Size2;
  /** Implicit negative-infinity padding on each side, at most half the kernel; default 0. */
  padding?: Size2;
  /** Default 1. */
  dilation?: Size2;
  /** Round the output size up instead of down; default false. */
  ceilMode?: boolean;
}

/**
 * 2-D max pooling, as `torch.nn.MaxPool2d`. The U-Net's down-sampling uses `new MaxPool2d(2)`.
 *
 * @example
 * const pool = new MaxPool2d(2);
 * const y = pool.forward(x); // [B, C, H, W] -> [B, C, floor(H / 2), floor(W / 2)]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
 */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  /**
   * @param kernelSize - Window size, a number or `[kH, kW]`.
   * @param options - `stride` (= `kernelSize`), `padding` (0), `dilation` (1), `ceilMode` (false).
   * @throws TypeError or RangeError for invalid arguments.
   */
  constructor(kernelSize: Size2, options?: MaxPool2dLayerOptions) {
    super();
    const opts = checkOptions<MaxPool2dLayerOptions>('options', options);
    this.kernelSize = toPair('kernelSize', kernelSize, 1);
    this.stride = opts.stride === undefined ? this.kernelSize : toPair('options.stride', opts.stride, 1);
    this.padding = toPair('options.padding', opts.padding ?? 0, 0);
    checkPoolPadding(this.padding, this.kernelSize);
    this.dilation = toPair('options.dilation', opts.dilation ?? 1, 1);
    this.ceilMode = checkBoolean('options.ceilMode', opts.ceilMode ?? false);
  }

  /** @param input - `[B, C, H, W]`. @returns `[B, C, H_out, W_out]`. */
  override forward(input: Tensor): Tensor {
    return maxPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }
}
