// SPDX-License-Identifier: MIT
//
// The addon loader: the order of candidates, the errors it passes on and its help text.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadFirstAddon } from '../../../lib/native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const addonPath = process.env['MEDUNET_ADDON'] || join(root, 'build', 'Release', 'medunet.node');
const load = createRequire(import.meta.url);

let folder = '';
let brokenAddon = '';
let relocatedLoader = '';

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'medunet-loader-'));
  brokenAddon = join(folder, 'broken.node');
  writeFileSync(brokenAddon, 'not a shared library');
  // lib/native.ts compiled on its own, outside the package, so that it finds no build/Release.
  const compiled = await transform(readFileSync(join(root, 'lib', 'native.ts'), 'utf8'), { loader: 'ts', format: 'esm' });
  relocatedLoader = join(folder, 'native.mjs');
  writeFileSync(relocatedLoader, compiled.code);
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** Imports the relocated loader in a new Node.js process and returns the error it throws, or null. */
function importInChild(env: Record<string, string>): { code: unknown; message: string } | null {
  const script = `
    import(${JSON.stringify(pathToFileURL(relocatedLoader).href)}).then(
      () => console.log(JSON.stringify(null)),
      (error) => console.log(JSON.stringify({ code: error.code, message: error.message })),
    );
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { code: unknown; message: string } | null;
}

describe('loadFirstAddon', () => {
  it('skips missing and broken files and loads the next addon', () => {
    const binding = loadFirstAddon([join(folder, 'missing.node'), brokenAddon, addonPath], load);
    expect(typeof binding.getNumThreads).toBe('function');
    expect(binding.getNumThreads()).toBeGreaterThan(0);
  });

  it('fails: no candidate exists', () => {
    const missing = [join(folder, 'a.node'), join(folder, 'b.node')];
    const call = (): unknown => loadFirstAddon(missing, load);
    expect(call).toThrow(Error);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_ADDON_NOT_FOUND' }));
    expect(call).toThrow(`${missing[0]}: not found`);
    expect(call).toThrow(`${missing[1]}: not found`);
    expect(call).toThrow('`npm rebuild medunet`');
    expect(call).toThrow('`npm run build:native`');
  });

  it('fails: the only candidate is not a loadable library', () => {
    const call = (): unknown => loadFirstAddon([brokenAddon], load);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_ADDON_NOT_FOUND' }));
    expect(call).toThrow(new RegExp(`${brokenAddon.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S`));
  });

  it('fails: an empty candidate list', () => {
    const call = (): unknown => loadFirstAddon([], load);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_ADDON_NOT_FOUND', message: expect.stringContaining('no paths') }));
  });

  it('fails: an error of the addon itself passes through unchanged', () => {
    const coded = Object.assign(new RangeError('MEDUNET_NUM_THREADS must be an integer'), { code: 'ERR_OUT_OF_RANGE' });
    const call = (): unknown =>
      loadFirstAddon([addonPath, addonPath], () => {
        throw coded;
      });
    expect(call).toThrow(coded);
  });
});

describe('native module loading', () => {
  it('fails: an invalid MEDUNET_NUM_THREADS reaches the caller as the addon reports it', () => {
    const error = importInChild({ MEDUNET_ADDON: addonPath, MEDUNET_NUM_THREADS: '99999' });
    expect(error).not.toBeNull();
    expect(error!.code).toBe('ERR_OUT_OF_RANGE');
    expect(error!.message).toMatch(/MEDUNET_NUM_THREADS must be/);
    expect(error!.message).not.toMatch(/could not load the native addon/);
  });

  it('fails: MEDUNET_ADDON names a missing file and no build is found', () => {
    const missing = join(folder, 'missing.node');
    const error = importInChild({ MEDUNET_ADDON: missing });
    expect(error).not.toBeNull();
    expect(error!.code).toBe('ERR_ADDON_NOT_FOUND');
    expect(error!.message).toContain(`${missing}: not found`);
    expect(error!.message).toContain(join(folder, 'build', 'Release', 'medunet.node'));
  });

  it('loads the addon that MEDUNET_ADDON names', () => {
    expect(importInChild({ MEDUNET_ADDON: addonPath })).toBeNull();
  });
});
