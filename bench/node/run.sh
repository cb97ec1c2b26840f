#!/usr/bin/env bash
# bench/node/run.sh BUILD: the Node binding (@kimberlite/client) against the Go client (pool, via
# bench/goblocks) and a minimal pure-JS client (bench/node/raw.js) on the same local server, in
# one run: bench/node/bench.js interleaves the callers block by block and prints the ratios
# (Node / Go and Node / pure-JS; 1.0 means no cost for the binding), with one
# `RATIO name value goal` line per round and ratio for the report (bench/run.sh).
# ROUND_TRIPS (default 2000) sets the round trips per caller and round, ROUNDS (default 5) the rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
bin=${KIMBERLITE_BIN:-$build/kimberlite}
[ -f "$build/libkimberlite.so" ] || ./build.sh lib "$build"
[ -x "$bin" ] || go build -o "$bin" ./cmd/kimberlite
work=$(mktemp -d /tmp/kmb-bench-node-XXXXXX)
. scripts/local-server.sh
cleanup() {
  stop_local_server
  rm -rf "$work"
}
trap cleanup EXIT

bindings/node/build.sh "$build" >/dev/null
go build -o "$work/goblocks" ./bench/goblocks
start_local_server "$bin" "$work" || { echo "bench/node: the server did not start"; exit 1; }
node bench/node/bench.js "$server_addr" "${ROUND_TRIPS:-2000}" "${ROUNDS:-5}" "$work/goblocks"
