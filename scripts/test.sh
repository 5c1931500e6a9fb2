#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs every test on a fresh or prepared checkout: set-up and build (scripts/prepare.sh), the
# sample MRI (scripts/fetch-sample-data.sh), then the native C++ suite (GoogleTest through
# ctest) and the TypeScript suites (vitest), and prints one closing line with both totals.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --test
sh scripts/prepare.sh
# Tests that read the sample MRI skip themselves without it, so a failed download is not fatal.
sh scripts/fetch-sample-data.sh || echo "medunet: the sample MRI could not be fetched; the tests that read it will be skipped" >&2
node scripts/run-tests.mjs "$@"
