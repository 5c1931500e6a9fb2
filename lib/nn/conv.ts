// SPDX-License-Identifier: MIT
//
// Conv2d and ConvTranspose2d, with PyTorch's constructor arguments, defaults and initialisation.

import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';
import { conv2d, convTranspose2d, toPair, type Size2 } from './functional.js';
import { checkTensor, empty, formatShape, type Tensor } from '../tensor.js';
import { checkBoolean, checkInt, checkOptions, rangeError } from '../validate.js';

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions {
  /** Default 1. */
  stride?: Size2;
  /** Zero padding on each side; default 0. */
  padding?: Size2;
  /** Default 1. */
  dilation?: Size2;
  /** Blocked connections from input to output channels; both channel counts must divide by it. Default 1. */
  groups?: number;
  /** Add a learnable bias; default true. */
  bias?: boolean;
}

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  /** Extra size added to one side of the output; must be smaller than `stride` or `dilation`. Default 0. */
  outputPadding?: Size2;
}

interface ConvConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
}

function checkConvConfig(inChannels: number, outChannels: number, kernelSize: Size2, options: unknown): ConvConfig {
  checkInt('inChannels', inChannels, 1);
  checkInt('outChannels', outChannels, 1);
  const opts = checkOptions<Conv2dLayerOptions>('options', options);
  const groups = checkInt('options.groups', opts.groups ?? 1, 1);
  if (inChannels % groups !== 0) throw rangeError('inChannels', `divisible by \`groups\` (${groups})`, inChannels);
  if (outChannels % groups !== 0) throw rangeError('outChannels', `divisible by \`groups\` (${groups})`, outChannels);
  return {
    inChannels,
    outChannels,
    kernelSize: toPair('kernelSize', kernelSize, 1),
    stride: toPair('options.stride', opts.stride ?? 1, 1),
    padding: toPair('options.padding', opts.padding ?? 0, 0),
    dilation: toPair('options.dilation', opts.dilation ?? 1, 1),
    groups,
    bias: checkBoolean('options.bias', opts.bias ?? true),
  };
}

/** Registers `weight` (and `bias`) initialised as PyTorch's `_ConvNd.reset_parameters`. */
function registerConvParameters(module: Module, weightShape: number[], outChannels: number, bias: boolean): void {
  const weight = empty(weightShape);
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  weight.requiresGrad = true;
  module.registerParameter('weight', weight);
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weightShape);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    const biasTensor = uniform_(empty([outChannels]), -bound, bound);
    biasTensor.requiresGrad = true;
    module.registerParameter('bias', biasTensor);
  } else {
    module.registerParameter('bias', null);
  }
}

/**
 * 2-D convolution layer, as `torch.nn.Conv2d`.
 *
 * Parameters: `weight` `[outChannels, inChannels / groups, kH, kW]` and `bias` `[outChannels]`
 * (absent when `bias` is false), both from U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with
 * `fanIn = inChannels / groups * kH * kW`, as PyTorch's default initialisation.
 *
 * @example
 * const conv = new Conv2d(1, 16, 3, { padding: 1, bias: false });
 * const y = conv.forward(x); // [B, 1, H, W] -> [B, 16, H, W]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  /**
   * @param inChannels - Channels of the input.
   * @param outChannels - Channels of the output.
   * @param kernelSize - Kernel size, a number or `[kH, kW]`.
   * @param options - `stride` (1), `padding` (0), `dilation` (1), `groups` (1), `bias` (true).
   * @throws TypeError or RangeError for invalid arguments.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options?: Conv2dLayerOptions) {
    super();
    const config = checkConvConfig(inChannels, outChannels, kernelSize, options);
    this.inChannels = config.inChannels;
    this.outChannels = config.outChannels;
    this.kernelSize = config.kernelSize;
    this.stride = config.stride;
    this.padding = config.padding;
    this.dilation = config.dilation;
    this.groups = config.groups;
    registerConvParameters(this, [outChannels, inChannels / config.groups, ...config.kernelSize], outChannels, config.bias);
  }

  /** `[outChannels, inChannels / groups, kH, kW]`. */
  get weight(): Tensor {
    return this.getParameter('weight');
  }

  /** `[outChannels]`, or null when built with `bias: false`. */
  get bias(): Tensor | null {
    return this.getOptionalParameter('bias');
  }

  /**
   * @param input - `[B, inChannels, H, W]`.
   * @returns `[B, outChannels, H_out, W_out]`.
   */
  override forward(input: Tensor): Tensor {
    checkChannels(input, this.inChannels, this.constructor.name);
    return conv2d(input, this.weight, {
      bias: this.bias,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/**
 * 2-D transposed convolution layer, as `torch.nn.ConvTranspose2d` (the U-Net's up-sampling).
 *
 * Parameters: `weight` `[inChannels, outChannels / groups, kH, kW]` and `bias` `[outChannels]`,
 * initialised as PyTorch does, with `fanIn = outChannels / groups * kH * kW` (PyTorch computes
 * fan in from the weight's second dimension for both convolution kinds).
 *
 * @example
 * const up = new ConvTranspose2d(64, 32, 2, { stride: 2 });
 * const y = up.forward(x); // [B, 64, H, W] -> [B, 32, 2H, 2W]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html
 */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  /**
   * @param inChannels - Channels of the input.
   * @param outChannels - Channels of the output.
   * @param kernelSize - Kernel size, a number or `[kH, kW]`.
   * @param options - `stride` (1), `padding` (0), `outputPadding` (0), `groups` (1), `bias` (true), `dilation` (1).
   * @throws TypeError or RangeError for invalid arguments.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options?: ConvTranspose2dLayerOptions) {
    super();
    const config = checkConvConfig(inChannels, outChannels, kernelSize, options);
    const opts = checkOptions<ConvTranspose2dLayerOptions>('options', options);
    const outputPadding = toPair('options.outputPadding', opts.outputPadding ?? 0, 0);
    for (const i of [0, 1] as const) {
      if (outputPadding[i] >= config.stride[i] && outputPadding[i] >= config.dilation[i]) {
        throw rangeError(
          'options.outputPadding',
          `smaller than \`stride\` ${formatShape(config.stride)} or \`dilation\` ${formatShape(config.dilation)}`,
          outputPadding,
        );
      }
    }
    this.inChannels = config.inChannels;
    this.outChannels = config.outChannels;
    this.kernelSize = config.kernelSize;
    this.stride = config.stride;
    this.padding = config.padding;
    this.outputPadding = outputPadding;
    this.dilation = config.dilation;
    this.groups = config.groups;
    registerConvParameters(this, [inChannels, outChannels / config.groups, ...config.kernelSize], outChannels, config.bias);
  }

  /** `[inChannels, outChannels / groups, kH, kW]`. */
  get weight(): Tensor {
    return this.getParameter('weight');
  }

  /** `[outChannels]`, or null when built with `bias: false`. */
  get bias(): Tensor | null {
    return this.getOptionalParameter('bias');
  }

  /**
   * @param input - `[B, inChannels, H, W]`.
   * @returns `[B, outChannels, H_out, W_out]`, `H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + outputPadding + 1`.
   */
  override forward(input: Tensor): Tensor {
    checkChannels(input, this.inChannels, this.constructor.name);
    return convTranspose2d(input, this.weight, {
      bias: this.bias,
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }
}

/** Rejects an input that is not `[B, channels, H, W]`, naming the layer. */
export function checkChannels(input: Tensor, channels: number, layer: string): void {
  checkTensor('input', input);
  if (input.dim() !== 4 || input.shape[1] !== channels) {
    throw rangeError('input', `a [B, ${channels}, H, W] tensor for ${layer}`, formatShape(input.shape));
  }
}
