#!/usr/bin/env bash
# The packaging suite: what a user installs into their own project works from outside the
# repository, with no KIMBERLITE_LIB, PYTHONPATH or LD_LIBRARY_PATH. Python: the wheel is built,
# installed into a fresh venv, runs the guide's basic pattern against a local server (with the
# wheel's library and read accelerator), a consumer script passes mypy --strict, and a wheel built
# from the sdist has both native files. Node: the npm pack tarball installs into a
# fresh project and the guide's TypeScript basic pattern type-checks and runs, as ESM and CJS. C/C++: make install with DESTDIR, a C program through
# pkg-config (shared and static), a C++ program through CMake's find_package, make uninstall leaves nothing behind. Run by `make test-packaging`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$repo/build}
unset KIMBERLITE_LIB PYTHONPATH LD_LIBRARY_PATH
work=$(mktemp -d)
. "$repo/scripts/local-server.sh"
cleanup() { stop_local_server; rm -rf "$work"; }
trap cleanup EXIT
here=$(cd "$(dirname "$0")" && pwd)
cd "$work"
start_local_server "$BUILD/kimberlite" "$work"

echo "== python: wheel, fresh venv, guide basic pattern, mypy --strict"
python3 -m pip wheel --quiet --no-deps --disable-pip-version-check -w "$work/dist" "$repo/bindings/python"
wheel=$(ls "$work"/dist/kimberlite-*.whl)
case "$wheel" in *-cp310-abi3-linux_*.whl) ;; *) echo "not an abi3 platform wheel: $wheel" >&2; exit 1 ;; esac
unzip -p "$wheel" 'kimberlite-*.dist-info/WHEEL' | grep -qx 'Root-Is-Purelib: false'
unzip -l "$wheel" >"$work/wheel.txt"
grep -q 'kimberlite/libkimberlite.so$' "$work/wheel.txt"
grep -q 'kimberlite/_speedups.abi3.so$' "$work/wheel.txt"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" mypy==2.4.1
cp "$here/basic.py" "$work/basic.py"
out=$("$work/venv/bin/python" "$work/basic.py" "$server_addr")
echo "$out" | grep -q "^libkimberlite loaded from $work/venv/.*/site-packages/kimberlite/libkimberlite.so$" ||
  { echo "$out"; echo "the wheel's own library was not used" >&2; exit 1; }
echo "$out" | grep -q "^read accelerator loaded from $work/venv/.*/site-packages/kimberlite/_speedups.abi3.so$" ||
  { echo "$out"; echo "the wheel's read accelerator was not used" >&2; exit 1; }
"$work/venv/bin/mypy" --strict --no-incremental "$work/basic.py"
echo "== python: the sdist carries what the library and the accelerator build from"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check build==1.6.1
"$work/venv/bin/python" -m build --sdist -o "$work/sdist" "$repo/bindings/python" >"$work/sdist.out" 2>&1 ||
  { cat "$work/sdist.out"; exit 1; }
python3 -m pip wheel --quiet --no-deps --disable-pip-version-check -w "$work/from-sdist" "$work"/sdist/kimberlite-*.tar.gz
unzip -l "$work"/from-sdist/kimberlite-*-cp310-abi3-linux_*.whl >"$work/sdist-wheel.txt"
grep -q 'kimberlite/libkimberlite.so$' "$work/sdist-wheel.txt"
grep -q 'kimberlite/_speedups.abi3.so$' "$work/sdist-wheel.txt"
[ ! -e "$repo/bindings/python/build" ] && [ ! -e "$repo/bindings/python/kimberlite.egg-info" ] ||
  echo "note: the package build left build files in bindings/python (ignored by .gitignore)"

echo "== node: npm pack, fresh project, guide basic pattern by import and by require (tsc --strict)"
BUILD=$BUILD npm pack --silent --pack-destination "$work" "$repo/bindings/node" >/dev/null
tarball=$(ls "$work"/kimberlite-client-*.tgz)
tar -tzf "$tarball" >"$work/tarball.txt" # (grep -q on a pipe would SIGPIPE tar under pipefail)
grep -qx 'package/prebuilds/linux-x64/node.napi.node' "$work/tarball.txt"
grep -qx 'package/include/kimberlite.h' "$work/tarball.txt"
mkdir -p "$work/app" && cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tarball" typescript@5.9.3 @types/node@20.19.43 >/dev/null
cp "$here/basic.mts" "$here/basic.cts" "$here/tsconfig.json" .
npx tsc --strict --noEmit -p .
npx tsc -p .
[ ! -e node_modules/@kimberlite/client/build ] || { echo "the install built instead of using the prebuild" >&2; exit 1; }
node out/basic.mjs "$server_addr"
node out/basic.cjs "$server_addr"
cd "$work"

echo "== c: make install DESTDIR, pkg-config, make uninstall"
stage=$work/stage
prefix=/opt/kimberlite-test
make -s -C "$repo" install BUILD="$BUILD" DESTDIR="$stage" PREFIX="$prefix" >/dev/null
for f in lib/libkimberlite.so lib/libkimberlite.so.0 lib/libkimberlite.a include/kimberlite.h \
  include/kimberlite.hpp lib/pkgconfig/kimberlite.pc lib/cmake/kimberlite/kimberliteConfig.cmake; do
  [ -e "$stage$prefix/$f" ] || { echo "not installed: $prefix/$f" >&2; exit 1; }
done
export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$stage$prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -o "$work/quickstart" "$repo/examples/c/quickstart.c" $(pkg-config --cflags --libs kimberlite) \
  -Wl,-rpath,"$stage$prefix/lib"
"$work/quickstart" "$server_addr" >"$work/quickstart.out" || { cat "$work/quickstart.out"; exit 1; }
ldd "$work/quickstart" | grep -q "$stage$prefix/lib/libkimberlite.so.0"
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Werror -o "$work/raii" "$repo/examples/cpp/main.cpp" $(pkg-config --cflags --libs kimberlite) \
  -Wl,-rpath,"$stage$prefix/lib"
"$work/raii" "$server_addr" >"$work/raii.out" || { cat "$work/raii.out"; exit 1; }
cc -std=c99 -Wall -Werror -o "$work/static" "$repo/examples/c/quickstart.c" -I"$stage$prefix/include" \
  "$stage$prefix/lib/libkimberlite.a" -lpthread
ldd "$work/static" | grep -q libkimberlite && { echo "the static build links libkimberlite.so" >&2; exit 1; }
"$work/static" "$server_addr" >/dev/null
mkdir -p "$work/cmake-app"
cp "$here/CMakeLists.txt" "$repo/examples/cpp/main.cpp" "$work/cmake-app/"
cmake -S "$work/cmake-app" -B "$work/cmake-app/build" -DCMAKE_PREFIX_PATH="$stage$prefix" >"$work/cmake.out" 2>&1 ||
  { cat "$work/cmake.out"; exit 1; }
cmake --build "$work/cmake-app/build" >"$work/cmake.out" 2>&1 || { cat "$work/cmake.out"; exit 1; }
"$work/cmake-app/build/raii" "$server_addr" >/dev/null
make -s -C "$repo" uninstall DESTDIR="$stage" PREFIX="$prefix" >/dev/null
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] || { echo "make uninstall left: $left" >&2; exit 1; }
echo "packaging suite: all passed"
