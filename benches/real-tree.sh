#!/usr/bin/env bash
# A real product tree that nobody here wrote, for `pack-bench.sh --tree`: the Go 1.19
# standard library and toolchain sources as Debian ships them (package golang-1.19-src,
# about 118 MB in 11,700 files). Downloaded with `apt-get download` once and extracted under
# target/bench-real/; prints the tree's path.
#
#   bash benches/real-tree.sh            # then: bash benches/pack-bench.sh --tree "$(bash benches/real-tree.sh)"
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package=golang-1.19-src
root="$repo/target/bench-real"
tree="$root/$package"
if [[ ! -f "$tree.bench-name" || ! -d "$tree" ]]; then
  mkdir -p "$root"
  cd "$root"
  rm -rf "$tree" "$tree.tmp" ./*.deb
  apt-get download "$package" >&2 || {
    echo "error: cannot download $package (apt-get update first, as root)" >&2
    exit 1
  }
  deb="$(ls ./*.deb)"
  dpkg-deb -x "$deb" "$tree.tmp"
  version="$(dpkg-deb -f "$deb" Version)"
  mv "$tree.tmp" "$tree"
  # Beside the tree, not in it: names it in the benchmark's report.
  echo "Debian's $package $version (the Go sources: apt-get download $package, dpkg-deb -x)" \
    >"$tree.bench-name"
  rm -f "$deb"
fi
printf '%s\n' "$tree"
