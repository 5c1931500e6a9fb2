// SPDX-License-Identifier: MIT
//
// Training and prediction on the executor's worker thread, compared with the same work on the
// main thread. The worker runs the compiled dist/engine/executor-worker.js, so these tests need
// `npm run build:ts` first.

import { describe, expect, it } from 'vitest';
import { workerExecArgv, workerScriptPath } from '../../../lib/engine/executor.js';
import { predictVolume, type PredictOptions } from '../../../lib/engine/predict.js';
import { trainModel, trainStep, trainStepAsync, type TrainOptions } from '../../../lib/engine/train.js';
import { DiceLoss } from '../../../lib/losses/dice.js';
import { UNet } from '../../../lib/models/unet.js';
import { Adam } from '../../../lib/optim/adam.js';
import { type Optimizer } from '../../../lib/optim/optimizer.js';
import { SGD } from '../../../lib/optim/sgd.js';
import { manualSeed, noGrad, tensor, tidy, type Tensor } from '../../../lib/tensor.js';
import { seededRandom, squareBatches } from './synthetic.js';

type OptimizerKind = 'Adam' | 'SGD';

function setup(kind: OptimizerKind, seed = 3): { model: UNet; optimizer: Optimizer } {
  manualSeed(seed);
  const model = new UNet({ baseWidth: 4 });
  const optimizer = kind === 'Adam' ? new Adam(model.parameters(), { lr: 0.01 }) : new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  return { model, optimizer };
}

/** Copies every parameter and buffer of a model, by name, as float64 values. */
function snapshot(model: UNet): Map<string, number[]> {
  const members = [...model.namedParameters(), ...model.namedBuffers()];
  return new Map(members.map(([name, value]) => [name, tidy(() => Array.from(value.to('float64').data() as Float64Array))]));
}

/** Returns the largest absolute difference between two snapshots of the same model. */
function maxDifference(a: Map<string, number[]>, b: Map<string, number[]>): number {
  expect([...a.keys()]).toEqual([...b.keys()]);
  let max = 0;
  for (const [name, values] of a) {
    const other = b.get(name) as number[];
    values.forEach((value, i) => {
      max = Math.max(max, Math.abs(value - (other[i] as number)));
    });
  }
  return max;
}

function batchTensorsOf(seed: number): { images: Tensor; masks: Tensor } {
  const [batch] = squareBatches(1, 2, 32, seed);
  return { images: tensor(batch!.images, [2, 1, 32, 32]), masks: tensor(batch!.masks as Float32Array, [2, 1, 32, 32]) };
}

async function captureRejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('the promise did not reject');
}

class CustomUNet extends UNet {}

describe('executor worker script', () => {
  it('is located next to each build of the executor', () => {
    expect(workerScriptPath('file:///pkg/dist/index.cjs')).toBe('/pkg/dist/executor-worker.cjs');
    expect(workerScriptPath('file:///pkg/dist/engine/executor.js')).toBe('/pkg/dist/engine/executor-worker.js');
    expect(workerScriptPath('file:///pkg/lib/engine/executor.ts')).toBe('/pkg/dist/engine/executor-worker.js');
  });

  it('gets the Node options of the main thread except --input-type', () => {
    expect(workerExecArgv(['--expose-gc', '--input-type=module', '-e', 'code'])).toEqual(['--expose-gc', '-e', 'code']);
    expect(workerExecArgv(['--input-type', 'module', '--max-old-space-size=512'])).toEqual(['--max-old-space-size=512']);
  });
});

describe('trainStepAsync', () => {
  for (const kind of ['Adam', 'SGD'] as const) {
    it(`matches trainStep with ${kind}`, async () => {
      const main = setup(kind);
      const worker = setup(kind);
      const loss = new DiceLoss();
      for (let step = 0; step < 3; step++) {
        const { images, masks } = batchTensorsOf(10 + step);
        const expected = trainStep(main.model, main.optimizer, loss, images, masks);
        const actual = await trainStepAsync(worker.model, worker.optimizer, loss, images, masks);
        expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6);
      }
      expect(maxDifference(snapshot(main.model), snapshot(worker.model))).toBeLessThanOrEqual(1e-6);
    });
  }

  it('makes the model and optimizer busy until it settles', async () => {
    const { model, optimizer } = setup('Adam');
    const { images, masks } = batchTensorsOf(20);
    const weight = model.parameters()[0] as Tensor;
    const step = trainStepAsync(model, optimizer, new DiceLoss(), images, masks);
    for (const use of [() => weight.sum(), () => model.forward(images), () => optimizer.lr, () => optimizer.step()]) {
      let thrown: (Error & { code?: string }) | undefined;
      try {
        use();
      } catch (error) {
        thrown = error as Error & { code?: string };
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(thrown?.code).toBe('ERR_TENSOR_BUSY');
      expect(thrown?.message).toMatch(/in use by an off-thread step/);
    }
    // Tensors that were not lent stay usable.
    expect(images.sum().item()).toBeGreaterThan(0);
    await step;
    expect(Number.isFinite(weight.sum().item())).toBe(true);
    expect(optimizer.lr).toBe(0.01);
  });

  it('rejects: a model the worker cannot rebuild', async () => {
    manualSeed(1);
    const model = new CustomUNet({ baseWidth: 2 });
    const optimizer = new Adam(model.parameters());
    const { images, masks } = batchTensorsOf(21);
    const error = await captureRejection(trainStepAsync(model, optimizer, new DiceLoss(), images, masks));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/^model must be/);
  });

  it('rejects: a loss given as a function', async () => {
    const { model, optimizer } = setup('SGD');
    const { images, masks } = batchTensorsOf(22);
    const dice = new DiceLoss();
    const error = await captureRejection(trainStepAsync(model, optimizer, (a, b) => dice.forward(a, b), images, masks));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/^model must be/);
  });

  it('fails: a NaN loss with the same error as on the main thread', async () => {
    const { model, optimizer } = setup('Adam');
    const { masks } = batchTensorsOf(23);
    const images = tensor(new Float32Array(2 * 32 * 32).fill(Number.NaN), [2, 1, 32, 32]);
    const before = snapshot(model);
    const error = await captureRejection(trainStepAsync(model, optimizer, new DiceLoss(), images, masks));
    expect(error.constructor).toBe(Error);
    expect(error.code).toBe('ERR_NON_FINITE_LOSS');
    expect(error.message).toMatch(/training diverged: the loss is NaN/);
    // The batch-norm statistics were rolled back in the worker and the step never ran.
    expect(maxDifference(before, snapshot(model))).toBe(0);
  });

  it('fails: a shape error with the class and code of the main thread', async () => {
    const { model, optimizer } = setup('Adam');
    const [batch] = squareBatches(1, 2, 32, 24);
    const images = tensor(new Float32Array(2 * 2 * 32 * 32), [2, 2, 32, 32]);
    const masks = tensor(batch!.masks as Float32Array, [2, 1, 32, 32]);
    let expected: (Error & { code?: string }) | undefined;
    try {
      trainStep(model, optimizer, new DiceLoss(), images, masks);
    } catch (error) {
      expected = error as Error & { code?: string };
    }
    const actual = await captureRejection(trainStepAsync(model, optimizer, new DiceLoss(), images, masks));
    expect(expected).toBeDefined();
    expect(actual.constructor).toBe(expected?.constructor);
    expect(actual.code).toBe(expected?.code);
    expect(actual.message).toBe(expected?.message);
  });
});

describe('trainModel off the main thread', () => {
  for (const kind of ['Adam', 'SGD'] as const) {
    for (const validate of [false, true]) {
      it(`matches the main thread with ${kind}${validate ? ' and validation' : ''}`, async () => {
        const train = squareBatches(3, 2, 32, 30);
        const options = (thread: 'main' | 'worker'): TrainOptions => ({ thread, ...(validate ? { valLoader: squareBatches(2, 2, 32, 31) } : {}) });
        const main = setup(kind);
        const expected = await trainModel(main.model, train, main.optimizer, new DiceLoss(), 'cpu', 2, options('main'));
        const worker = setup(kind);
        const actual = await trainModel(worker.model, train, worker.optimizer, new DiceLoss(), 'cpu', 2, options('worker'));
        expect(actual.epochs).toHaveLength(2);
        actual.epochs.forEach((record, i) => {
          const reference = expected.epochs[i]!;
          expect(Math.abs(record.loss - reference.loss)).toBeLessThanOrEqual(1e-6);
          expect(record.dataWaitSeconds).toBeGreaterThanOrEqual(0);
          expect(record.dataWaitSeconds).toBeLessThanOrEqual(record.seconds);
          if (!validate) return;
          expect(Math.abs(record.valLoss! - reference.valLoss!)).toBeLessThanOrEqual(1e-6);
          expect(record.valDice).toBe(reference.valDice);
          expect(record.valJaccard).toBe(reference.valJaccard);
        });
        expect(maxDifference(snapshot(main.model), snapshot(worker.model))).toBeLessThanOrEqual(1e-6);
      });
    }
  }

  it('stops at the next batch on abort and keeps the finished steps', async () => {
    const batches = squareBatches(4, 2, 32, 40);
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    const seen: number[] = [];
    const worker = setup('Adam');
    const run = trainModel(worker.model, batches, worker.optimizer, new DiceLoss(), 'cpu', 1, {
      thread: 'worker',
      onBatch: (info) => {
        // Between steps the model is usable on the main thread.
        seen.push(tidy(() => (worker.model.parameters()[0] as Tensor).sum().item()));
        if (info.batch === 2) controller.abort(reason);
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toBe(reason);
    expect(seen).toHaveLength(2);

    const reference = setup('Adam');
    await trainModel(reference.model, batches.slice(0, 2), reference.optimizer, new DiceLoss(), 'cpu', 1, { thread: 'main' });
    expect(maxDifference(snapshot(reference.model), snapshot(worker.model))).toBeLessThanOrEqual(1e-6);
    // A further step on the main thread agrees too, so the Adam state was kept consistent.
    const { images, masks } = batchTensorsOf(41);
    trainStep(reference.model, reference.optimizer, new DiceLoss(), images, masks);
    trainStep(worker.model, worker.optimizer, new DiceLoss(), images, masks);
    expect(maxDifference(snapshot(reference.model), snapshot(worker.model))).toBeLessThanOrEqual(1e-6);
    expect(worker.model.training).toBe(true);
  });

  it('awaits batches that a loader yields as promises', async () => {
    const batches = squareBatches(2, 2, 16, 45);
    for (const thread of ['main', 'worker'] as const) {
      const { model, optimizer } = setup('SGD');
      const loader = batches.map((batch) => Promise.resolve(batch)) as unknown as typeof batches;
      const history = await trainModel(model, loader, optimizer, new DiceLoss(), 'cpu', 1, { thread });
      expect(Number.isFinite(history.epochs[0]!.loss)).toBe(true);
    }
  });

  it('runs a custom model on the main thread under auto', async () => {
    manualSeed(2);
    const model = new CustomUNet({ baseWidth: 2 });
    const history = await trainModel(model, squareBatches(1, 2, 16, 42), new Adam(model.parameters()), new DiceLoss(), 'cpu', 1);
    expect(Number.isFinite(history.epochs[0]!.loss)).toBe(true);
  });

  it('rejects: thread worker for a model the worker cannot rebuild', async () => {
    manualSeed(2);
    const model = new CustomUNet({ baseWidth: 2 });
    const run = trainModel(model, squareBatches(1, 2, 16, 43), new Adam(model.parameters()), new DiceLoss(), 'cpu', 1, { thread: 'worker' });
    const error = await captureRejection(run);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/^options\.thread must be .*UNet/);
  });

  it('rejects: an unknown thread mode', async () => {
    const { model, optimizer } = setup('SGD');
    const run = trainModel(model, squareBatches(1, 2, 16, 44), optimizer, new DiceLoss(), 'cpu', 1, { thread: 'gpu' as never });
    const error = await captureRejection(run);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/^options\.thread must be/);
  });
});

describe('predictVolume off the main thread', () => {
  const dims = [24, 20, 7];

  function volume(seed: number): { data: Float32Array; dims: number[] } {
    const random = seededRandom(seed);
    return { data: Float32Array.from({ length: dims[0]! * dims[1]! * dims[2]! }, () => random()), dims };
  }

  for (const numClasses of [1, 3]) {
    it(`matches the main thread with ${numClasses} class${numClasses > 1 ? 'es' : ''}`, async () => {
      manualSeed(5);
      const model = new UNet({ baseWidth: 2, numClasses });
      const input = volume(6);
      const options = (thread: 'main' | 'worker'): PredictOptions => ({ thread, batchSize: 3, probabilities: true, threshold: 0.45 });
      const expected = await predictVolume(model, input, options('main'));
      const actual = await predictVolume(model, input, options('worker'));
      expect(Array.from(actual.mask)).toEqual(Array.from(expected.mask));
      let max = 0;
      actual.probabilities!.forEach((value, i) => {
        max = Math.max(max, Math.abs(value - expected.probabilities![i]!));
      });
      expect(max).toBeLessThanOrEqual(1e-6);
    });
  }

  it('stops at the next batch on abort and leaves the model usable', async () => {
    manualSeed(7);
    const model = new UNet({ baseWidth: 2 });
    const controller = new AbortController();
    const reason = new Error('prediction stopped by the test');
    const progress: number[] = [];
    const run = predictVolume(model, volume(8), {
      thread: 'worker',
      batchSize: 2,
      signal: controller.signal,
      onProgress: (done) => {
        progress.push(done);
        controller.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    expect(progress).toEqual([2]);
    expect(model.training).toBe(true);
    const output = noGrad(() => tidy(() => model.forward(tensor(new Float32Array(2 * 32 * 32), [2, 1, 32, 32])).shape));
    expect(output).toEqual([2, 1, 32, 32]);
  });

  it('rejects: thread worker for a model the worker cannot rebuild', async () => {
    manualSeed(7);
    const error = await captureRejection(predictVolume(new CustomUNet({ baseWidth: 2 }), volume(9), { thread: 'worker' }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/^options\.thread must be/);
  });
});
