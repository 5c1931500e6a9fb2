// SPDX-License-Identifier: MIT
//
// Worker threads that are terminated in the middle of native calls, with and without their own
// executor worker, must not take the process down. terminate-sequence.mjs runs those sequences
// in a child process, because an abort there would otherwise end the test runner too. It loads
// dist/index.js, so run `npm run build` first.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const SCRIPT = join(ROOT, 'test', 'unit', 'runtime', 'terminate-sequence.mjs');
const distMissing = existsSync(join(ROOT, 'dist', 'index.js')) ? false : 'dist/index.js is missing; run `npm run build` first';

describe.skipIf(distMissing !== false)(`terminated worker threads${distMissing === false ? '' : ` (skipped: ${distMissing})`}`, () => {
  it('start, terminate and restart without abort', () => {
    const child = spawnSync(process.execPath, [SCRIPT, ROOT], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    // An abort shows as signal SIGABRT and "terminate called after throwing" on stderr.
    expect(child.stderr).not.toMatch(/terminate called|FATAL ERROR/);
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(child.stdout.trim().split('\n').at(-1)).toBe('done');
  }, 300_000);
});
