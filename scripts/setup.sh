#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs the system packages that building medunet's native addon needs, on Debian or Ubuntu:
# CMake, a C++ compiler, a build tool, libtorch and GoogleTest. libtorch-dev is installed only
# when neither LIBTORCH, Torch_DIR, CMAKE_PREFIX_PATH nor a Python PyTorch provides libtorch,
# which is the order native/cmake/find_torch.cmake searches in. GoogleTest (libgtest-dev) is
# for scripts/test-native.sh.
#
#   sh scripts/setup.sh                   everything above
#   sh scripts/setup.sh --libtorch-only   only libtorch (what scripts/install.mjs runs)
#   sh scripts/setup.sh --test            everything above, plus Python's PyTorch and nibabel,
#                                         which the tests compare medunet with
#
# With Debian's libtorch it also installs OpenBLAS (libopenblas0-pthread): libtorch's transposed
# convolutions go through the system BLAS, and with Debian's reference BLAS they ran about 3
# times slower here (scripts/bench-blas-threads.mjs, 514 ms against about 150 ms).
#
# Prints nothing when everything is present. Installs with apt-get as root, or through
# `sudo -n` when that works without a password; otherwise prints the command to run and exits 1.

set -eu

say() { printf 'medunet: %s\n' "$*"; }

libtorch_only=false
test_tools=false
case "${1:-}" in
  --libtorch-only) libtorch_only=true ;;
  --test) test_tools=true ;;
  "") ;;
  *)
    say "unknown option '$1'; use --libtorch-only, --test or no option"
    exit 2
    ;;
esac

packages=""
summary=""
install_messages=""

# Records that apt-get package $1 is needed, because of reason $2.
need() {
  packages="$packages $1"
  summary="${summary:+$summary, }$1 ($2)"
  install_messages="${install_messages}installing $1 with apt-get ($2)
"
}

have_command() { command -v "$1" >/dev/null 2>&1; }

# True when a file matches the glob pattern $1.
have_file() {
  for file in $1; do
    [ -e "$file" ] && return 0
  done
  return 1
}

torch_config_under() {
  have_file "$1/Torch/TorchConfig.cmake" || have_file "$1/share/cmake/Torch/TorchConfig.cmake" ||
    have_file "$1/lib/cmake/Torch/TorchConfig.cmake" || have_file "$1/lib/*/cmake/Torch/TorchConfig.cmake"
}

# True when CMake will find libtorch without libtorch-dev. An explicit LIBTORCH or Torch_DIR
# without TorchConfig.cmake is an error, because CMake stops there rather than search on.
torch_found() {
  if [ -n "${LIBTORCH:-}" ]; then
    have_file "$LIBTORCH/share/cmake/Torch/TorchConfig.cmake" && return 0
    say "LIBTORCH is set to '$LIBTORCH', but that folder contains no share/cmake/Torch/TorchConfig.cmake;"
    say "set LIBTORCH to the folder unpacked from a libtorch archive, or unset it"
    exit 1
  fi
  if [ -n "${Torch_DIR:-}" ]; then
    have_file "$Torch_DIR/TorchConfig.cmake" && return 0
    say "Torch_DIR is set to '$Torch_DIR', but that folder contains no TorchConfig.cmake; fix or unset it"
    exit 1
  fi
  old_ifs=$IFS
  IFS=:
  for prefix in ${CMAKE_PREFIX_PATH:-}; do
    if [ -n "$prefix" ] && torch_config_under "$prefix"; then
      IFS=$old_ifs
      return 0
    fi
  done
  IFS=$old_ifs
  if have_command python3; then
    python_prefix=$(python3 -c 'import sys, torch; sys.stdout.write(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
    [ -n "$python_prefix" ] && have_file "$python_prefix/Torch/TorchConfig.cmake" && return 0
  fi
  torch_config_under /usr || torch_config_under /usr/local
}

gtest_found() {
  have_file "/usr/lib/*/cmake/GTest/GTestConfig.cmake" || have_file "/usr/lib/cmake/GTest/GTestConfig.cmake" ||
    have_file "/usr/local/lib/cmake/GTest/GTestConfig.cmake" || have_file "/usr/local/lib/*/cmake/GTest/GTestConfig.cmake"
}

if [ "$libtorch_only" = false ]; then
  have_command cmake || need cmake "cmake not found"
  have_command c++ || have_command g++ || have_command clang++ || need g++ "no C++ compiler found"
  have_command ninja || have_command make || need make "neither ninja nor make found"
fi
debian_torch=false
if torch_found; then
  have_command dpkg && dpkg -s libtorch-dev >/dev/null 2>&1 && debian_torch=true
else
  need libtorch-dev "libtorch not found"
  debian_torch=true
fi
if [ "$debian_torch" = true ] && ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  need libopenblas0-pthread "faster transposed convolutions than the reference BLAS"
fi
if [ "$test_tools" = true ]; then
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need python3-torch "PyTorch for the comparison tests"
  /usr/bin/python3 -c 'import nibabel' >/dev/null 2>&1 || need python3-nibabel "nibabel for the NIfTI comparison tests"
fi
if [ "$libtorch_only" = false ]; then
  gtest_found || need libgtest-dev "GoogleTest not found"
fi

[ -z "$packages" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  run_as_root=""
elif have_command sudo && sudo -n true 2>/dev/null; then
  run_as_root="sudo -n"
else
  run_as_root="none"
fi

if ! have_command apt-get || [ "$run_as_root" = none ]; then
  say "missing: $summary"
  if have_command apt-get; then
    say "install them as root: sudo apt-get install -y$packages"
  else
    say "install them with your system's package manager, or point LIBTORCH at an unpacked libtorch"
  fi
  exit 1
fi

# The package lists may be empty (fresh containers) or stale; refresh them only then.
for package in $packages; do
  if ! apt-cache show "$package" >/dev/null 2>&1; then
    say "updating the apt package lists ($package is not in them)"
    $run_as_root apt-get update -q
    break
  fi
done

printf '%s' "$install_messages" | while IFS= read -r line; do
  say "$line"
done
# sudo drops most of the environment, so DEBIAN_FRONTEND goes through env.
$run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages
