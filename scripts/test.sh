#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs every test on a fresh or prepared checkout: set-up and build (scripts/prepare.sh), then
# the native C++ suite (GoogleTest through ctest) and the TypeScript suites (vitest), and prints
# one closing line with the totals of both.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --test
sh scripts/prepare.sh
node scripts/run-tests.mjs "$@"
