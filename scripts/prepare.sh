#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Brings a checkout to a runnable state: system packages (libtorch, GoogleTest), npm packages,
# the native addon and the compiled TypeScript. Each step is skipped when already done, so the
# demo and the tests can call it on every run.
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh

if ! command -v npm >/dev/null 2>&1; then
  echo "medunet: npm is not installed; install Node.js 20 or later with npm" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "medunet: Node.js 20 or later is needed; found $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi
# npm ci installs exactly the locked versions; its install hook builds the addon.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "medunet: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "medunet: building the native addon and the TypeScript"
npm run --silent build:native >build-native.log 2>&1 || {
  cat build-native.log >&2
  echo "medunet: building the native addon failed; the log is above and in build-native.log" >&2
  exit 1
}
npm run --silent build:ts
