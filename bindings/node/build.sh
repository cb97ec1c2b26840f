#!/usr/bin/env bash
# build.sh [BUILD]: compile the addon (build/kimberlite.node) against BUILD/libkimberlite.so.
# BUILD defaults to the repository's build/ folder. The library is copied next to the addon
# (as its soname, libkimberlite.so.0) and found there through an $ORIGIN rpath, so the package
# folder is self-contained. N-API headers come from the pinned node-api-headers devDependency
# (no download); /usr/include/node is the fallback when npm ci has not run.
# -z nodelete: Node dlcloses an addon when the last worker thread that loaded it ends, but threads
# of the addon (a close or connect still running) and of the Go runtime outlive it, and a Go
# runtime cannot be unloaded (pitfall 3): the addon, and so the library, stay mapped.
# OUT names another output folder (npm pack puts the build in prebuilds/linux-x64). The C header
# is the repository's in a checkout (a copy left by npm pack may be stale), else the package's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
libdir=$(cd "${1:-${BUILD:-$here/../../build}}" && pwd)
include=$here/../../include
[ -f "$include/kimberlite.h" ] && [ -d "$here/../../ffi" ] || include=$here/include
[ -f "$libdir/libkimberlite.so" ] || { echo "build.sh: $libdir/libkimberlite.so not found (run make lib)" >&2; exit 1; }
headers=$here/node_modules/node-api-headers/include
[ -f "$headers/node_api.h" ] || headers=/usr/include/node
[ -f "$headers/node_api.h" ] || { echo "build.sh: no N-API headers (run npm ci)" >&2; exit 1; }
out=${OUT:-$here/build}
mkdir -p "$out"
cp "$libdir/libkimberlite.so" "$out/libkimberlite.so.0.tmp"
mv -f "$out/libkimberlite.so.0.tmp" "$out/libkimberlite.so.0"
${CC:-cc} -std=c11 -O2 -g -fPIC -shared -Wall -Wextra -Werror -fvisibility=hidden \
  -I"$headers" -I"$include" \
  -o "$out/kimberlite.node.tmp" "$here/addon.c" \
  -L"$out" -l:libkimberlite.so.0 -Wl,-rpath,'$ORIGIN' -Wl,-z,nodelete -pthread
mv -f "$out/kimberlite.node.tmp" "$out/kimberlite.node"
