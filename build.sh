#!/usr/bin/env bash
# build.sh lib BUILD            build BUILD/libkimberlite.so (with soname) from ffi/
# build.sh install BUILD PREFIX install the library, header and kimberlite.pc under PREFIX
set -euo pipefail
cd "$(dirname "$0")"
cmd=${1:-lib}
build=${2:-build}
mkdir -p "$build"
case "$cmd" in
lib)
  if [ ! -d ffi ] || ! ls ffi/*.go >/dev/null 2>&1; then
    echo "build.sh: no ffi/ package yet, skipping the library"; exit 0
  fi
  # The version script keeps the dynamic symbol table to the public kmb_* API. DWARF 4 debug info
  # (not Go's default 5) so that valgrind 3.19 and other older tools can read it.
  GOEXPERIMENT=nodwarf5 CGO_ENABLED=1 go build -buildmode=c-shared \
    -ldflags "-extldflags '-Wl,-soname,libkimberlite.so.0 -Wl,--version-script=$PWD/ffi/exports.map'" \
    -o "$build/libkimberlite.so" ./ffi
  rm -f "$build/libkimberlite.h" # cgo's generated header; include/kimberlite.h is the public one
  ln -sf libkimberlite.so "$build/libkimberlite.so.0"
  ;;
install)
  prefix=${3:?usage: build.sh install BUILD PREFIX}
  version=$(sed -n 's/^VERSION := //p' Makefile)
  install -d "$prefix/lib" "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/bin"
  install -m 0755 "$build/libkimberlite.so" "$prefix/lib/libkimberlite.so.$version"
  ln -sf "libkimberlite.so.$version" "$prefix/lib/libkimberlite.so.0"
  ln -sf "libkimberlite.so.0" "$prefix/lib/libkimberlite.so"
  install -m 0644 include/kimberlite.h "$prefix/include/kimberlite.h"
  install -m 0755 "$build/kimberlite" "$prefix/bin/kimberlite"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" kimberlite.pc.in > "$prefix/lib/pkgconfig/kimberlite.pc"
  echo "installed libkimberlite $version under $prefix"
  ;;
*) echo "usage: build.sh lib|install ..." >&2; exit 2 ;;
esac
