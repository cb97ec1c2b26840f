#!/usr/bin/env bash
# run-tests.sh: build the addon against $BUILD/libkimberlite.so and run the Node suite against
# real kimberlite servers (make test-node sets BUILD to the absolute build folder).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export BUILD=${BUILD:-$repo/build}
export KIMBERLITE_BIN=${KIMBERLITE_BIN:-$BUILD/kimberlite}
[ -x "$KIMBERLITE_BIN" ] || (cd "$repo" && go build -o "$KIMBERLITE_BIN" ./cmd/kimberlite)
[ -f "$BUILD/libkimberlite.so" ] || (cd "$repo" && ./build.sh lib "$BUILD")
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
./build.sh "$BUILD"
(cd "$repo/examples/node" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
# index.d.ts: the guide's usage type-checks and misuse is a type error (tsc from examples/node).
"$repo/examples/node/node_modules/.bin/tsc" -p test/types
# The official-SDK-style program: tsc --strict against index.d.ts, compiled to build/compat for compat.test.js.
"$repo/examples/node/node_modules/.bin/tsc" -p test/compat
node --test --test-concurrency=2 test/*.test.js
