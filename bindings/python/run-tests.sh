#!/usr/bin/env bash
# The Python suite: installs the pinned test dependencies into a virtualenv under $BUILD, then runs
# pytest against $BUILD/libkimberlite.so and $BUILD/kimberlite. Run by `make test-python`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$repo/build}
BUILD=$(cd "$BUILD" && pwd)
export BUILD
export KIMBERLITE_LIB="$BUILD/libkimberlite.so"
export KIMBERLITE_BIN="${KIMBERLITE_BIN:-$BUILD/kimberlite}"
if [ ! -x "$KIMBERLITE_BIN" ]; then # `make test-python` builds only the library
  (cd "$repo" && go build -o "$KIMBERLITE_BIN" ./cmd/kimberlite)
fi
[ -e "$KIMBERLITE_LIB" ] || { echo "run-tests.sh: missing $KIMBERLITE_LIB (make lib)" >&2; exit 1; }

python=${PYTHON:-python3}
venv="$BUILD/python-venv"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements-dev.txt" "$stamp"; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-dev.txt"
  cp "$here/requirements-dev.txt" "$stamp"
fi

cd "$here"
set +e
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "run-tests.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
