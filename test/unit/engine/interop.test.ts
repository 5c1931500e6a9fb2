// SPDX-License-Identifier: MIT
//
// Checkpoints that move between PyTorch and medunet in both directions: files that PyTorch
// writes in its usual ways (plain, half, double, DataParallel, legacy, whole model), and files
// that medunet writes after training, read back by PyTorch.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelOption } from '../../../lib/cli/model-input.js';
import { CheckpointError } from '../../../lib/errors.js';
import { loadModel, saveCheckpoint } from '../../../lib/engine/checkpoint.js';
import { DiceLoss } from '../../../lib/losses/dice.js';
import { UNet } from '../../../lib/models/unet.js';
import { Adam } from '../../../lib/optim/adam.js';
import { manualSeed, noGrad, tensor, type Tensor } from '../../../lib/tensor.js';
import { PYTHON_UNET, runPython, torchMissingReason } from '../models/python.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-interop-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const skipReason = torchMissingReason === null ? '' : ` (skipped: ${torchMissingReason})`;
const withTorch = it.skipIf(torchMissingReason !== null);

/** A fixed input of shape [1, channels, 20, 24], the same in Python (see INPUT_PY). */
function fixedInput(channels: number): Tensor {
  const count = channels * 20 * 24;
  return tensor(
    Float32Array.from({ length: count }, (_, i) => i / 500 - 1),
    [1, channels, 20, 24],
  );
}

/** Python for the same input, padded to 32x32 as medunet's UNet does, and the crop back. */
const PREDICT_PY = `
def predict(model, channels):
    x = torch.arange(channels * 20 * 24, dtype=torch.float32).reshape(1, channels, 20, 24) / 500.0 - 1.0
    with torch.no_grad():
        y = model(torch.nn.functional.pad(x, [4, 4, 6, 6]))[:, :, 6:26, 4:28]
    return y.flatten().tolist()
`;

function predict(model: UNet, channels: number): number[] {
  return Array.from(noGrad(() => model.forward(fixedInput(channels))).data() as Float32Array);
}

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((value, i) => Math.abs(value - expected[i]!)));
  expect(worst).toBeLessThan(tolerance);
}

function expectCheckpointError(call: () => unknown, pattern: RegExp): void {
  expect(call).toThrow(CheckpointError);
  expect(call).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(pattern) }));
}

describe('PyTorch files read by medunet', () => {
  // One Python run writes every variant of a UNet(2, 3, 4) with moved BatchNorm statistics and
  // prints the float32 model's predictions.
  const files = {
    plain: join(folder, 'plain.pt'),
    half: join(folder, 'half.pt'),
    double: join(folder, 'double.pt'),
    dataParallel: join(folder, 'data-parallel.pt'),
    legacy: join(folder, 'legacy.pt'),
    whole: join(folder, 'whole.pt'),
    extraKey: join(folder, 'extra-key.pt'),
    missingKey: join(folder, 'missing-key.pt'),
    misShaped: join(folder, 'mis-shaped.pt'),
    intWeight: join(folder, 'int-weight.pt'),
  };
  let expected: number[] = [];

  beforeAll(() => {
    if (torchMissingReason !== null) return;
    const script = `${PYTHON_UNET}${PREDICT_PY}
import copy, json, sys
paths = json.loads(sys.argv[1])
torch.manual_seed(0)
model = UNet(2, 3, 4)
model.train()
model(torch.randn(2, 2, 32, 32))
model.eval()
state = model.state_dict()
torch.save(state, paths['plain'])
torch.save(copy.deepcopy(model).half().state_dict(), paths['half'])
torch.save(copy.deepcopy(model).double().state_dict(), paths['double'])
torch.save(torch.nn.DataParallel(model).state_dict(), paths['dataParallel'])
torch.save(state, paths['legacy'], _use_new_zipfile_serialization=False)
torch.save(model, paths['whole'])
torch.save({**state, 'extra.weight': torch.zeros(2)}, paths['extraKey'])
torch.save({k: v for k, v in state.items() if k != 'up1.up.bias'}, paths['missingKey'])
torch.save({**state, 'up2.conv.double_conv.0.weight': torch.zeros(4, 8, 3, 3)}, paths['misShaped'])
torch.save({**state, 'outc.weight': state['outc.weight'].to(torch.int32)}, paths['intWeight'])
print(json.dumps(predict(model, 2)))
`;
    expected = JSON.parse(runPython(script, [JSON.stringify(files)])) as number[];
  });

  withTorch(`loads a state dict and predicts as PyTorch does${skipReason}`, () => {
    const model = loadModel(files.plain);
    expect(model.architecture).toEqual({ name: 'UNet', inChannels: 2, numClasses: 3, baseWidth: 4 });
    expectClose(predict(model, 2), expected, 1e-4);
  });

  withTorch(`converts a double state dict to float32${skipReason}`, () => {
    const model = loadModel(files.double);
    expect(model.getModule('outc').getParameter('weight').dtype).toBe('float32');
    expectClose(predict(model, 2), expected, 1e-4);
  });

  withTorch(`converts a half state dict to float32${skipReason}`, () => {
    const model = loadModel(files.half);
    expect(model.getModule('outc').getParameter('weight').dtype).toBe('float32');
    // float16 keeps about 3 decimal digits of each weight, so the outputs differ by more than 1e-4.
    expectClose(predict(model, 2), expected, 5e-2);
  });

  withTorch(`removes the module. prefix of DataParallel${skipReason}`, () => {
    expectClose(predict(loadModel(files.dataParallel), 2), expected, 1e-4);
  });

  withTorch(`fails: a legacy non-zip file${skipReason}`, () => {
    expectCheckpointError(() => loadModel(files.legacy), /not a zip archive written by torch\.save.*save(d)? again/);
  });

  withTorch(`fails: a whole pickled model${skipReason}`, () => {
    expectCheckpointError(() => loadModel(files.whole), /torch\.save\(model\.state_dict\(\), path\)/);
    expectCheckpointError(() => loadModel(files.whole), /torch\.nn\.modules|__main__\.UNet/);
  });

  withTorch(`fails: an unexpected key when strict${skipReason}`, () => {
    const call = (): unknown => loadModel(files.extraKey);
    expectCheckpointError(call, /unexpected keys: extra\.weight/);
    expect(call).toThrow(expect.objectContaining({ cause: expect.objectContaining({ code: 'ERR_STATE_DICT' }) }));
  });

  withTorch(`fails: a missing key when strict${skipReason}`, () => {
    expectCheckpointError(() => loadModel(files.missingKey), /missing keys: up1\.up\.bias/);
  });

  withTorch(`loads extra and missing keys when not strict${skipReason}`, () => {
    expectClose(predict(loadModel(files.extraKey, { strict: false }), 2), expected, 1e-4);
    expect(loadModel(files.missingKey, { strict: false }).architecture.baseWidth).toBe(4);
  });

  withTorch(`fails: a mis-shaped key even when not strict${skipReason}`, () => {
    const pattern = /mis-shaped keys: up2\.conv\.double_conv\.0\.weight \(expected \[16, 32, 3, 3\], got \[4, 8, 3, 3\]\)/;
    expectCheckpointError(() => loadModel(files.misShaped), pattern);
    expectCheckpointError(() => loadModel(files.misShaped, { strict: false }), pattern);
  });

  withTorch(`fails: an integer tensor for a float weight${skipReason}`, () => {
    expectCheckpointError(() => loadModel(files.intWeight), /outc\.weight \(expected float32, got int32\)/);
  });

  withTorch(`predict --model takes a PyTorch state dict${skipReason}`, () => {
    const loaded = loadModelOption({ model: files.plain }, 'cpu');
    expect(loaded.model.architecture).toEqual({ name: 'UNet', inChannels: 2, numClasses: 3, baseWidth: 4 });
    expect(loaded.axisSource).toBe('default');
    expectClose(predict(loaded.model, 2), expected, 1e-4);
  });

  it('rejects: a strict option that is not a boolean', () => {
    const call = (): unknown => loadModel(files.plain, { strict: 'yes' as unknown as boolean });
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^options\.strict must be/) }));
  });
});

describe('medunet files read by PyTorch', () => {
  withTorch(`loads a trained model strictly and predicts the same${skipReason}`, () => {
    manualSeed(11);
    const model = new UNet({ inChannels: 2, numClasses: 1, baseWidth: 2 });
    const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
    const loss = new DiceLoss({ activation: 'sigmoid' });
    const image = tensor(
      Float32Array.from({ length: 2 * 2 * 32 * 32 }, (_, i) => Math.sin(i / 7)),
      [2, 2, 32, 32],
    );
    const mask = tensor(
      Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => (i % 32 > 12 && i % 32 < 24 ? 1 : 0)),
      [2, 1, 32, 32],
    );
    for (let step = 0; step < 3; step++) {
      optimizer.zeroGrad();
      loss.forward(model.forward(image), mask).backward();
      optimizer.step();
    }
    model.eval();
    const path = join(folder, 'trained.pt');
    saveCheckpoint(path, model, { epoch: 1 });

    const script = `${PYTHON_UNET}${PREDICT_PY}
import json, sys
checkpoint = torch.load(sys.argv[1])
state = checkpoint['state_dict']
model = UNet(2, 1, 2)
result = model.load_state_dict(state, strict=True)
model.eval()
tracked = state['inc.double_conv.1.num_batches_tracked']
print(json.dumps({
    'missing': list(result.missing_keys),
    'unexpected': list(result.unexpected_keys),
    'trackedDType': str(tracked.dtype),
    'tracked': int(tracked),
    'dtypes': sorted({str(v.dtype) for v in state.values()}),
    'prediction': predict(model, 2),
}))
`;
    const result = JSON.parse(runPython(script, [path])) as {
      missing: string[];
      unexpected: string[];
      trackedDType: string;
      tracked: number;
      dtypes: string[];
      prediction: number[];
    };
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toEqual([]);
    expect(result.trackedDType).toBe('torch.int64');
    expect(result.tracked).toBe(3);
    expect(result.dtypes).toEqual(['torch.float32', 'torch.int64']);
    expectClose(predict(model, 2), result.prediction, 1e-4);
  });
});
