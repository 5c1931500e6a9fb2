// SPDX-License-Identifier: MIT
//
// The rules for a model and optimizer lent to an off-thread call: a second call or a dispose()
// fails up front with ERR_TENSOR_BUSY, async callbacks are awaited, and mismatched optimizers and
// unusable volumes are rejected. The worker runs the compiled dist/engine/executor-worker.js, so
// these tests need `npm run build:ts` first.

import { describe, expect, it } from 'vitest';
import { predictVolume } from '../../../lib/engine/predict.js';
import { evaluateModel, trainModel, trainStep, trainStepAsync } from '../../../lib/engine/train.js';
import { DiceLoss } from '../../../lib/losses/dice.js';
import { UNet } from '../../../lib/models/unet.js';
import { Adam } from '../../../lib/optim/adam.js';
import { manualSeed, tensor } from '../../../lib/tensor.js';
import { squareBatches } from './synthetic.js';

type CodedError = Error & { code?: string };

async function captureRejection(promise: Promise<unknown>): Promise<CodedError> {
  try {
    await promise;
  } catch (error) {
    return error as CodedError;
  }
  throw new Error('the promise did not reject');
}

function captureThrow(fn: () => unknown): CodedError {
  try {
    fn();
  } catch (error) {
    return error as CodedError;
  }
  throw new Error('the function did not throw');
}

function setup(): { model: UNet; optimizer: Adam } {
  manualSeed(5);
  const model = new UNet({ baseWidth: 4 });
  return { model, optimizer: new Adam(model.parameters(), { lr: 0.01 }) };
}

const volume = { data: new Float32Array(16 * 16 * 4).map((_, i) => i % 7), dims: [16, 16, 4] };

describe('model lent to an off-thread call', () => {
  it('rejects: a second predictVolume names `model`', async () => {
    const { model } = setup();
    const first = predictVolume(model, volume, { thread: 'worker' });
    const error = await captureRejection(predictVolume(model, volume, { thread: 'worker' }));
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_TENSOR_BUSY');
    expect(error.message).toMatch(/`model`/);
    expect(error.message).toMatch(/await/);
    expect((await first).mask.length).toBe(volume.data.length);
  });

  it('rejects: trainModel, trainStep and evaluateModel during a call', async () => {
    const { model, optimizer } = setup();
    const batches = squareBatches(2, 2, 16, 1);
    const first = trainModel(model, batches, optimizer, new DiceLoss(), 'cpu', 1, { thread: 'worker' });
    const [batch] = batches;
    const images = tensor(batch!.images, [2, 1, 16, 16]);
    const masks = tensor(batch!.masks as Float32Array, [2, 1, 16, 16]);
    const calls: Array<() => Promise<unknown>> = [
      () => trainModel(model, batches, optimizer, new DiceLoss(), 'cpu', 1),
      () => trainStepAsync(model, optimizer, new DiceLoss(), images, masks),
      async () => trainStep(model, optimizer, new DiceLoss(), images, masks),
      () => evaluateModel(model, batches, new DiceLoss(), 'cpu'),
    ];
    for (const call of calls) {
      const error = await captureRejection(call());
      expect(error.code).toBe('ERR_TENSOR_BUSY');
      expect(error.message).toMatch(/`model`/);
    }
    expect((await first).epochs).toHaveLength(1);
    expect(trainStep(model, optimizer, new DiceLoss(), images, masks)).toBeGreaterThan(0);
  });

  it('fails: dispose() of the model or optimizer in onBatch', async () => {
    const { model, optimizer } = setup();
    const errors: CodedError[] = [];
    await trainModel(model, squareBatches(1, 2, 16, 2), optimizer, new DiceLoss(), 'cpu', 1, {
      thread: 'worker',
      onBatch: () => {
        errors.push(captureThrow(() => model.dispose()));
        errors.push(captureThrow(() => optimizer.dispose()));
      },
    });
    expect(errors.map((error) => error.code)).toEqual(['ERR_TENSOR_BUSY', 'ERR_TENSOR_BUSY']);
    expect(errors[0]!.message).toMatch(/`model`/);
    expect(errors[1]!.message).toMatch(/`optimizer`/);
    expect(model.disposed).toBe(false);
    model.dispose();
    optimizer.dispose();
    expect(model.disposed).toBe(true);
  });
});

describe('async callbacks', () => {
  it('fails: a rejecting onBatch rejects trainModel', async () => {
    const { model, optimizer } = setup();
    let calls = 0;
    const error = await captureRejection(
      trainModel(model, squareBatches(3, 2, 16, 3), optimizer, new DiceLoss(), 'cpu', 1, {
        onBatch: async () => {
          calls++;
          throw new Error('onBatch failed');
        },
      }),
    );
    expect(error.message).toBe('onBatch failed');
    expect(calls).toBe(1);
  });

  it('fails: a rejecting onEpoch rejects trainModel', async () => {
    const { model, optimizer } = setup();
    const error = await captureRejection(
      trainModel(model, squareBatches(1, 2, 16, 3), optimizer, new DiceLoss(), 'cpu', 2, {
        onEpoch: () => Promise.reject(new Error('onEpoch failed')),
      }),
    );
    expect(error.message).toBe('onEpoch failed');
  });

  it('waits for onBatch before the next batch', async () => {
    const { model, optimizer } = setup();
    const order: string[] = [];
    await trainModel(model, squareBatches(2, 2, 16, 4), optimizer, new DiceLoss(), 'cpu', 1, {
      onBatch: async ({ batch }) => {
        order.push(`start ${batch}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        order.push(`end ${batch}`);
      },
    });
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('fails: a rejecting onProgress rejects predictVolume', async () => {
    const { model } = setup();
    const error = await captureRejection(
      predictVolume(model, volume, { batchSize: 2, onProgress: async () => Promise.reject(new Error('onProgress failed')) }),
    );
    expect(error.message).toBe('onProgress failed');
    // The session was closed, so the model can be used again.
    expect((await predictVolume(model, volume)).mask.length).toBe(volume.data.length);
  });
});

describe('optimizer of another model', () => {
  it('rejects: trainModel, trainStep and trainStepAsync name `optimizer`', async () => {
    const { model } = setup();
    const other = setup();
    const batches = squareBatches(1, 2, 16, 6);
    const images = tensor(batches[0]!.images, [2, 1, 16, 16]);
    const masks = tensor(batches[0]!.masks as Float32Array, [2, 1, 16, 16]);
    const calls: Array<() => Promise<unknown>> = [
      () => trainModel(model, batches, other.optimizer, new DiceLoss(), 'cpu', 1),
      () => trainStepAsync(model, other.optimizer, new DiceLoss(), images, masks),
      async () => trainStep(model, other.optimizer, new DiceLoss(), images, masks),
    ];
    for (const call of calls) {
      const error = await captureRejection(call());
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('ERR_OUT_OF_RANGE');
      expect(error.message).toMatch(/^optimizer must/);
    }
  });
});

describe('predictVolume values', () => {
  it('rejects: a volume whose voxels are all NaN', async () => {
    const { model } = setup();
    const data = new Float32Array(volume.data.length).fill(Number.NaN);
    const error = await captureRejection(predictVolume(model, { data, dims: volume.dims }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/volume\.data/);
  });

  it('accepts a volume with some NaN voxels', async () => {
    const { model } = setup();
    const data = Float32Array.from(volume.data);
    data[0] = Number.NaN;
    expect((await predictVolume(model, { data, dims: volume.dims }, { thread: 'main' })).mask.length).toBe(data.length);
  });

  it('rejects: a NaN threshold', async () => {
    const { model } = setup();
    const error = await captureRejection(predictVolume(model, volume, { threshold: Number.NaN }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/options\.threshold must be a finite number in \[0, 1\]/);
  });
});
