// SPDX-License-Identifier: MIT

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../lib/errors.js';
import { loadModel, readCheckpoint, saveCheckpoint } from '../../../lib/engine/checkpoint.js';
import { UNet } from '../../../lib/models/unet.js';
import { native } from '../../../lib/native.js';
import { manualSeed, noGrad, randn, tensor } from '../../../lib/tensor.js';
import { PYTHON_UNET, runPython, torchMissingReason } from '../models/python.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-checkpoint-'));
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

/** Returns the message of the error that `call` throws. */
function messageOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the call to throw');
}

function countOf(text: string, part: string): number {
  return text.split(part).length - 1;
}

function expectCheckpointError(call: () => unknown, pattern: RegExp): void {
  expect(call).toThrow(CheckpointError);
  expect(call).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(pattern) }));
}

describe('checkpoints', () => {
  it('round-trips a model with identical outputs', () => {
    const model = makeModel({ inChannels: 2, numClasses: 3, baseWidth: 4 }, 1);
    const path = join(folder, 'round-trip.pt');
    saveCheckpoint(path, model, { epoch: 7 });
    const loaded = loadModel(path);
    expect(loaded.architecture).toEqual(model.architecture);
    expect(loaded.training).toBe(false);
    const x = randn([1, 2, 40, 24]);
    const expected = noGrad(() => model.forward(x)).data() as Float32Array;
    const actual = noGrad(() => loaded.forward(x)).data() as Float32Array;
    expect(Array.from(actual)).toEqual(Array.from(expected));
    const keys = [...model.stateDict().keys()];
    const tracked = loaded.stateDict().get('inc.double_conv.1.num_batches_tracked')!;
    expect(tracked.dtype).toBe('int64');
    expect(tracked.item()).toBe(1);
    expect([...loaded.stateDict().keys()]).toEqual(keys);
  });

  it('stores the metadata record with the extra fields', () => {
    const path = join(folder, 'metadata.pt');
    saveCheckpoint(path, makeModel({ baseWidth: 2 }, 2), { epoch: 3, valDice: 0.9 });
    const { metadata, tensors } = readCheckpoint(path);
    expect(metadata).toMatchObject({
      format: 'medunet',
      version: 1,
      architecture: { name: 'UNet', inChannels: 1, numClasses: 1, baseWidth: 2 },
      epoch: 3,
      valDice: 0.9,
    });
    expect(tensors.get('outc.weight')!.shape).toEqual([1, 2, 1, 1]);
  });

  it.skipIf(torchMissingReason !== null)(
    `loads a plain PyTorch state dict and infers the architecture${torchMissingReason ? ` (skipped: ${torchMissingReason})` : ''}`,
    () => {
      const path = join(folder, 'pytorch-state-dict.pt');
      const script = `${PYTHON_UNET}
import json, sys
torch.manual_seed(0)
model = UNet(2, 3, 4)
model.train()
model(torch.randn(2, 2, 32, 32))
model.eval()
torch.save(model.state_dict(), sys.argv[1])
x = torch.arange(2 * 20 * 24, dtype=torch.float32).reshape(1, 2, 20, 24) / 500.0 - 1.0
with torch.no_grad():
    x = torch.nn.functional.pad(x, [4, 4, 6, 6])
    y = model(x)[:, :, 6:26, 4:28]
print(json.dumps(y.flatten().tolist()))
`;
      const expected = JSON.parse(runPython(script, [path])) as number[];
      const model = loadModel(path);
      expect(model.architecture).toEqual({ name: 'UNet', inChannels: 2, numClasses: 3, baseWidth: 4 });
      const x = tensor(
        Float32Array.from({ length: 2 * 20 * 24 }, (_, i) => i / 500 - 1),
        [1, 2, 20, 24],
      );
      const actual = Array.from(noGrad(() => model.forward(x)).data() as Float32Array);
      expect(actual).toHaveLength(expected.length);
      actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 4));
    },
  );

  it.skipIf(torchMissingReason !== null)(
    `writes files that torch.load reads${torchMissingReason ? ` (skipped: ${torchMissingReason})` : ''}`,
    () => {
      const path = join(folder, 'for-pytorch.pt');
      const model = makeModel({ baseWidth: 2 }, 3);
      saveCheckpoint(path, model);
      const script = `${PYTHON_UNET}
import json, sys
checkpoint = torch.load(sys.argv[1])
model = UNet(1, 1, 2)
model.load_state_dict(checkpoint['state_dict'])
print(json.dumps({'metadata': json.loads(checkpoint['metadata']), 'keys': list(checkpoint['state_dict'].keys())}))
`;
      const result = JSON.parse(runPython(script, [path])) as { metadata: { architecture: unknown }; keys: string[] };
      expect(result.metadata.architecture).toEqual(model.architecture);
      expect(result.keys).toEqual([...model.stateDict().keys()]);
    },
  );

  it('fails: a missing file', () => {
    const path = join(folder, 'absent.pt');
    const call = (): unknown => loadModel(path);
    expectCheckpointError(call, new RegExp(`^${escapeRegExp(path)}: could not open the checkpoint: No such file or directory$`));
    expect(countOf(messageOf(call), path)).toBe(1);
  });

  it('fails: a file that is not a checkpoint', () => {
    const path = join(folder, 'text.pt');
    writeFileSync(path, 'not a zip file');
    const call = (): unknown => loadModel(path);
    expectCheckpointError(call, new RegExp(`^${escapeRegExp(path)}: is not a zip archive written by torch\\.save`));
    expect(countOf(messageOf(call), path)).toBe(1);
  });

  it('fails: a truncated or damaged checkpoint', () => {
    const whole = join(folder, 'whole.pt');
    saveCheckpoint(whole, makeModel({ baseWidth: 2 }, 7));
    const bytes = readFileSync(whole);
    const damaged = Buffer.from(bytes);
    // Keep the zip magic of the first local file header and invert everything after it.
    for (let i = 4; i < damaged.length; i++) damaged[i] = ~(damaged[i] as number) & 0xff;
    const cases: Array<[string, Buffer]> = [
      ['cut-10.pt', bytes.subarray(0, Math.floor(bytes.length * 0.1))],
      ['cut-90.pt', bytes.subarray(0, Math.floor(bytes.length * 0.9))],
      ['flipped.pt', damaged],
    ];
    for (const [name, content] of cases) {
      const path = join(folder, name);
      writeFileSync(path, content);
      const call = (): unknown => loadModel(path);
      expectCheckpointError(call, new RegExp(`^${escapeRegExp(path)}: is truncated or damaged`));
      expect(messageOf(call)).not.toMatch(/PyTorch before 1\.6/);
    }
  });

  it('fails: writing into a missing folder', () => {
    const path = join(folder, 'no-such-folder', 'model.pt');
    const call = (): unknown => saveCheckpoint(path, makeModel({ baseWidth: 2 }, 6));
    expectCheckpointError(call, new RegExp(`^${escapeRegExp(path)}: could not write the checkpoint: could not create a temporary file`));
    expect(countOf(messageOf(call), path)).toBe(1);
  });

  it('fails: a state dict of another model lists ten keys of each kind', () => {
    const path = join(folder, 'other-model.pt');
    const tensors = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`extra.${i}.weight`, tensor([i], [1])]));
    const metadata = { format: 'medunet', version: 1, architecture: { name: 'UNet', inChannels: 1, numClasses: 1, baseWidth: 2 } };
    native.saveCheckpoint(path, tensors, JSON.stringify(metadata));
    const call = (): unknown => loadModel(path);
    const keyCount = new UNet({ baseWidth: 2 }).stateDict().size;
    expectCheckpointError(call, new RegExp(`${keyCount} missing keys: inc\\.double_conv\\.0\\.weight, .*, \\.\\.\\. and ${keyCount - 10} more;`));
    expectCheckpointError(call, /30 unexpected keys: extra\.0\.weight, (extra\.\d\.weight, ){8}extra\.9\.weight, \.\.\. and 20 more$/);
    expect(messageOf(call).length).toBeLessThan(1500);
    expect(call).toThrow(expect.objectContaining({ cause: expect.objectContaining({ code: 'ERR_STATE_DICT' }) }));
  });

  it('fails: a state dict that does not fit the recorded architecture', () => {
    const path = join(folder, 'mismatch.pt');
    const model = makeModel({ baseWidth: 2 }, 4);
    // Record width 4 for weights of width 2.
    Object.defineProperty(model, 'architecture', { value: { name: 'UNet', inChannels: 1, numClasses: 1, baseWidth: 4 } });
    saveCheckpoint(path, model);
    const call = (): unknown => loadModel(path);
    expectCheckpointError(call, /mis-shaped keys: inc\.double_conv\.0\.weight \(expected \[4, 1, 3, 3\], got \[2, 1, 3, 3\]\)/);
    expectCheckpointError(call, /mis-shaped keys: (.*? \(expected \[[\d, ]+\], got \[[\d, ]+\]\), ){10}\.\.\. and \d+ more$/);
    expect(call).toThrow(expect.objectContaining({ cause: expect.objectContaining({ code: 'ERR_STATE_DICT' }) }));
  });

  it('rejects: extra metadata that overrides the architecture', () => {
    const call = (): unknown => saveCheckpoint(join(folder, 'x.pt'), makeModel({ baseWidth: 2 }, 5), { architecture: 'mine' });
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^extra\.architecture must be/) }));
  });

  it('rejects: a model that is not a UNet', () => {
    const call = (): unknown => saveCheckpoint(join(folder, 'x.pt'), {} as UNet);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^model must be/) }));
  });
});
