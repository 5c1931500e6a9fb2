// SPDX-License-Identifier: MIT
//
// Damaged checkpoints: every truncation and byte flip of a valid file must either load or throw
// a CheckpointError, and never abort the process (which would fail this whole file).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../lib/errors.js';
import { readCheckpoint, saveCheckpoint } from '../../../lib/engine/checkpoint.js';
import { saveSafetensors } from '../../../lib/engine/safetensors.js';
import { UNet } from '../../../lib/models/unet.js';
import { manualSeed, randn } from '../../../lib/tensor.js';
import { PYTHON_UNET, runPython, torchMissingReason } from '../models/python.js';
import { seededRandom } from './synthetic.js';

const folder = mkdtempSync(join(tmpdir(), 'medunet-fuzz-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Damaged copies of `bytes`: truncations at spread-out lengths, then single and multiple byte flips. */
function* damagedCopies(bytes: Buffer, seed: number): Generator<[string, Buffer]> {
  const random = seededRandom(seed);
  const cuts = [0, 1, 7, 8, 9, 30, 64, bytes.length - 22, bytes.length - 1];
  for (let i = 1; i <= 40; i++) cuts.push(Math.floor((bytes.length * i) / 41));
  for (const length of cuts) yield [`truncated to ${length}`, bytes.subarray(0, Math.max(0, length))];
  for (let i = 0; i < 150; i++) {
    const copy = Buffer.from(bytes);
    const flips = i < 100 ? 1 : 1 + Math.floor(random() * 8);
    const positions: number[] = [];
    for (let f = 0; f < flips; f++) {
      const position = Math.floor(random() * copy.length);
      copy[position] = (copy[position] as number) ^ (1 + Math.floor(random() * 255));
      positions.push(position);
    }
    yield [`bytes flipped at ${positions.join(', ')}`, copy];
  }
}

/** Loads every damaged copy and returns how many loaded and how many failed cleanly. */
function loadDamaged(bytes: Buffer, seed: number, extension: string): { loaded: number; failed: number } {
  const path = join(folder, `damaged${extension}`);
  let loaded = 0;
  let failed = 0;
  for (const [label, copy] of damagedCopies(bytes, seed)) {
    writeFileSync(path, copy);
    try {
      const { tensors } = readCheckpoint(path);
      for (const value of tensors.values()) value.dispose();
      loaded++;
    } catch (error) {
      expect(error, label).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).code, label).toBe('ERR_CHECKPOINT');
      failed++;
    }
  }
  return { loaded, failed };
}

function smallModel(): UNet {
  manualSeed(5);
  const model = new UNet({ baseWidth: 2 });
  model.forward(randn([2, 1, 16, 16]));
  return model;
}

describe('damaged checkpoints', () => {
  it('fails cleanly on damaged medunet checkpoints', () => {
    const path = join(folder, 'valid.pt');
    saveCheckpoint(path, smallModel(), { epoch: 1 });
    const { loaded, failed } = loadDamaged(readFileSync(path), 1, '.pt');
    expect(loaded + failed).toBe(199);
    // None of the 49 truncated copies can load, because each lacks the end of the file.
    expect(failed).toBeGreaterThan(40);
  });

  it('fails cleanly on damaged safetensors files', () => {
    const path = join(folder, 'valid.safetensors');
    saveSafetensors(path, smallModel());
    const { loaded, failed } = loadDamaged(readFileSync(path), 2, '.safetensors');
    expect(loaded + failed).toBe(199);
    expect(failed).toBeGreaterThan(40);
  });

  it.skipIf(torchMissingReason !== null)(
    `fails cleanly on damaged PyTorch state dicts${torchMissingReason ? ` (skipped: ${torchMissingReason})` : ''}`,
    () => {
      const path = join(folder, 'pytorch.pt');
      runPython(`${PYTHON_UNET}
import sys
torch.manual_seed(0)
torch.save(UNet(1, 1, 2).state_dict(), sys.argv[1])
`, [path]);
      const { loaded, failed } = loadDamaged(readFileSync(path), 3, '.pt');
      expect(loaded + failed).toBe(199);
      expect(failed).toBeGreaterThan(40);
    },
  );
});
