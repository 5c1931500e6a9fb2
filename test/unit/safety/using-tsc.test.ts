// SPDX-License-Identifier: MIT
//
// `using` as the TypeScript compiler emits it with this repository's tsconfig.json. The compiler
// lowers the declaration to helper calls that look up `Symbol.dispose` at run time, so this checks
// that the emitted JavaScript runs on this Node and disposes tensors and modules.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import { ReLU, zeros, type Tensor } from '../../../lib/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const SOURCE = `
export function useBoth(makeTensor: () => { dispose(): void }, makeModule: () => { dispose(): void }) {
  let tensor;
  let module;
  {
    using t = makeTensor();
    using m = makeModule();
    tensor = t;
    module = m;
  }
  return { tensor, module };
}
`;

/** Compiles `source` with the compiler options of tsconfig.json. */
function compileWithRepoOptions(source: string): string {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, (path) => readFileSync(path, 'utf8')).config, ts.sys, root);
  const output = ts.transpileModule(source, { compilerOptions: { ...config.options, sourceMap: false }, fileName: join(root, 'lib', 'using.ts'), reportDiagnostics: true });
  expect(output.diagnostics ?? []).toEqual([]);
  return output.outputText;
}

describe('using compiled by tsc', () => {
  it('lowers using for the target', () => {
    const emitted = compileWithRepoOptions(SOURCE);
    expect(emitted).toContain('__addDisposableResource');
  });

  it('disposes a tensor and a module', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medunet-using-'));
    try {
      const file = join(dir, 'using.mjs');
      writeFileSync(file, compileWithRepoOptions(SOURCE));
      const compiled = (await import(pathToFileURL(file).href)) as {
        useBoth: (makeTensor: () => Tensor, makeModule: () => ReLU) => { tensor: Tensor; module: ReLU };
      };
      const { tensor, module } = compiled.useBoth(
        () => zeros([3]),
        () => new ReLU(),
      );
      expect(tensor.disposed).toBe(true);
      expect(module.disposed).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
