// SPDX-License-Identifier: MIT
//
// The built package used from outside the repository, as `import ... from 'medunet'` in an ES
// module and as `require('medunet')` in CommonJS.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, root } from './helpers.js';

let dir: string;

beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(join(tmpdir(), 'medunet-package-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'medunet'), 'dir');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runScript(name: string, source: string): { status: number; stdout: string; stderr: string } {
  const path = join(dir, name);
  writeFileSync(path, source);
  const result = spawnSync(process.execPath, [path], { cwd: dir, encoding: 'utf8' });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('medunet package', () => {
  it('trains one epoch from a plain ES module', () => {
    const result = runScript(
      'train.mjs',
      `import { UNet, DiceLoss, Adam, trainModel, manualSeed } from 'medunet';
manualSeed(3);
const [B, H, W] = [2, 32, 32];
const batches = [0, 1, 2].map((k) => {
  const images = new Float32Array(B * H * W);
  const masks = new Float32Array(B * H * W);
  for (let i = 0; i < images.length; i++) {
    const x = i % W, y = Math.floor(i / W) % H;
    const inside = Math.abs(x - 10 - 4 * k) < 6 && Math.abs(y - 16) < 6;
    masks[i] = inside ? 1 : 0;
    images[i] = (inside ? 1 : 0) + 0.1 * Math.sin(i);
  }
  return { images, masks, shape: [B, 1, H, W] };
});
const model = new UNet({ inChannels: 1, numClasses: 1, baseWidth: 4 });
const history = await trainModel(model, batches, new Adam(model.parameters(), { lr: 1e-2 }), new DiceLoss(), 'cpu', 1);
console.log(JSON.stringify(history.epochs));
`,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const epochs = JSON.parse(result.stdout.trim()) as Array<{ epoch: number; loss: number }>;
    expect(epochs).toHaveLength(1);
    expect(epochs[0]?.epoch).toBe(1);
    expect(epochs[0]?.loss).toBeGreaterThan(0);
    expect(epochs[0]?.loss).toBeLessThan(1);
  });

  it('loads through require in CommonJS', () => {
    const result = runScript(
      'forward.cjs',
      `const { UNet, tensor, noGrad, versions } = require('medunet');
const model = new UNet({ baseWidth: 4 }).eval();
const output = noGrad(() => model.forward(tensor(new Float32Array(2 * 40 * 24), [2, 1, 40, 24])));
console.log(JSON.stringify({ shape: output.shape, torch: versions.torch }));
`,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout.trim()) as { shape: number[]; torch: string };
    expect(parsed.shape).toEqual([2, 1, 40, 24]);
    expect(parsed.torch).toMatch(/^\d+\.\d+/);
  });
});
