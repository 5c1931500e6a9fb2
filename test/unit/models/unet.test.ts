// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { UNet } from '../../../lib/models/unet.js';
import { native } from '../../../lib/native.js';
import { Adam } from '../../../lib/optim/adam.js';
import { DiceLoss } from '../../../lib/losses/dice.js';
import { manualSeed, rand, randn, tidy } from '../../../lib/tensor.js';
import { PYTHON_UNET, runPython, torchMissingReason } from './python.js';
import { liveTensorsAfterGc } from '../gc.js';

describe('UNet', () => {
  it('rejects: an unknown option, suggesting the right name', () => {
    let caught: unknown;
    try {
      new UNet({ basewidth: 8 } as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code: string }).code).toBe('ERR_OUT_OF_RANGE');
    expect((caught as Error).message).toMatch(/^options\.basewidth is not an option of UNet; .*did you mean baseWidth\?/);
  });

  // Each row: options, input shape [B, C, H, W], expected output shape.
  const cases: Array<[string, ConstructorParameters<typeof UNet>[0], number[], number[]]> = [
    ['a 64x64 slice, width 4', { baseWidth: 4 }, [2, 1, 64, 64], [2, 1, 64, 64]],
    ['a 181x217 MNI slice, width 2', { baseWidth: 2 }, [1, 1, 181, 217], [1, 1, 181, 217]],
    ['a 181x217 slice, width 4, 3 classes', { baseWidth: 4, numClasses: 3 }, [1, 1, 181, 217], [1, 3, 181, 217]],
    ['two input channels, 64x64, width 8', { inChannels: 2, numClasses: 2, baseWidth: 8 }, [1, 2, 64, 64], [1, 2, 64, 64]],
    ['an odd 17x33 input', { baseWidth: 2 }, [3, 1, 17, 33], [3, 1, 17, 33]],
    // Training-mode BatchNorm needs more than one value per channel at the 1x1 bottleneck, so B = 2.
    ['a tiny 5x3 input', { baseWidth: 2 }, [2, 1, 5, 3], [2, 1, 5, 3]],
  ];

  it.each(cases)('maps %s to logits of the input size', (_name, options, inputShape, outputShape) => {
    manualSeed(0);
    const model = new UNet(options);
    const output = model.forward(randn(inputShape));
    expect(output.shape).toEqual(outputShape);
    expect(output.dtype).toBe('float32');
    model.dispose();
  });

  it('reports its architecture', () => {
    const model = new UNet({ inChannels: 2, numClasses: 3, baseWidth: 4 });
    expect(model.architecture).toEqual({ name: 'UNet', inChannels: 2, numClasses: 3, baseWidth: 4 });
  });

  it('defaults to one channel in, one class out, width 64', () => {
    const model = new UNet();
    expect(model.architecture).toEqual({ name: 'UNet', inChannels: 1, numClasses: 1, baseWidth: 64 });
    expect(model.getModule('inc').getModule('double_conv').getModule('0').getParameter('weight').shape).toEqual([64, 1, 3, 3]);
    model.dispose();
  });

  it('uses the classic state-dict keys', () => {
    const keys = [...new UNet({ baseWidth: 4 }).stateDict().keys()];
    for (const key of [
      'inc.double_conv.0.weight',
      'inc.double_conv.1.running_mean',
      'down1.maxpool_conv.1.double_conv.4.running_var',
      'down4.maxpool_conv.1.double_conv.4.num_batches_tracked',
      'up1.up.weight',
      'up1.up.bias',
      'up1.conv.double_conv.0.weight',
      'outc.weight',
      'outc.bias',
    ]) {
      expect(keys).toContain(key);
    }
    expect(keys).not.toContain('inc.double_conv.0.bias');
  });

  it.skipIf(torchMissingReason !== null)(
    `has the same state-dict keys, order and shapes as the PyTorch model${torchMissingReason ? ` (skipped: ${torchMissingReason})` : ''}`,
    () => {
      const script = `${PYTHON_UNET}
import json
model = UNet(2, 3, 4)
print(json.dumps([[k, list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()]))
`;
      const expected = JSON.parse(runPython(script)) as Array<[string, number[], string]>;
      const actual = [...new UNet({ inChannels: 2, numClasses: 3, baseWidth: 4 }).stateDict()].map(([key, value]) => [
        key,
        value.shape,
        `torch.${value.dtype}`,
      ]);
      expect(actual).toEqual(expected);
    },
  );

  it('fills every parameter gradient on backward', () => {
    manualSeed(2);
    const model = new UNet({ baseWidth: 2, numClasses: 2 });
    const output = model.forward(randn([2, 1, 32, 32]));
    output.mul(randn(output.shape)).sum().backward();
    const parameters = model.namedParameters();
    // 9 DoubleConvs of 2 conv weights and 2 BatchNorm affines, 4 up-convolutions with bias, outc.
    expect(parameters.length).toBe(9 * 6 + 4 * 2 + 2);
    for (const [name, parameter] of parameters) {
      const grad = parameter.grad;
      expect(grad, name).not.toBeNull();
      expect(grad!.shape, name).toEqual(parameter.shape);
      expect(Number.isFinite(grad!.abs().sum().item()), name).toBe(true);
    }
  });

  it('keeps the live tensor count flat over 10 training steps', async () => {
    manualSeed(4);
    const model = new UNet({ baseWidth: 2 });
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    const criterion = new DiceLoss();
    const x = randn([2, 1, 16, 16]);
    const y = rand([2, 1, 16, 16]).gt(0.5).to('float32');
    const step = (): void =>
      tidy(() => {
        optimizer.zeroGrad();
        const loss = criterion.forward(model.forward(x), y);
        loss.backward();
        optimizer.step();
      });
    step();
    const before = await liveTensorsAfterGc();
    for (let i = 0; i < 10; i++) step();
    expect(await liveTensorsAfterGc()).toBe(before);
  });

  it.each([
    ['inChannels', { inChannels: 0 }, /^options\.inChannels must be/],
    ['numClasses', { numClasses: 1.5 }, /^options\.numClasses must be/],
    ['baseWidth', { baseWidth: -4 }, /^options\.baseWidth must be/],
  ])('rejects: a non-positive or fractional %s', (_name, options, message) => {
    const call = (): unknown => new UNet(options);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(message) }));
  });

  it('rejects: an input with the wrong channel count', () => {
    const call = (): unknown => new UNet({ baseWidth: 2 }).forward(randn([1, 3, 16, 16]));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^input must be a \[B, 1, H, W\]/) }));
  });
});
