#!/usr/bin/env bash
# build.sh lib BUILD            build BUILD/libkimberlite.so (with soname) from ffi/
# build.sh static BUILD         build BUILD/libkimberlite.a (the same C ABI as a static archive)
# build.sh install BUILD PREFIX install the libraries, headers, kimberlite.pc, the CMake package
#                               and the kimberlite command under $DESTDIR$PREFIX
# build.sh uninstall PREFIX     remove exactly what install put under $DESTDIR$PREFIX
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
static)
  GOEXPERIMENT=nodwarf5 CGO_ENABLED=1 go build -buildmode=c-archive -o "$build/libkimberlite.a" ./ffi
  rm -f "$build/libkimberlite.h"
  ;;
install)
  prefix=${3:?usage: build.sh install BUILD PREFIX}
  version=$(sed -n 's/^VERSION := //p' Makefile)
  minor=$(echo "$version" | cut -d. -f2)
  root=${DESTDIR:-}$prefix
  install -d "$root/lib" "$root/include" "$root/lib/pkgconfig" "$root/lib/cmake/kimberlite" "$root/bin"
  install -m 0755 "$build/libkimberlite.so" "$root/lib/libkimberlite.so.$version"
  ln -sf "libkimberlite.so.$version" "$root/lib/libkimberlite.so.0"
  ln -sf "libkimberlite.so.0" "$root/lib/libkimberlite.so"
  [ -f "$build/libkimberlite.a" ] && install -m 0644 "$build/libkimberlite.a" "$root/lib/libkimberlite.a"
  install -m 0644 include/kimberlite.h include/kimberlite.hpp "$root/include/"
  install -m 0755 "$build/kimberlite" "$root/bin/kimberlite"
  # The .pc and CMake files name PREFIX, where the files live once DESTDIR is packaged.
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" kimberlite.pc.in > "$root/lib/pkgconfig/kimberlite.pc"
  sed -e "s|@VERSION@|$version|g" cmake/kimberliteConfig.cmake.in > "$root/lib/cmake/kimberlite/kimberliteConfig.cmake"
  sed -e "s|@VERSION@|$version|g" -e "s|@MINOR@|$minor|g" cmake/kimberliteConfigVersion.cmake.in \
    > "$root/lib/cmake/kimberlite/kimberliteConfigVersion.cmake"
  echo "installed libkimberlite $version under $root"
  ;;
uninstall)
  prefix=${2:?usage: build.sh uninstall PREFIX}
  version=$(sed -n 's/^VERSION := //p' Makefile)
  root=${DESTDIR:-}$prefix
  rm -f "$root/lib/libkimberlite.so.$version" "$root/lib/libkimberlite.so.0" "$root/lib/libkimberlite.so" \
    "$root/lib/libkimberlite.a" "$root/include/kimberlite.h" "$root/include/kimberlite.hpp" \
    "$root/bin/kimberlite" "$root/lib/pkgconfig/kimberlite.pc" \
    "$root/lib/cmake/kimberlite/kimberliteConfig.cmake" "$root/lib/cmake/kimberlite/kimberliteConfigVersion.cmake"
  # Folders only when now empty: a shared prefix such as /usr/local keeps what others put there.
  for d in lib/cmake/kimberlite lib/cmake lib/pkgconfig include bin lib; do rmdir "$root/$d" 2>/dev/null || true; done
  echo "removed libkimberlite from $root"
  ;;
*) echo "usage: build.sh lib|static|install|uninstall ..." >&2; exit 2 ;;
esac
