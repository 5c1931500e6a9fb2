#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Places the sample MRI from Debian's mricron-data package under data/sample/ in the repository:
#   ch2.nii.gz     T1-weighted scan of one adult brain, 181 x 217 x 181 voxels of 1 mm
#   ch2bet.nii.gz  the same scan with the skull removed, so its non-zero voxels are a brain mask
# The package is downloaded and unpacked without installing it. Root is needed only when apt's
# package lists lack mricron-data and must be updated. Prints nothing when both files are
# already there. Usage: sh scripts/fetch-sample-data.sh (from any directory).

set -eu

package=mricron-data
files='ch2.nii.gz ch2bet.nii.gz'

say() { printf 'medunet: %s\n' "$*"; }
fail() { printf 'medunet: error: %s\n' "$*" >&2; exit 1; }

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
dest="$root/data/sample"

# A usable file is non-empty and starts with the gzip magic bytes 1f 8b.
is_gzip() {
  [ -s "$1" ] && [ "$(od -An -tx1 -N2 "$1" | tr -d ' \n')" = 1f8b ]
}

missing=''
for name in $files; do
  is_gzip "$dest/$name" || missing="$missing $name"
done
[ -n "$missing" ] || exit 0

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found; this script needs Debian or Ubuntu tools (apt-get, dpkg-deb) to fetch $package"
done

# Prints the prefix that runs a command as root: nothing when we are root, "sudo -n" when
# passwordless sudo works. Fails when neither is possible.
root_prefix() {
  if [ "$(id -u)" -eq 0 ]; then
    printf ''
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    printf 'sudo -n'
  else
    return 1
  fi
}

# apt runs downloads as the unprivileged _apt user, which must be able to write the directory.
work=$(mktemp -d "${TMPDIR:-/tmp}/medunet-sample.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 1777 "$work"

download() {
  (cd "$work" && apt-get download -q "$package" >"$work/apt.log" 2>&1)
}

say "downloading $package with apt-get"
if ! download; then
  if apt-cache show "$package" >/dev/null 2>&1; then
    cat "$work/apt.log" >&2
    fail "apt-get download $package failed; see the apt output above"
  fi
  prefix=$(root_prefix) ||
    fail "apt's package lists lack $package and updating them needs root: run 'sudo apt-get update', then run this script again"
  say "apt's package lists lack $package; running ${prefix:+$prefix }apt-get update"
  # Word splitting of $prefix (empty or "sudo -n") is intended.
  # shellcheck disable=SC2086
  $prefix apt-get update -q >"$work/update.log" 2>&1 || {
    cat "$work/update.log" >&2
    fail "apt-get update failed; see the apt output above"
  }
  download || {
    cat "$work/apt.log" >&2
    fail "apt-get download $package failed after apt-get update; check that this release has it with 'apt-cache policy $package'"
  }
fi

deb=$(find "$work" -maxdepth 1 -name "${package}_*.deb" | head -n 1)
[ -n "$deb" ] || fail "apt-get download reported success but left no ${package}_*.deb in $work"
dpkg-deb -x "$deb" "$work/root" || fail "could not unpack $deb"

mkdir -p "$dest"
for name in $missing; do
  source=$(find "$work/root" -type f -name "$name" | head -n 1)
  [ -n "$source" ] || fail "$(basename "$deb") does not contain $name"
  is_gzip "$source" || fail "$name in $(basename "$deb") is empty or not gzip-compressed"
  # Copy, then rename, so an interrupted run never leaves a partial file under the final name.
  cp "$source" "$dest/$name.partial"
  mv -f "$dest/$name.partial" "$dest/$name"
  say "placed data/sample/$name ($(wc -c <"$dest/$name" | tr -d ' ') bytes)"
done
