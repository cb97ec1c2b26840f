#!/usr/bin/env bash
# npm pack / npm publish: put into the package what a machine without Go or a compiler needs,
# a prebuilt addon with its library for this platform (prebuilds/PLATFORM-ARCH, the layout
# node-gyp-build loads), and the C header for the fallback build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD:-$repo/build}
[ -f "$build/libkimberlite.so" ] || "$repo/build.sh" lib "$build"
mkdir -p "$here/include"
cp "$repo/include/kimberlite.h" "$here/include/kimberlite.h"
target=$here/prebuilds/$(node -p 'process.platform + "-" + process.arch')
rm -rf "$target"
OUT=$target "$here/build.sh" "$build"
mv "$target/kimberlite.node" "$target/node.napi.node"
