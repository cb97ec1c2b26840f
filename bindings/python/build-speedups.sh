#!/usr/bin/env bash
# build-speedups.sh OUT_DIR INCLUDE_DIR [PYTHON]: compile kimberlite/_speedups.c, the optional C
# accelerator of Client.read, into OUT_DIR/_speedups.abi3.so (next to libkimberlite.so, where
# kimberlite._native looks for it). INCLUDE_DIR holds kimberlite.h; PYTHON (default python3)
# gives the headers. It uses Python's limited API, so one build serves CPython 3.10 and later.
# Exits 3, building nothing, when PYTHON has no headers (the binding then uses ctypes alone).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-speedups.sh OUT_DIR INCLUDE_DIR [PYTHON]}
include=${2:?usage: build-speedups.sh OUT_DIR INCLUDE_DIR [PYTHON]}
python=${3:-python3}
py_include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [ ! -f "$py_include/Python.h" ]; then
  echo "build-speedups.sh: no Python.h in $py_include (python3-dev); Client.read will use ctypes alone" >&2
  exit 3
fi
mkdir -p "$out"
${CC:-cc} -shared -fPIC -O2 -Wall -Wextra -Werror -std=c99 -fvisibility=hidden \
  -I"$include" -I"$py_include" -o "$out/_speedups.abi3.so" "$here/kimberlite/_speedups.c"
