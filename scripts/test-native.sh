#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Builds the GoogleTest suite in test/native together with the addon in build/ (so the
# libtorch-facing objects are compiled once for both) and runs it with ctest.
#
#   sh scripts/test-native.sh [extra ctest arguments]
#
# Parallelism follows CMAKE_BUILD_PARALLEL_LEVEL, else the number of CPUs. Exits non-zero when
# the build or any test fails.

set -eu

cd "$(dirname "$0")/.."

jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"

# cmake-js passes the Node-API include folders; without it, CMakeLists.txt finds them itself.
if [ -x node_modules/.bin/cmake-js ]; then
  node_modules/.bin/cmake-js configure --CDMEDUNET_BUILD_TESTS=ON
else
  cmake -S . -B build -DMEDUNET_BUILD_TESTS=ON
fi
cmake --build build --parallel "$jobs"
ctest --test-dir build --output-on-failure --parallel "$jobs" "$@"
