// SPDX-License-Identifier: MIT
//
// The medunet side of the parity tests: it rebuilds the formula weights, input and targets of
// scripts/gen-golden.py, runs the same forward, loss, backward and optimizer steps, and compares
// the results with the records that script writes (test/fixtures/golden/*.json) or prints.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { DiceLoss } from '../../lib/losses/dice.js';
import { UNet } from '../../lib/models/unet.js';
import { Adam } from '../../lib/optim/adam.js';
import { type Optimizer } from '../../lib/optim/optimizer.js';
import { SGD } from '../../lib/optim/sgd.js';
import { noGrad, tensor, tidy, type Tensor } from '../../lib/tensor.js';

export const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GOLDEN_DIR = join(REPOSITORY, 'test', 'fixtures', 'golden');
export const GEN_GOLDEN = join(REPOSITORY, 'scripts', 'gen-golden.py');

const BATCH = 2;
const LEARNING_RATE = 1e-2;
const STEPS = 3;

/** A tensor as the generator stores it: every value, or sums plus a fixed sample when large. */
export interface TensorRecord {
  shape: number[];
  values: number[];
  indices?: number[];
  sum?: number;
  sumAbs?: number;
  sumSq?: number;
}

/** Parameter updates (after minus before, in float32) and buffers after the optimizer steps. */
export interface StepsRecord {
  updates: Record<string, TensorRecord>;
  buffers: Record<string, TensorRecord>;
}

/** One configuration's record, as written by scripts/gen-golden.py. */
export interface GoldenRecord {
  header: string;
  torch: string;
  config: { baseWidth: number; numClasses: number; inputShape: [number, number, number, number] };
  padding: [number, number, number, number];
  checksums: { weights: string; input: string; labels: string };
  logits: { train: TensorRecord; eval: TensorRecord };
  loss: number;
  grads: Record<string, TensorRecord>;
  buffers: Record<string, TensorRecord>;
  adam: StepsRecord;
  sgd: StepsRecord;
}

/** A tensor copied out of libtorch: its shape and its values as numbers (int64 included). */
export interface Captured {
  shape: number[];
  values: Float64Array;
}

/** The same quantities as {@link GoldenRecord}, computed by medunet. */
export interface MedunetRun {
  checksums: { weights: string; input: string; labels: string };
  logits: { train: Captured; eval: Captured };
  loss: number;
  grads: Map<string, Captured>;
  buffers: Map<string, Captured>;
  adam: StepsRun;
  sgd: StepsRun;
}

/** Parameter updates and buffers after medunet's optimizer steps, with the weights they started from. */
export interface StepsRun {
  updates: Map<string, Captured>;
  buffers: Map<string, Captured>;
  before: Map<string, Captured>;
}

/** Reads a fixture from test/fixtures/golden. */
export function loadGolden(name: string): GoldenRecord {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, name), 'utf8')) as GoldenRecord;
}

/** Rounds float64 values to float32 once, as the generator's `.to(torch.float32)` does. */
function float32From(count: number, value: (i: number) => number): Float32Array {
  const result = new Float32Array(count);
  for (let i = 0; i < count; i++) result[i] = value(i);
  return result;
}

type ParameterKind = 'convWeight' | 'bnWeight' | 'bnBias' | 'convBias';

function parameterKind(key: string, shape: number[], stateKeys: Set<string>): ParameterKind {
  if (shape.length === 4) return 'convWeight';
  const prefix = key.slice(0, key.lastIndexOf('.'));
  if (stateKeys.has(`${prefix}.running_mean`)) return key.endsWith('.weight') ? 'bnWeight' : 'bnBias';
  return 'convBias';
}

/** Returns the values of parameter number `k`, by the formulas documented in scripts/gen-golden.py. */
export function formulaValues(kind: ParameterKind, k: number, shape: number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const angle = (i: number): number => 0.7 * i + 1.3 * k + 0.1;
  switch (kind) {
    case 'convWeight': {
      const scale = 1 / Math.sqrt((shape[1] as number) * (shape[2] as number) * (shape[3] as number));
      return float32From(count, (i) => scale * Math.sin(angle(i)));
    }
    case 'bnWeight':
      return float32From(count, (i) => 1 + 0.1 * Math.sin(angle(i)));
    case 'bnBias':
      return float32From(count, (i) => 0.1 * Math.cos(angle(i)));
    case 'convBias':
      return float32From(count, (i) => 0.1 * Math.sin(angle(i)));
  }
}

/** Returns the formula value of every parameter of `model`, keyed as in its state dict. */
export function formulaWeights(model: UNet): Map<string, { shape: number[]; values: Float32Array }> {
  const stateKeys = new Set(model.stateDict({ keepVars: true }).keys());
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  model.namedParameters().forEach(([key, parameter], k) => {
    const shape = parameter.shape;
    weights.set(key, { shape, values: formulaValues(parameterKind(key, shape, stateKeys), k, shape) });
  });
  return weights;
}

/** Builds a UNet and writes the formula weights into it with `loadStateDict`; buffers keep their defaults. */
export function formulaModel(baseWidth: number, numClasses: number): UNet {
  const model = new UNet({ inChannels: 1, numClasses, baseWidth });
  tidy(() => {
    const dict = new Map<string, Tensor>();
    for (const [key, { shape, values }] of formulaWeights(model)) dict.set(key, tensor(values, shape));
    const { missingKeys, unexpectedKeys } = model.loadStateDict(dict, { strict: false });
    const buffers = model.namedBuffers().map(([key]) => key);
    if (unexpectedKeys.length > 0 || missingKeys.join() !== buffers.join()) {
      throw new Error(`formula weights do not cover the parameters: missing ${missingKeys.join()}, unexpected ${unexpectedKeys.join()}`);
    }
  });
  return model;
}

/** Returns the formula input `[B, 1, H, W]`, whose element i is `sin(0.05 i) + 0.3 cos(0.11 i)`. */
export function formulaInput(height: number, width: number): Float32Array {
  return float32From(BATCH * height * width, (i) => Math.sin(0.05 * i) + 0.3 * Math.cos(0.11 * i));
}

/** Returns the blob labels `[B, 1, H, W]` of `make_labels` in scripts/gen-golden.py: 0, 1 (ellipse) and 2 (disc). */
export function formulaLabels(height: number, width: number): Uint8Array {
  const labels = new Uint8Array(BATCH * height * width);
  const ry = Math.max(2, Math.floor(height / 4));
  const rx = Math.max(2, Math.floor(width / 3));
  const radius = Math.max(1, Math.floor(Math.min(height, width) / 8));
  for (let b = 0; b < BATCH; b++) {
    const cy = Math.floor(height / 2) - 3 + 4 * b;
    const cx = Math.floor(width / 2) + 2 - 3 * b;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const dy = y - cy;
        const dx = x - cx;
        if (dy * dy * rx * rx + dx * dx * ry * ry <= rx * rx * ry * ry) {
          labels[(b * height + y) * width + x] = dy * dy + dx * dx <= radius * radius ? 2 : 1;
        }
      }
    }
  }
  return labels;
}

/**
 * Returns the SHA-256 of the arrays' bytes, concatenated. The bytes are in the machine's order, which
 * equals the generator's little-endian `<f4` on little-endian CPUs such as x86-64 and AArch64.
 */
export function sha256(...arrays: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const array of arrays) hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return hash.digest('hex');
}

function capture(value: Tensor): Captured {
  const data = value.data();
  const values = data instanceof BigInt64Array ? Float64Array.from(data, Number) : Float64Array.from(data as ArrayLike<number>);
  return { shape: value.shape, values };
}

function captureAll(entries: Array<[string, Tensor]>): Map<string, Captured> {
  return new Map(entries.map(([key, value]) => [key, capture(value)]));
}

/** Builds the DiceLoss target: a float 0/1 mask for one class, else the labels as int64. */
function makeTarget(labels: Uint8Array, numClasses: number, shape: number[]): Tensor {
  const mask = Float32Array.from(labels, (label) => (numClasses === 1 ? Number(label >= 1) : label));
  const target = tensor(mask, shape);
  return numClasses === 1 ? target : target.to('int64');
}

function trainSteps(model: UNet, optimizer: Optimizer, input: Tensor, target: Tensor): StepsRun {
  const before = captureAll(model.namedParameters());
  const criterion = new DiceLoss();
  model.train();
  for (let step = 0; step < STEPS; step++) {
    tidy(() => {
      optimizer.zeroGrad();
      criterion.forward(model.forward(input), target).backward();
      optimizer.step();
    });
  }
  const updates = new Map<string, Captured>();
  for (const [key, after] of captureAll(model.namedParameters())) {
    const start = (before.get(key) as Captured).values;
    updates.set(key, { shape: after.shape, values: after.values.map((value, i) => Math.fround(value - (start[i] as number))) });
  }
  return { updates, buffers: captureAll(model.namedBuffers()), before };
}

/** Runs one configuration through medunet as scripts/gen-golden.py runs it through PyTorch. */
export function runMedunet(baseWidth: number, numClasses: number, height: number, width: number): MedunetRun {
  const shape = [BATCH, 1, height, width];
  const inputValues = formulaInput(height, width);
  const labels = formulaLabels(height, width);
  const input = tensor(inputValues, shape);
  const target = makeTarget(labels, numClasses, shape);

  // One training-mode forward and backward, then an evaluation forward with the updated running statistics.
  const model = formulaModel(baseWidth, numClasses);
  const weights = model.parameters().map((parameter) => parameter.data());
  model.train();
  const trained = tidy(() => {
    const logits = model.forward(input);
    const loss = new DiceLoss().forward(logits, target);
    loss.backward();
    return { logits: capture(logits), loss: loss.item() };
  });
  const grads = new Map(model.namedParameters().map(([key, parameter]) => [key, capture(parameter.grad as Tensor)]));
  const buffers = captureAll(model.namedBuffers());
  model.eval();
  const evalLogits = noGrad(() => tidy(() => capture(model.forward(input))));
  model.dispose();

  const adamModel = formulaModel(baseWidth, numClasses);
  const adam = trainSteps(adamModel, new Adam(adamModel.parameters(), { lr: LEARNING_RATE }), input, target);
  adamModel.dispose();
  const sgdModel = formulaModel(baseWidth, numClasses);
  const sgdOptimizer = new SGD(sgdModel.parameters(), { lr: LEARNING_RATE, momentum: 0.9, weightDecay: 1e-4 });
  const sgd = trainSteps(sgdModel, sgdOptimizer, input, target);
  sgdModel.dispose();

  return {
    checksums: { weights: sha256(...weights), input: sha256(inputValues), labels: sha256(labels) },
    logits: { train: trained.logits, eval: evalLogits },
    loss: trained.loss,
    grads,
    buffers,
    adam,
    sgd,
  };
}

/**
 * Allowed difference per element: `|actual - expected| <= rtol |expected| + atol rms(expected) + floor`.
 * Here rms is the root mean square of the whole expected tensor, so `atol` is relative to the
 * tensor's scale, because gradients range from 1e-11 to 1e-2 in these models. The optional
 * `floor` is a per-element allowance, such as the rounding of a parameter when its update is compared.
 */
export interface Tolerance {
  rtol: number;
  atol: number;
}

function rootMeanSquare(record: TensorRecord): number {
  const count = record.shape.reduce((a, b) => a * b, 1);
  if (count === 0) return 0;
  const sumSq = record.sumSq ?? record.values.reduce((total, value) => total + value * value, 0);
  return Math.sqrt(sumSq / count);
}

/** Returns `difference / allowance`, which is 0 for equal values and at most 1 for a pass. */
function ratioOf(difference: number, allowance: number): number {
  if (difference === 0) return 0;
  return Number.isNaN(difference) ? Infinity : difference / allowance;
}

/**
 * Compares a medunet tensor with its record: every stored element, and for a summary also the
 * sums, against bounds that follow from the per-element bound. Returns the worst ratio of a
 * difference to its allowance (at most 1 passes), so callers can report the margin.
 */
export function compareTensor(label: string, actual: Captured, expected: TensorRecord, tol: Tolerance, floor?: Float64Array): number {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  const scaled = tol.atol * rootMeanSquare(expected);
  const floorAt = (index: number): number => (floor === undefined ? 0 : (floor[index] as number));
  let worst = { ratio: 0, index: 0, actual: 0, expected: 0 };
  expected.values.forEach((e, j) => {
    const index = expected.indices === undefined ? j : (expected.indices[j] as number);
    const a = actual.values[index] as number;
    const ratio = ratioOf(Math.abs(a - e), tol.rtol * Math.abs(e) + scaled + floorAt(index));
    if (ratio > worst.ratio) worst = { ratio, index, actual: a, expected: e };
  });
  expect(worst.ratio, `${label}: element ${worst.index} is ${worst.actual}, expected ${worst.expected}`).toBeLessThanOrEqual(1);
  if (expected.sum === undefined) return worst.ratio;

  // With δ_i <= rtol |e_i| + s_i, where s_i = atol rms + floor_i, it follows that
  //   |Σa - Σe| and |Σ|a| - Σ|e||  <= rtol Σ|e| + Σ s_i
  //   |Σa² - Σe²| <= Σ δ_i (2 |e_i| + δ_i) <= (2 rtol + rtol²) Σe² + 2 (1 + rtol) Σ s_i |e_i| + Σ s_i²,
  // and the last two are bounded with max s_i. The stored sums are rounded to 9 significant digits (1e-8 more).
  const n = actual.values.length;
  let sum = 0;
  let sumAbs = 0;
  let sumSq = 0;
  let sumS = 0;
  let maxS = 0;
  actual.values.forEach((value, i) => {
    sum += value;
    sumAbs += Math.abs(value);
    sumSq += value * value;
    const s = scaled + floorAt(i);
    sumS += s;
    maxS = Math.max(maxS, s);
  });
  const storedSumAbs = expected.sumAbs as number;
  const storedSumSq = expected.sumSq as number;
  const linear = tol.rtol * storedSumAbs + sumS + 1e-8 * storedSumAbs;
  const quadratic = (2 * tol.rtol + tol.rtol ** 2 + 1e-8) * storedSumSq + 2 * (1 + tol.rtol) * maxS * storedSumAbs + n * maxS * maxS;
  const ratios = [
    ratioOf(Math.abs(sum - (expected.sum as number)), linear),
    ratioOf(Math.abs(sumAbs - storedSumAbs), linear),
    ratioOf(Math.abs(sumSq - storedSumSq), quadratic),
  ];
  expect(ratios[0], `${label}: sum is ${sum}, expected ${expected.sum}`).toBeLessThanOrEqual(1);
  expect(ratios[1], `${label}: sum of |x| is ${sumAbs}, expected ${storedSumAbs}`).toBeLessThanOrEqual(1);
  expect(ratios[2], `${label}: sum of squares is ${sumSq}, expected ${storedSumSq}`).toBeLessThanOrEqual(1);
  return Math.max(worst.ratio, ...(ratios as number[]));
}

/**
 * Compares every tensor of `expected` with medunet's tensor of the same key, in the same key
 * order; `floors` gives optional per-element allowances by key. Returns the worst ratio.
 */
export function compareTensors(
  label: string,
  actual: Map<string, Captured>,
  expected: Record<string, TensorRecord>,
  tol: Tolerance,
  floors?: Map<string, Float64Array>,
): number {
  expect([...actual.keys()], `${label}: keys`).toEqual(Object.keys(expected));
  let worst = 0;
  for (const [key, record] of Object.entries(expected)) {
    worst = Math.max(worst, compareTensor(`${label} ${key}`, actual.get(key) as Captured, record, tol, floors?.get(key)));
  }
  return worst;
}

/**
 * Per-element allowance for comparing parameter updates: `ulps` units in the last place of
 * float32 at each starting weight, because the parameter after a step is rounded to float32.
 */
export function roundingFloors(before: Map<string, Captured>, ulps: number): Map<string, Float64Array> {
  const epsilon = 2 ** -23;
  return new Map([...before].map(([key, start]) => [key, start.values.map((value) => ulps * epsilon * Math.abs(value))]));
}
