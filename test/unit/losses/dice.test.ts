// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { DiceLoss, type DiceLossOptions } from '../../../lib/losses/dice.js';
import { full, manualSeed, randn, tensor, zeros, ones, type Tensor } from '../../../lib/tensor.js';

/**
 * Reference soft Dice loss in plain JavaScript over `[B, K, N]` logits (N pixels) and labels
 * `[B, N]`, written from the formula rather than from the implementation under test.
 */
function referenceDice(
  logits: Float32Array,
  labels: number[],
  [b, k, n]: [number, number, number],
  { smooth = 1, activation = 'softmax', includeBackground = true, batch = true }: { smooth?: number; activation?: 'sigmoid' | 'softmax'; includeBackground?: boolean; batch?: boolean },
): number {
  const prob = (s: number, c: number, i: number): number => {
    const at = (cc: number): number => logits[(s * k + cc) * n + i]!;
    if (activation === 'sigmoid') return 1 / (1 + Math.exp(-at(c)));
    let denominator = 0;
    for (let cc = 0; cc < k; cc++) denominator += Math.exp(at(cc));
    return Math.exp(at(c)) / denominator;
  };
  const truth = (s: number, c: number, i: number): number => {
    const label = labels[s * n + i]!;
    if (k === 1) return label;
    return label === c ? 1 : 0;
  };
  const classes = Array.from({ length: k }, (_, c) => c).filter((c) => includeBackground || k === 1 || c > 0);
  const groups = batch ? [Array.from({ length: b }, (_, s) => s)] : Array.from({ length: b }, (_, s) => [s]);
  const scores: number[] = [];
  for (const samples of groups) {
    for (const c of classes) {
      let intersection = 0;
      let sumP = 0;
      let sumT = 0;
      for (const s of samples) {
        for (let i = 0; i < n; i++) {
          intersection += prob(s, c, i) * truth(s, c, i);
          sumP += prob(s, c, i);
          sumT += truth(s, c, i);
        }
      }
      scores.push((2 * intersection + smooth) / (sumP + sumT + smooth));
    }
  }
  return 1 - scores.reduce((a, v) => a + v, 0) / scores.length;
}

function randomLabels(count: number, classes: number, seed: number): number[] {
  // A small linear congruential generator keeps the labels repeatable without libtorch.
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % classes;
  });
}

describe('DiceLoss', () => {
  it('is 0 when prediction and target are both empty', () => {
    const loss = new DiceLoss().forward(full([2, 1, 4, 4], -30), zeros([2, 1, 4, 4]));
    expect(loss.item()).toBeCloseTo(0, 6);
  });

  it('is 1 - 1/(P + 1) for an empty target and a full prediction', () => {
    const loss = new DiceLoss().forward(full([2, 1, 4, 4], 30), zeros([2, 1, 4, 4]));
    expect(loss.item()).toBeCloseTo(1 - 1 / 33, 5);
  });

  it('is 1 - 1/(T + 1) for an empty prediction and a full target', () => {
    const loss = new DiceLoss().forward(full([2, 1, 4, 4], -30), ones([2, 1, 4, 4]));
    expect(loss.item()).toBeCloseTo(1 - 1 / 33, 5);
  });

  it('is NaN on empty masks without smoothing', () => {
    const loss = new DiceLoss({ smooth: 0 }).forward(full([1, 1, 2, 2], -200), zeros([1, 1, 2, 2]));
    expect(Number.isNaN(loss.item())).toBe(true);
  });

  // Each row: options, logits shape [B, K, H, W], the activation the reference must use.
  const cases: Array<[string, DiceLossOptions, [number, number, number, number], 'sigmoid' | 'softmax']> = [
    ['auto picks sigmoid for one channel', {}, [2, 1, 3, 4], 'sigmoid'],
    ['auto picks softmax for two channels', {}, [2, 2, 3, 4], 'softmax'],
    ['softmax over three classes', { activation: 'softmax' }, [2, 3, 4, 4], 'softmax'],
    ['per-sample dice', { batch: false }, [3, 3, 2, 5], 'softmax'],
    ['background excluded', { includeBackground: false }, [2, 3, 4, 4], 'softmax'],
    ['smooth 1e-5', { smooth: 1e-5 }, [2, 2, 4, 4], 'softmax'],
  ];

  it.each(cases)('matches the formula: %s', (_name, options, shape, activation) => {
    manualSeed(7);
    const [b, k, h, w] = shape;
    const logits = randn(shape);
    const labels = randomLabels(b * h * w, Math.max(k, 2), 11);
    const target = tensor(Float32Array.from(labels), [b, 1, h, w]);
    const loss = new DiceLoss(options).forward(logits, target);
    const expected = referenceDice(logits.data() as Float32Array, labels, [b, k, h * w], { ...options, activation });
    expect(loss.shape).toEqual([]);
    expect(loss.item()).toBeCloseTo(expected, 5);
  });

  it('does not score a two-class output with sigmoid unless asked', () => {
    manualSeed(8);
    const logits = randn([2, 2, 4, 4]);
    const labels = randomLabels(32, 2, 3);
    const target = tensor(Float32Array.from(labels), [2, 1, 4, 4]);
    const auto = new DiceLoss().forward(logits, target).item();
    const sigmoidValue = referenceDice(logits.data() as Float32Array, labels, [2, 2, 16], { activation: 'sigmoid' });
    expect(auto).toBeCloseTo(referenceDice(logits.data() as Float32Array, labels, [2, 2, 16], { activation: 'softmax' }), 5);
    expect(Math.abs(auto - sigmoidValue)).toBeGreaterThan(1e-3);
  });

  it('scores each channel on its own with sigmoid and a one-hot target', () => {
    manualSeed(9);
    const logits = randn([1, 2, 2, 2]);
    const target = tensor([1, 0, 1, 0, 0, 1, 1, 1], [1, 2, 2, 2]);
    const value = new DiceLoss({ activation: 'sigmoid' }).forward(logits, target).item();
    const p = Array.from(logits.data() as Float32Array, (v) => 1 / (1 + Math.exp(-v)));
    const t = [1, 0, 1, 0, 0, 1, 1, 1];
    const channel = (c: number): number => {
      const range = [0, 1, 2, 3].map((i) => c * 4 + i);
      const inter = range.reduce((a, i) => a + p[i]! * t[i]!, 0);
      const sum = range.reduce((a, i) => a + p[i]! + t[i]!, 0);
      return (2 * inter + 1) / (sum + 1);
    };
    expect(value).toBeCloseTo(1 - (channel(0) + channel(1)) / 2, 5);
  });

  it('accepts targets without a channel dimension', () => {
    manualSeed(10);
    const logits = randn([2, 3, 4, 4]);
    const labels = tensor(Float32Array.from(randomLabels(32, 3, 5)), [2, 4, 4]);
    const withChannel = new DiceLoss().forward(logits, labels.unsqueeze(1)).item();
    expect(new DiceLoss().forward(logits, labels).item()).toBeCloseTo(withChannel, 6);
  });

  it('passes gradients to the logits', () => {
    const logits = randn([2, 2, 4, 4]);
    logits.requiresGrad = true;
    new DiceLoss().forward(logits, zeros([2, 1, 4, 4])).backward();
    expect(logits.grad).not.toBeNull();
    expect(logits.grad!.abs().sum().item()).toBeGreaterThan(0);
  });

  it('warns once when includeBackground is false for one channel', async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', listener);
    const loss = new DiceLoss({ includeBackground: false });
    loss.forward(randn([1, 1, 2, 2]), zeros([1, 1, 2, 2]));
    loss.forward(randn([1, 1, 2, 2]), zeros([1, 1, 2, 2]));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', listener);
    expect(warnings.filter((w) => (w as Error & { code?: string }).code === 'MEDUNET_DICE_OPTION_IGNORED')).toHaveLength(1);
  });

  // Each row: logits shape, target shape, options.
  const badShapes: Array<[string, number[], number[], DiceLossOptions]> = [
    ['a spatial size mismatch', [2, 1, 4, 4], [2, 1, 5, 4], {}],
    ['a batch size mismatch', [2, 3, 4, 4], [3, 1, 4, 4], {}],
    ['a channel count that is neither 1 nor K', [2, 3, 4, 4], [2, 2, 4, 4], {}],
    ['class labels for multi-label sigmoid', [2, 2, 4, 4], [2, 1, 4, 4], { activation: 'sigmoid' }],
  ];

  it.each(badShapes)('rejects: %s, naming both shapes', (_name, inputShape, targetShape, options) => {
    const call = (): unknown => new DiceLoss(options).forward(randn(inputShape), zeros(targetShape));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(
      expect.objectContaining({
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringMatching(new RegExp(`^target must be .*\\[${inputShape.join(', ')}\\].*got "\\[${targetShape.join(', ')}\\]"`)),
      }),
    );
  });

  it('rejects: softmax on a single channel', () => {
    const call = (): unknown => new DiceLoss({ activation: 'softmax' }).forward(randn([1, 1, 2, 2]), zeros([1, 1, 2, 2]));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/^input must be a tensor with at least 2 channels/) }));
  });

  it.each([
    ['smooth', { smooth: -1 }, RangeError, /^options\.smooth must be/],
    ['activation', { activation: 'tanh' as 'none' }, RangeError, /^options\.activation must be/],
    ['batch', { batch: 'yes' as unknown as boolean }, TypeError, /^options\.batch must be/],
    ['key', { includeBackgound: false } as unknown as DiceLossOptions, RangeError, /^options\.includeBackgound is not an option of DiceLoss; .*\(did you mean includeBackground\?\)$/],
  ] as const)('rejects: a bad %s option', (_name, options, errorClass, message) => {
    const call = (): unknown => new DiceLoss(options);
    expect(call).toThrow(errorClass);
    const code = errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE';
    expect(call).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  // Each row: the class-label target of a 3-class input [1, 3, 2, 2], and the value the message must report.
  it.each([
    ['a label equal to the class count', [0, 1, 2, 3], 'float32', 'got 3$'],
    ['a label far above the class count', [0, 7, 1, 2], 'int64', 'got 7$'],
    ['a negative label', [0, -1, 1, 2], 'int32', 'got -1$'],
    ['a fractional label', [0, 0.5, 1, 2], 'float32', 'got 0\\.5$'],
    ['a NaN label', [0, Number.NaN, 1, 2], 'float32', 'got NaN$'],
    ['an infinite label', [0, Number.POSITIVE_INFINITY, 1, 2], 'float64', 'got Infinity$'],
  ] as const)('rejects: %s in a class-label target', (_case, values, dtype, got) => {
    const target = tensor([...values], [1, 1, 2, 2], { dtype });
    const call = (): unknown => new DiceLoss().forward(randn([1, 3, 2, 2]), target);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(
      expect.objectContaining({
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringMatching(new RegExp(`^target must be integer class labels in \\[0, 2\\] for the 3 classes of \`input\` \\[1, 3, 2, 2\\]; ${got}`)),
      }),
    );
  });

  it('accepts every class label from 0 to K - 1 in any dtype', () => {
    for (const dtype of ['float32', 'float64', 'int64', 'int32', 'uint8'] as const) {
      const loss = new DiceLoss().forward(randn([1, 3, 2, 2]), tensor([0, 1, 2, 2], [1, 2, 2], { dtype }));
      expect(Number.isFinite(loss.item()), dtype).toBe(true);
    }
  });

  it('rejects: a target that is not a tensor', () => {
    const call = (): unknown => new DiceLoss().forward(randn([1, 1, 2, 2]), [0, 1] as unknown as Tensor);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^target must be/) }));
  });
});
