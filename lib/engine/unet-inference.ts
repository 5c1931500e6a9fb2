// SPDX-License-Identifier: MIT
//
// The fast inference path of predictVolume for the classic U-Net: batch norm folded into the
// convolutions once per prediction, and the whole forward pass run by one native call per batch.

import { UNet, type DoubleConv } from '../models/unet.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Conv2d } from '../nn/conv.js';
import { fuseConvBnWeights } from '../nn/fuse.js';
import { Module } from '../nn/module.js';
import { native } from '../native.js';
import { noGrad, tidy, zeros, type Tensor } from '../tensor.js';

/**
 * Folded weights of one {@link UNet}, in the order that `native.unetInference` reads them, and
 * the forward pass over them. The weights are copies taken when {@link UNetInference.prepare}
 * runs, so build a new instance after the model's parameters or buffers change.
 *
 * @internal
 */
export class UNetInference {
  readonly #weights: Tensor[];
  readonly #channelsLast: boolean;

  private constructor(weights: Tensor[], channelsLast: boolean) {
    this.#weights = weights;
    this.#channelsLast = channelsLast;
  }

  /**
   * Folds the weights of `model`, or returns null when the model cannot take this path: it is not
   * a plain `UNet` (a subclass may override `forward`), a batch norm has no running statistics, or
   * a parameter is not float32. The model should be in evaluation mode, whose batch-norm
   * arithmetic the folded weights reproduce.
   *
   * @param model - The model to fold.
   * @param channelsLast - Run in channels-last layout; default true on a CPU, false elsewhere.
   */
  static prepare(model: Module, channelsLast?: boolean): UNetInference | null {
    if (Object.getPrototypeOf(model) !== UNet.prototype) return null;
    const unet = model as UNet;
    if (unet.parameters().some((parameter) => parameter.dtype !== 'float32')) return null;
    for (const module of unet.modules()) {
      if (module instanceof BatchNorm2d && (module.runningMean === null || module.runningVar === null)) return null;
    }
    // Channels-last sends the 3x3 convolutions to oneDNN, which measured faster on a CPU.
    // NOTE: CUDA keeps the default layout, whose speed with this path has not been measured.
    const layout = channelsLast ?? unet.outc.weight.device === 'cpu';
    const weights = noGrad(() => tidy(() => foldedWeights(unet, layout)));
    return new UNetInference(weights, layout);
  }

  /** Runs the model on `input` `[B, inChannels, H, W]` and returns logits `[B, numClasses, H, W]`. */
  forward(input: Tensor): Tensor {
    return native.unetInference(input, this.#weights, this.#channelsLast);
  }

  /** Frees the folded weights. */
  dispose(): void {
    for (const weight of this.#weights) weight.dispose();
  }
}

/** Folds and lays out the 46 tensors that `native.unetInference` reads, in its order, each a new tensor. */
function foldedWeights(unet: UNet, channelsLast: boolean): Tensor[] {
  const layout = (weight: Tensor): Tensor => (channelsLast ? weight.toChannelsLast() : weight);
  const doubleConv = (block: DoubleConv): Tensor[] => {
    const layers = block.doubleConv;
    const first = fuseConvBnWeights(layers.at(0) as Conv2d, layers.at(1) as BatchNorm2d);
    const second = fuseConvBnWeights(layers.at(3) as Conv2d, layers.at(4) as BatchNorm2d);
    return [layout(first.weight), first.bias, layout(second.weight), second.bias];
  };
  const encoder = [unet.inc, ...[unet.down1, unet.down2, unet.down3, unet.down4].map((down) => down.maxpoolConv.at(1) as DoubleConv)];
  const weights = encoder.flatMap(doubleConv);
  for (const block of [unet.up1, unet.up2, unet.up3, unet.up4]) {
    // The transposed convolution's weight [Cin, Cout, 2, 2] as a [Cin, 4 * Cout] matrix with
    // columns ordered (dy, dx, channel), and its bias repeated for each (dy, dx).
    const [inChannels, outChannels] = block.up.weight.shape as [number, number];
    const matrix = block.up.weight.permute([0, 2, 3, 1]).reshape([inChannels, 4 * outChannels]).contiguous();
    const bias = block.up.bias ?? zeros([outChannels], { device: block.up.weight.device });
    const biases = bias.reshape([1, outChannels]).expand([4, outChannels]).reshape([4 * outChannels]).contiguous();
    weights.push(matrix, biases, ...doubleConv(block.conv));
  }
  // Copies, because the caller disposes every returned tensor and these are the model's own.
  const outputBias = unet.outc.bias ?? zeros([unet.numClasses], { device: unet.outc.weight.device });
  weights.push(layout(unet.outc.weight.clone()), outputBias.clone());
  return weights;
}
