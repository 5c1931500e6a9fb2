#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// The npm `install` hook. When a loadable addon already exists (a prebuilt
// prebuilds/<platform>-<arch>/medunet.node or a local build/Release/medunet.node), it does
// nothing. Otherwise it installs libtorch with `sh scripts/setup.sh --libtorch-only` (skipped
// when MEDUNET_SKIP_SETUP=1) and builds the addon with `cmake-js compile`. Every line it prints
// starts with "medunet: ".

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const PREFIX = 'medunet: ';

function log(line) {
  process.stdout.write(line.startsWith(PREFIX) ? `${line}\n` : `${PREFIX}${line}\n`);
}

/** Returns the first candidate addon that loads in this process, or null. */
function findLoadableAddon() {
  const candidates = [
    join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'medunet.node'),
    join(root, 'build', 'Release', 'medunet.node'),
  ];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      require(candidate);
      return candidate;
    } catch (error) {
      log(`${candidate} does not load (${String(error.message).split('\n')[0]}); building from source`);
    }
  }
  return null;
}

/** Runs a command with each output line prefixed; resolves to its exit code. */
function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: child.stdout }).on('line', log);
    createInterface({ input: child.stderr }).on('line', log);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main() {
  if (findLoadableAddon()) return 0;
  if (process.env.MEDUNET_SKIP_SETUP === '1') {
    log('MEDUNET_SKIP_SETUP=1: not checking for libtorch');
  } else {
    const status = await run('sh', [join(root, 'scripts', 'setup.sh'), '--libtorch-only']);
    if (status !== 0) return status;
  }
  log('building the native addon with cmake-js (this can take a few minutes)');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const status = await run(process.execPath, [cmakeJs, 'compile']);
  if (status !== 0) log('the native addon failed to build; see the messages above');
  return status;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    log(`install failed: ${error.message}`);
    process.exit(1);
  },
);
