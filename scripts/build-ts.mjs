// SPDX-License-Identifier: MIT
//
// Compiles lib/ to dist/: ES modules and declarations with tsc, then the CommonJS bundles
// (dist/index.cjs and the executor's worker, dist/executor-worker.cjs) with esbuild so that
// `require('medunet')` works as well as `import`.

import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  cwd: root,
  stdio: 'inherit',
});

const esbuild = require('esbuild');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// The executor's worker thread loads its own entry point, so the bundle gets a second one next
// to it (lib/engine/executor.ts looks for dist/executor-worker.cjs from dist/index.cjs).
const bundles = [
  ['index.js', 'index.cjs'],
  [join('engine', 'executor-worker.js'), 'executor-worker.cjs'],
];
for (const [entry, output] of bundles) {
  esbuild.buildSync({
    entryPoints: [join(root, 'dist', entry)],
    outfile: join(root, 'dist', output),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // nifti-reader-js ships only an ES module entry point, so it (and fflate, which it imports) is
    // bundled; the other dependencies load through require as usual.
    external: Object.keys(pkg.dependencies ?? {}).filter((name) => name !== 'nifti-reader-js'),
    // The ES module code locates the addon from import.meta.url; give the bundle the same value.
    define: { 'import.meta.url': '__medunetModuleUrl' },
    banner: { js: "const __medunetModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
}

// The command's entry point needs a shebang and the executable bit.
const cli = join(root, 'dist', 'cli', 'main.js');
const source = readFileSync(cli, 'utf8');
if (!source.startsWith('#!')) writeFileSync(cli, `#!/usr/bin/env node\n${source}`);
chmodSync(cli, 0o755);
