// SPDX-License-Identifier: MIT

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../lib/errors.js';
import {
  loadModel,
  loadModelAsync,
  readCheckpoint,
  readCheckpointAsync,
  saveCheckpoint,
  saveCheckpointAsync,
} from '../../../lib/engine/checkpoint.js';
import { saveSafetensors } from '../../../lib/engine/safetensors.js';
import { UNet } from '../../../lib/models/unet.js';
import { native } from '../../../lib/native.js';
import { manualSeed, noGrad, rand, randn, tensor, type Tensor } from '../../../lib/tensor.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-checkpoint-async-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Builds a small model with random weights and BatchNorm statistics moved by one training batch. */
function makeModel(options: ConstructorParameters<typeof UNet>[0], seed: number): UNet {
  manualSeed(seed);
  const model = new UNet(options);
  model.forward(randn([2, model.inChannels, 32, 32]));
  return model.eval();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Returns what `promise` rejects with. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: unknown; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: unknown };
  }
  throw new Error('expected the promise to reject');
}

/** Returns what `call` throws. */
function thrownBy(call: () => unknown): Error & { code?: unknown; cause?: unknown } {
  try {
    call();
  } catch (error) {
    return error as Error & { code?: unknown };
  }
  throw new Error('expected the call to throw');
}

function valuesOf(tensors: Map<string, Tensor>): Record<string, number[]> {
  return Object.fromEntries([...tensors].map(([key, value]) => [key, Array.from(value.data() as ArrayLike<number>, Number)]));
}

describe('saveCheckpointAsync', () => {
  it('writes the same bytes as saveCheckpoint', async () => {
    const model = makeModel({ inChannels: 2, numClasses: 3, baseWidth: 4 }, 1);
    const syncPath = join(folder, 'sync.pt');
    const asyncPath = join(folder, 'async.pt');
    saveCheckpoint(syncPath, model, { epoch: 7 });
    await saveCheckpointAsync(asyncPath, model, { epoch: 7 });
    expect(readFileSync(asyncPath).equals(readFileSync(syncPath))).toBe(true);
  });

  it('writes the weights of a model disposed while it saves', async () => {
    const model = makeModel({ baseWidth: 4 }, 2);
    const expected = valuesOf(model.stateDict());
    const path = join(folder, 'disposed.pt');
    const saving = saveCheckpointAsync(path, model);
    model.dispose();
    await saving;
    const { tensors } = readCheckpoint(path);
    expect(valuesOf(tensors)).toEqual(expected);
  });

  it('leaves no temporary file behind', async () => {
    const sub = mkdtempSync(join(folder, 'atomic-'));
    await saveCheckpointAsync(join(sub, 'model.pt'), makeModel({ baseWidth: 2 }, 3));
    await saveCheckpointAsync(join(sub, 'model.pt'), makeModel({ baseWidth: 2 }, 4));
    expect(readdirSync(sub)).toEqual(['model.pt']);
  });

  it('fails: writing into a missing folder', async () => {
    const path = join(folder, 'missing-folder', 'model.pt');
    const model = makeModel({ baseWidth: 2 }, 5);
    const error = await rejectionOf(saveCheckpointAsync(path, model));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('ERR_CHECKPOINT');
    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(path)}: could not write the checkpoint: could not create a temporary file`));
    expect(error.message).toBe(thrownBy(() => saveCheckpoint(path, model)).message);
    expect(existsSync(join(folder, 'missing-folder'))).toBe(false);
  });

  it('rejects: a path that is not a string', async () => {
    const error = await rejectionOf(saveCheckpointAsync(42 as unknown as string, makeModel({ baseWidth: 2 }, 6)));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(error.message).toMatch(/^path must be/);
  });

  it('rejects: a model that is not a UNet', async () => {
    const error = await rejectionOf(saveCheckpointAsync(join(folder, 'x.pt'), {} as UNet));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(error.message).toMatch(/^model must be/);
  });
});

describe('readCheckpointAsync', () => {
  it('returns what readCheckpoint returns', async () => {
    const path = join(folder, 'read.pt');
    saveCheckpoint(path, makeModel({ baseWidth: 4 }, 7), { epoch: 3 });
    const expected = readCheckpoint(path);
    const actual = await readCheckpointAsync(path);
    expect(actual.metadata).toEqual(expected.metadata);
    expect([...actual.tensors.keys()]).toEqual([...expected.tensors.keys()]);
    expect(valuesOf(actual.tensors)).toEqual(valuesOf(expected.tensors));
    expect([...actual.tensors.values()].map((value) => value.dtype)).toEqual([...expected.tensors.values()].map((value) => value.dtype));
  });

  it('reads safetensors files', async () => {
    const model = makeModel({ baseWidth: 2 }, 8);
    const path = join(folder, 'model.safetensors');
    saveSafetensors(path, model);
    const { metadata, tensors } = await readCheckpointAsync(path);
    expect(metadata?.architecture).toEqual(model.architecture);
    expect(valuesOf(tensors)).toEqual(valuesOf(model.stateDict()));
  });

  it('fails: a missing file', async () => {
    const path = join(folder, 'absent.pt');
    const error = await rejectionOf(readCheckpointAsync(path));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('ERR_CHECKPOINT');
    expect(error.message).toBe(`${path}: could not open the checkpoint: No such file or directory`);
  });

  it('fails: a file that is not a checkpoint', async () => {
    const path = join(folder, 'not-a-checkpoint.pt');
    writeFileSync(path, 'plain text, not a zip archive');
    const error = await rejectionOf(readCheckpointAsync(path));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('ERR_CHECKPOINT');
    expect(error.message).toBe(thrownBy(() => readCheckpoint(path)).message);
  });

  it('rejects: a path that is not a string', async () => {
    const error = await rejectionOf(readCheckpointAsync(null as unknown as string));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(error.message).toMatch(/^path must be/);
  });
});

describe('loadModelAsync', () => {
  it('builds the model that loadModel builds', async () => {
    const model = makeModel({ inChannels: 2, numClasses: 3, baseWidth: 4 }, 9);
    const path = join(folder, 'load.pt');
    saveCheckpoint(path, model);
    const expected = loadModel(path);
    const loaded = await loadModelAsync(path);
    expect(loaded.architecture).toEqual(expected.architecture);
    expect(loaded.training).toBe(false);
    expect(valuesOf(loaded.stateDict())).toEqual(valuesOf(expected.stateDict()));
    const x = randn([1, 2, 40, 24]);
    const outputs = [loaded, model].map((each) => Array.from(noGrad(() => each.forward(x)).data() as Float32Array));
    expect(outputs[0]).toEqual(outputs[1]);
  });

  it('leaves the random number generator alone', async () => {
    const path = join(folder, 'generator.pt');
    saveCheckpoint(path, makeModel({ baseWidth: 4 }, 10));
    manualSeed(11);
    const before = rand([4]).data();
    manualSeed(11);
    (await loadModelAsync(path)).dispose();
    expect(rand([4]).data()).toEqual(before);
  });

  it('converts float64 weights to float32', async () => {
    const model = makeModel({ baseWidth: 2 }, 12);
    const path = join(folder, 'float64.pt');
    const doubled = Object.fromEntries([...model.stateDict()].map(([key, value]) => [key, value.dtype === 'float32' ? value.to('float64') : value]));
    native.saveCheckpoint(path, doubled, JSON.stringify({ format: 'medunet', version: 1, architecture: model.architecture }));
    const loaded = await loadModelAsync(path);
    expect(valuesOf(loaded.stateDict())).toEqual(valuesOf(loadModel(path).stateDict()));
    expect(loaded.stateDict().get('outc.weight')!.dtype).toBe('float32');
  });

  it('initialises keys missing from a non-strict load', async () => {
    const model = makeModel({ baseWidth: 2 }, 13);
    const path = join(folder, 'partial.pt');
    const partial = Object.fromEntries([...model.stateDict()].filter(([key]) => !key.startsWith('outc.')));
    native.saveCheckpoint(path, partial, JSON.stringify({ format: 'medunet', version: 1, architecture: model.architecture }));
    manualSeed(14);
    const expected = loadModel(path, { strict: false });
    manualSeed(14);
    const loaded = await loadModelAsync(path, { strict: false });
    expect(valuesOf(loaded.stateDict())).toEqual(valuesOf(expected.stateDict()));
  });

  it('fails: a state dict of another model, as loadModel does', async () => {
    const path = join(folder, 'other-model.pt');
    const tensors = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`extra.${i}.weight`, tensor([i], [1])]));
    const metadata = { format: 'medunet', version: 1, architecture: { name: 'UNet', inChannels: 1, numClasses: 1, baseWidth: 2 } };
    native.saveCheckpoint(path, tensors, JSON.stringify(metadata));
    const error = await rejectionOf(loadModelAsync(path));
    const expected = thrownBy(() => loadModel(path));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('ERR_CHECKPOINT');
    expect(error.message).toBe(expected.message);
    expect(error.cause).toMatchObject({ code: 'ERR_STATE_DICT' });
  });

  it('fails: mis-shaped weights, as loadModel does', async () => {
    const path = join(folder, 'mismatch.pt');
    const model = makeModel({ baseWidth: 2 }, 15);
    Object.defineProperty(model, 'architecture', { value: { name: 'UNet', inChannels: 1, numClasses: 1, baseWidth: 4 } });
    saveCheckpoint(path, model);
    const error = await rejectionOf(loadModelAsync(path, { strict: false }));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/mis-shaped keys: inc\.double_conv\.0\.weight \(expected \[4, 1, 3, 3\], got \[2, 1, 3, 3\]\)/);
    expect(error.message).toBe(thrownBy(() => loadModel(path, { strict: false })).message);
  });

  it('fails: a missing file', async () => {
    const path = join(folder, 'absent-model.pt');
    const error = await rejectionOf(loadModelAsync(path));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('ERR_CHECKPOINT');
    expect(error.message).toBe(thrownBy(() => loadModel(path)).message);
  });

  it('rejects: an unknown option', async () => {
    const path = join(folder, 'options.pt');
    saveCheckpoint(path, makeModel({ baseWidth: 2 }, 16));
    const error = await rejectionOf(loadModelAsync(path, { stict: true } as never));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toMatch(/options/);
  });
});

describe('copyTensorsAsync', () => {
  it('copies each source into its target', async () => {
    const targets = [tensor([0, 0, 0], [3]), tensor([0, 0], [2])];
    await native.copyTensorsAsync(targets, [tensor([1, 2, 3], [3]), tensor([4, 5], [2], { dtype: 'float64' })]);
    expect(Array.from(targets[0]!.data() as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(targets[1]!.data() as Float32Array)).toEqual([4, 5]);
  });

  it('rejects: lists of different lengths', () => {
    const call = (): unknown => native.copyTensorsAsync([tensor([0], [1])], []);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/sources/) }));
  });

  it('rejects: a source of another shape', () => {
    const call = (): unknown => native.copyTensorsAsync([tensor([0, 0], [2])], [tensor([1, 2, 3], [3])]);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/sources\[0\]/) }));
  });
});
