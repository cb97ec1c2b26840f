#!/usr/bin/env bash
# make bench: every benchmark side by side in one run. Results are ratios measured in the same run
# on the same machine; absolute numbers are printed for context only.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export KIMBERLITE_BIN="$build/kimberlite"
run() {
  echo
  echo "== $1"
  shift
  "$@"
}
[ -d bench/server ] && run "server: appends and reads through the TCP server" go run ./bench/server
[ -d bench/idempotency ] && run "idempotent appends: with a key vs without, and the key window's size" go run ./bench/idempotency
[ -d bench/cluster ] && run "cluster: 3 nodes vs 1, leader failover" go run ./bench/cluster
[ -d bench/client ] && run "client core: round trips, coalescing, pipelining" go run ./bench/client
[ -d bench/subscribe ] && run "subscriptions: append→delivery latency, catch-up vs polling Read" go run ./bench/subscribe
[ -x bench/cabi/run.sh ] && run "C ABI: call cost, C vs Go round trips" bench/cabi/run.sh "$build"
[ -x bench/node/run.sh ] && run "Node binding vs Go client round trips" bench/node/run.sh "$build"
[ -f bench/python/bench.py ] && run "Python binding vs Go client: round trips" python3 bench/python/bench.py --build "$build"
echo
echo "make bench: done"
