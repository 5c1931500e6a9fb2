// SPDX-License-Identifier: MIT
//
// The executor's worker in whole processes: a script that trains off the main thread exits by
// itself, from the ES module build and from the CommonJS bundle. The idle worker does not keep
// the process alive, and a pending step does not let it exit early. Both need `npm run build:ts`.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

/** Returns a script body that trains one batch with `thread: 'worker'` and prints the loss as JSON. */
function trainingScript(load: string): string {
  return `
    const { UNet, DiceLoss, Adam, trainModel, manualSeed } = ${load};
    manualSeed(0);
    const model = new UNet({ baseWidth: 2 });
    const size = 16;
    const images = Float32Array.from({ length: 2 * size * size }, (_, i) => (i % 7) / 7);
    const masks = Float32Array.from({ length: 2 * size * size }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const batch = { images, masks, shape: [2, 1, size, size] };
    const run = trainModel(model, [batch], new Adam(model.parameters()), new DiceLoss(), 'cpu', 1, { thread: 'worker' });
  `;
}

function runNode(args: string[]): string {
  // A worker that kept the process alive would run into this timeout.
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 90_000 });
}

describe('executor worker in a child process', () => {
  it('lets an ES module script exit by itself', () => {
    const url = pathToFileURL(join(root, 'dist', 'index.js')).href;
    const script = `${trainingScript(`await import(${JSON.stringify(url)})`)}
      const history = await run;
      console.log(JSON.stringify({ loss: history.epochs[0].loss }));`;
    const output = runNode(['--input-type=module', '-e', script]);
    const { loss } = JSON.parse(output.trim().split('\n').at(-1) as string) as { loss: number };
    expect(Number.isFinite(loss)).toBe(true);
  });

  it('lets a CommonJS script exit by itself', () => {
    const script = `${trainingScript(`require(${JSON.stringify(join(root, 'dist', 'index.cjs'))})`)}
      run.then((history) => console.log(JSON.stringify({ loss: history.epochs[0].loss })));`;
    const output = runNode(['-e', script]);
    const { loss } = JSON.parse(output.trim().split('\n').at(-1) as string) as { loss: number };
    expect(Number.isFinite(loss)).toBe(true);
  });

  it('fails: thread worker without the worker script, while auto falls back', () => {
    // A copy of dist/ inside the checkout, so that it finds node_modules and the built addon.
    const copy = mkdtempSync(join(root, '.executor-missing-'));
    try {
      cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
      rmSync(join(copy, 'dist', 'engine', 'executor-worker.js'));
      const url = pathToFileURL(join(copy, 'dist', 'index.js')).href;
      const script = `${trainingScript(`await import(${JSON.stringify(url)})`)}
        await run.catch(() => undefined);
        const fallback = await trainModel(model, [batch], new Adam(model.parameters()), new DiceLoss(), 'cpu', 1);
        const error = await trainModel(model, [batch], new Adam(model.parameters()), new DiceLoss(), 'cpu', 1, { thread: 'worker' }).catch((e) => e);
        console.log(JSON.stringify({ loss: fallback.epochs[0].loss, code: error.code, message: error.message }));`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 90_000 });
      expect(result.status).toBe(0);
      const output = JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as { loss: number; code: string; message: string };
      expect(Number.isFinite(output.loss)).toBe(true);
      expect(output.code).toBe('ERR_EXECUTOR');
      expect(output.message).toMatch(/executor-worker\.js was not found.*npm run build:ts/);
      expect(result.stderr).toMatch(/MEDUNET_EXECUTOR_MISSING/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
