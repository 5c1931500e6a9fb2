// SPDX-License-Identifier: MIT
//
// The classic U-Net (Ronneberger et al., 2015, "U-Net: Convolutional Networks for Biomedical
// Image Segmentation") in the layout of the widely used PyTorch version: double 3x3 convolutions
// with batch norm, four max-pool down steps, four transposed-convolution up steps with skip
// connections, and a 1x1 output convolution. Module names match that PyTorch code, so
// state-dict keys (`inc.double_conv.0.weight`, `up1.up.weight`, `outc.bias`, ...) are the same.

import { Module } from '../nn/module.js';
import { Conv2d, ConvTranspose2d, checkChannels } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { ReLU } from '../nn/activation.js';
import { MaxPool2d } from '../nn/pooling.js';
import { Sequential } from '../nn/container.js';
import { pad } from '../nn/functional.js';
import { cat, checkTensor, formatShape, tidy, type Tensor } from '../tensor.js';
import { checkInt, checkKnownKeys, checkOptions, rangeError } from '../validate.js';

/**
 * Two 3x3 convolutions (padding 1, no bias), each followed by BatchNorm2d and ReLU.
 * Keys: `double_conv.{0,3}.weight` and `double_conv.{1,4}.{weight,bias,running_mean,running_var,num_batches_tracked}`.
 *
 * @example
 * const block = new DoubleConv(1, 64); // [B, 1, H, W] -> [B, 64, H, W]
 */
export class DoubleConv extends Module {
  readonly doubleConv: Sequential;

  /**
   * @param inChannels - Input channels.
   * @param outChannels - Output channels.
   * @param midChannels - Channels between the two convolutions; default `outChannels`.
   */
  constructor(inChannels: number, outChannels: number, midChannels = outChannels) {
    super();
    checkInt('midChannels', midChannels, 1);
    this.doubleConv = this.registerModule(
      'double_conv',
      new Sequential(
        new Conv2d(inChannels, midChannels, 3, { padding: 1, bias: false }),
        new BatchNorm2d(midChannels),
        new ReLU({ inplace: true }),
        new Conv2d(midChannels, outChannels, 3, { padding: 1, bias: false }),
        new BatchNorm2d(outChannels),
        new ReLU({ inplace: true }),
      ),
    );
  }

  /** @param input - `[B, inChannels, H, W]`. @returns `[B, outChannels, H, W]`. */
  override forward(input: Tensor): Tensor {
    return this.doubleConv.forward(input);
  }
}

/**
 * Down-sampling step: 2x2 max pooling, then {@link DoubleConv}. Keys: `maxpool_conv.1.double_conv.*`.
 *
 * @example
 * const down = new DownBlock(64, 128); // [B, 64, H, W] -> [B, 128, H / 2, W / 2]
 */
export class DownBlock extends Module {
  readonly maxpoolConv: Sequential;

  /** @param inChannels - Input channels. @param outChannels - Output channels. */
  constructor(inChannels: number, outChannels: number) {
    super();
    this.maxpoolConv = this.registerModule('maxpool_conv', new Sequential(new MaxPool2d(2), new DoubleConv(inChannels, outChannels)));
  }

  /** @param input - `[B, inChannels, H, W]`. @returns `[B, outChannels, floor(H / 2), floor(W / 2)]`. */
  override forward(input: Tensor): Tensor {
    return this.maxpoolConv.forward(input);
  }
}

/**
 * Up-sampling step: a 2x2 transposed convolution with stride 2 halves the channels and doubles
 * the size, the result is zero-padded to the skip connection's size, concatenated after it
 * along the channels, and passed through {@link DoubleConv}. Keys: `up.weight`, `up.bias`, `conv.double_conv.*`.
 *
 * @example
 * const up = new UpBlock(128, 64);
 * const y = up.forward(deep, skip); // [B, 128, h, w] and [B, 64, H, W] -> [B, 64, H, W]
 */
export class UpBlock extends Module {
  readonly up: ConvTranspose2d;
  readonly conv: DoubleConv;

  /**
   * @param inChannels - Channels of the deeper input; must be even (the skip input has half as many).
   * @param outChannels - Output channels.
   */
  constructor(inChannels: number, outChannels: number) {
    super();
    checkInt('inChannels', inChannels, 2);
    if (inChannels % 2 !== 0) throw rangeError('inChannels', 'an even number', inChannels);
    this.up = this.registerModule('up', new ConvTranspose2d(inChannels, inChannels / 2, 2, { stride: 2 }));
    this.conv = this.registerModule('conv', new DoubleConv(inChannels, outChannels));
  }

  /**
   * @param deep - `[B, inChannels, h, w]` from the level below.
   * @param skip - `[B, inChannels / 2, H, W]` from the encoder, with `H >= 2h` and `W >= 2w`.
   * @returns `[B, outChannels, H, W]`.
   */
  override forward(deep: Tensor, skip: Tensor): Tensor {
    checkTensor('skip', skip);
    return tidy(() => {
      const upsampled = this.up.forward(deep);
      const diffY = (skip.shape[2] as number) - (upsampled.shape[2] as number);
      const diffX = (skip.shape[3] as number) - (upsampled.shape[3] as number);
      if (skip.dim() !== 4 || diffY < 0 || diffX < 0) {
        throw rangeError('skip', `a [B, C, H, W] tensor at least as large as the upsampled ${formatShape(upsampled.shape)}`, formatShape(skip.shape));
      }
      // Split the difference as the PyTorch code does: floor on the left and top, the rest after.
      const padded =
        diffY === 0 && diffX === 0
          ? upsampled
          : pad(upsampled, [Math.floor(diffX / 2), diffX - Math.floor(diffX / 2), Math.floor(diffY / 2), diffY - Math.floor(diffY / 2)]);
      return this.conv.forward(cat([skip, padded], 1));
    });
  }
}

/** Configuration of a {@link UNet}, as recorded in checkpoints. */
export interface UNetArchitecture {
  name: 'UNet';
  inChannels: number;
  numClasses: number;
  baseWidth: number;
}

/** Options of {@link UNet}. */
export interface UNetOptions {
  /** Channels of the input image; default 1. */
  inChannels?: number;
  /** Output channels: 1 for binary segmentation (a logit per pixel), K >= 2 for K classes. Default 1. */
  numClasses?: number;
  /** Channels of the first level; the levels use w, 2w, 4w, 8w and 16w. Default 64. */
  baseWidth?: number;
}

/** Spatial sizes are padded to a multiple of this, because the encoder halves them four times. */
const SIZE_MULTIPLE = 16;

/**
 * The classic U-Net for 2-D segmentation, as in the PyTorch code that most tutorials use
 * (without bilinear up-sampling).
 *
 * `forward` takes `[B, inChannels, H, W]` and returns logits `[B, numClasses, H, W]` for any H
 * and W: when they are not multiples of 16, the input is zero-padded (split evenly between the
 * two sides) and the output is cropped back. Intermediate tensors are freed before `forward`
 * returns; autograd still keeps what `backward()` needs.
 *
 * @example
 * const model = new UNet({ inChannels: 1, numClasses: 1, baseWidth: 16 });
 * const logits = model.forward(randn([2, 1, 181, 217])); // [2, 1, 181, 217]
 * @see https://arxiv.org/abs/1505.04597
 */
export class UNet extends Module {
  readonly inChannels: number;
  readonly numClasses: number;
  readonly baseWidth: number;
  readonly inc: DoubleConv;
  readonly down1: DownBlock;
  readonly down2: DownBlock;
  readonly down3: DownBlock;
  readonly down4: DownBlock;
  readonly up1: UpBlock;
  readonly up2: UpBlock;
  readonly up3: UpBlock;
  readonly up4: UpBlock;
  readonly outc: Conv2d;

  /**
   * @param options - `inChannels` (1), `numClasses` (1), `baseWidth` (64), each a positive integer.
   * @throws TypeError or RangeError for invalid options; RangeError for a key that is not one of these.
   */
  constructor(options?: UNetOptions) {
    super();
    const opts = checkOptions<UNetOptions>('options', options);
    checkKnownKeys('options', opts, ['inChannels', 'numClasses', 'baseWidth'], 'UNet');
    this.inChannels = checkInt('options.inChannels', opts.inChannels ?? 1, 1);
    this.numClasses = checkInt('options.numClasses', opts.numClasses ?? 1, 1);
    const w = checkInt('options.baseWidth', opts.baseWidth ?? 64, 1);
    this.baseWidth = w;

    this.inc = this.registerModule('inc', new DoubleConv(this.inChannels, w));
    this.down1 = this.registerModule('down1', new DownBlock(w, 2 * w));
    this.down2 = this.registerModule('down2', new DownBlock(2 * w, 4 * w));
    this.down3 = this.registerModule('down3', new DownBlock(4 * w, 8 * w));
    this.down4 = this.registerModule('down4', new DownBlock(8 * w, 16 * w));
    this.up1 = this.registerModule('up1', new UpBlock(16 * w, 8 * w));
    this.up2 = this.registerModule('up2', new UpBlock(8 * w, 4 * w));
    this.up3 = this.registerModule('up3', new UpBlock(4 * w, 2 * w));
    this.up4 = this.registerModule('up4', new UpBlock(2 * w, w));
    this.outc = this.registerModule('outc', new Conv2d(w, this.numClasses, 1));
  }

  /** The configuration, as written into checkpoints. */
  get architecture(): UNetArchitecture {
    return { name: 'UNet', inChannels: this.inChannels, numClasses: this.numClasses, baseWidth: this.baseWidth };
  }

  /**
   * @param input - `[B, inChannels, H, W]`, any H and W >= 1.
   * @returns Logits `[B, numClasses, H, W]`.
   * @throws RangeError when `input` is not `[B, inChannels, H, W]`.
   */
  override forward(input: Tensor): Tensor {
    checkChannels(input, this.inChannels, 'UNet');
    const [height, width] = input.shape.slice(2) as [number, number];
    const padHeight = (SIZE_MULTIPLE - (height % SIZE_MULTIPLE)) % SIZE_MULTIPLE;
    const padWidth = (SIZE_MULTIPLE - (width % SIZE_MULTIPLE)) % SIZE_MULTIPLE;
    const top = Math.floor(padHeight / 2);
    const left = Math.floor(padWidth / 2);
    return tidy(() => {
      const x = padHeight === 0 && padWidth === 0 ? input : pad(input, [left, padWidth - left, top, padHeight - top]);
      const x1 = this.inc.forward(x);
      const x2 = this.down1.forward(x1);
      const x3 = this.down2.forward(x2);
      const x4 = this.down3.forward(x3);
      const x5 = this.down4.forward(x4);
      let y = this.up1.forward(x5, x4);
      y = this.up2.forward(y, x3);
      y = this.up3.forward(y, x2);
      y = this.up4.forward(y, x1);
      const logits = this.outc.forward(y);
      if (padHeight === 0 && padWidth === 0) return logits;
      // Crop back to the input's size; the contiguous copy lets the padded output be freed.
      return logits.narrow(2, top, height).narrow(3, left, width).contiguous();
    });
  }
}
