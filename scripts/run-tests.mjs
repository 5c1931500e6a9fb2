// SPDX-License-Identifier: MIT
//
// Runs the native C++ suite (scripts/test-native.sh: GoogleTest through ctest) and the vitest
// suites, then prints one closing line with the totals of both, "tests: N passed, N failed".
// Arguments are passed on to vitest (for example a test file filter).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a command with inherited stdin and stderr, echoing and returning its stdout. */
function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? 1, output }));
  });
}

const native = await run('sh', ['scripts/test-native.sh']);
const ctest = /(\d+)% tests passed, (\d+) tests? failed out of (\d+)/.exec(native.output);
const nativeFailed = ctest ? Number(ctest[2]) : 0;
// ctest counts a skipped test as passed; its result line ends in "***Skipped".
const nativeSkipped = (native.output.match(/\*\*\*Skipped/g) ?? []).length;
const nativePassed = ctest ? Number(ctest[3]) - nativeFailed - nativeSkipped : 0;
if (!ctest) process.stderr.write('medunet: the native suite printed no ctest summary\n');

const dir = mkdtempSync(join(tmpdir(), 'medunet-vitest-'));
const report = join(dir, 'report.json');
const vitest = await run(process.execPath, [
  join(root, 'node_modules', 'vitest', 'vitest.mjs'),
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);
let tsPassed = 0;
let tsFailed = 0;
let tsSkipped = 0;
try {
  const results = JSON.parse(readFileSync(report, 'utf8'));
  tsPassed = results.numPassedTests;
  tsFailed = results.numFailedTests;
  tsSkipped = results.numPendingTests + (results.numTodoTests ?? 0);
} catch (error) {
  process.stderr.write(`medunet: could not read the vitest report: ${error.message}\n`);
  tsFailed += 1;
}
rmSync(dir, { recursive: true, force: true });

const failed = nativeFailed + tsFailed + (native.status !== 0 && nativeFailed === 0 ? 1 : 0) + (vitest.status !== 0 && tsFailed === 0 ? 1 : 0);
process.stdout.write(
  `\nnative suite: ${nativePassed} passed, ${nativeFailed} failed, ${nativeSkipped} skipped; ` +
    `TypeScript suites: ${tsPassed} passed, ${tsFailed} failed, ${tsSkipped} skipped\n`,
);
process.stdout.write(`tests: ${nativePassed + tsPassed} passed, ${failed} failed, ${nativeSkipped + tsSkipped} skipped\n`);
process.exitCode = failed === 0 && native.status === 0 && vitest.status === 0 ? 0 : 1;
