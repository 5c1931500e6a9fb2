#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Finds libtorch in the order that native/cmake/find_torch.cmake uses (LIBTORCH, Torch_DIR,
// CMAKE_PREFIX_PATH, the PyTorch that python3 imports, the system's CMake folders). It prints
// what a node-gyp build needs, for binding.gyp's `<!@(node scripts/find-torch.mjs MODE)`.
//
// MODE is one of:
//   include    include folders, one per line
//   libraries  linker flags: -L, rpath and the libtorch libraries
//   defines    preprocessor definitions (C++ ABI, MEDUNET_WITH_CUDA)
//   cuda       "true" when the libtorch found has CUDA, else "false"
//   json       all of the above and where libtorch was found
//
// Exits with status 1 and a message on standard error when no libtorch is found.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

const HELP =
  'medunet needs libtorch 1.13 or later and none was found. Point the build at one: set the LIBTORCH ' +
  'environment variable to an unpacked libtorch folder, set Torch_DIR to the folder that holds ' +
  'TorchConfig.cmake, add the libtorch prefix to CMAKE_PREFIX_PATH, or install PyTorch for python3. On ' +
  'Debian or Ubuntu, `sh scripts/setup.sh` installs libtorch-dev with apt-get.';

class NotFound extends Error {}

/** Folders under `prefix` where CMake looks for a Torch package configuration. */
function configFoldersUnder(prefix) {
  const folders = [join(prefix, 'Torch'), join(prefix, 'share', 'cmake', 'Torch'), join(prefix, 'lib', 'cmake', 'Torch')];
  const lib = join(prefix, 'lib');
  if (existsSync(lib)) {
    for (const entry of readdirSync(lib)) folders.push(join(lib, entry, 'cmake', 'Torch'));
  }
  return folders;
}

function firstConfig(folders) {
  return folders.map((folder) => join(folder, 'TorchConfig.cmake')).find((file) => existsSync(file));
}

function pythonPrefix() {
  try {
    const code = 'import sys, torch; sys.stdout.write(torch.utils.cmake_prefix_path)';
    return execFileSync('python3', ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/** Returns { config, source }: the TorchConfig.cmake path and which search step found it. */
function findConfig() {
  const { LIBTORCH, Torch_DIR: torchDir, CMAKE_PREFIX_PATH: prefixPath } = process.env;
  if (LIBTORCH) {
    const config = firstConfig([join(LIBTORCH, 'share', 'cmake', 'Torch')]);
    if (!config) throw new NotFound(`LIBTORCH is set to '${LIBTORCH}', but that folder contains no share/cmake/Torch/TorchConfig.cmake.`);
    return { config, source: 'LIBTORCH' };
  }
  if (torchDir) {
    const config = firstConfig([torchDir]);
    if (!config) throw new NotFound(`Torch_DIR is set to '${torchDir}', but that folder contains no TorchConfig.cmake.`);
    return { config, source: 'Torch_DIR' };
  }
  for (const prefix of (prefixPath ?? '').split(delimiter).filter(Boolean)) {
    const config = firstConfig(configFoldersUnder(prefix));
    if (config) return { config, source: 'CMAKE_PREFIX_PATH' };
  }
  const python = pythonPrefix();
  if (python) {
    const config = firstConfig([join(python, 'Torch')]);
    if (config) return { config, source: `Python PyTorch (${python})` };
  }
  for (const prefix of ['/usr/local', '/usr']) {
    const config = firstConfig(configFoldersUnder(prefix));
    if (config) return { config, source: 'system' };
  }
  throw new NotFound(HELP);
}

/** Reads TorchConfig.cmake the way CMake would for the few values a gyp build needs. */
function describeTorch({ config, source }) {
  const text = readFileSync(config, 'utf8');
  const configDir = dirname(config);
  // TorchConfig.cmake derives its install prefix from its own folder, for example "../../../".
  const prefixMatch = /get_filename_component\(TORCH_INSTALL_PREFIX\s+"\$\{CMAKE_CURRENT_LIST_DIR\}\/([./]*)"/.exec(text);
  const prefix = resolve(configDir, prefixMatch ? prefixMatch[1] : '../../..');
  // Upstream libtorch keeps its libraries in <prefix>/lib; Debian in the folder above cmake/Torch.
  const libDir = [join(prefix, 'lib'), resolve(configDir, '..', '..')].find((dir) => existsSync(join(dir, 'libtorch.so')));
  if (!libDir) throw new NotFound(`libtorch.so was not found next to ${config}. ${HELP}`);
  const cuda = existsSync(join(libDir, 'libtorch_cuda.so'));
  const abi = /-D_GLIBCXX_USE_CXX11_ABI=([01])/.exec(text);
  const defines = [...(abi ? [`_GLIBCXX_USE_CXX11_ABI=${abi[1]}`] : []), ...(cuda ? ['MEDUNET_WITH_CUDA'] : [])];
  const libraries = ['torch', 'torch_cpu', 'c10', ...(cuda ? ['torch_cuda', 'c10_cuda'] : [])];
  // The compiler searches /usr/include already; naming it again with -I breaks #include_next in libstdc++.
  const include = [join(prefix, 'include'), join(prefix, 'include', 'torch', 'csrc', 'api', 'include')].filter(
    (dir) => dir !== '/usr/include' && dir !== '/usr/local/include',
  );
  return {
    source,
    config,
    include,
    libDir,
    // --no-as-needed keeps libtorch_cuda linked although no symbol of it is referenced directly.
    libraries: [`-L${libDir}`, `-Wl,-rpath,${libDir}`, '-Wl,--no-as-needed', ...libraries.map((name) => `-l${name}`), '-Wl,--as-needed'],
    defines,
    cuda,
  };
}

const mode = process.argv[2] ?? 'json';
try {
  const torch = describeTorch(findConfig());
  const outputs = {
    include: () => torch.include.join('\n'),
    libraries: () => torch.libraries.join('\n'),
    defines: () => torch.defines.join('\n'),
    cuda: () => String(torch.cuda),
    json: () => JSON.stringify(torch, null, 2),
  };
  if (!(mode in outputs)) {
    process.stderr.write(`find-torch: unknown mode '${mode}'; use include, libraries, defines, cuda or json\n`);
    process.exit(2);
  }
  process.stdout.write(`${outputs[mode]()}\n`);
} catch (error) {
  if (!(error instanceof NotFound)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
