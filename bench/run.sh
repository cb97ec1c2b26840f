#!/usr/bin/env bash
# make bench: every benchmark side by side in one run. Results are ratios measured in the same run
# on the same machine; absolute numbers are printed for context only.
#
# The report: every bench part prints, besides its console lines, one line per round and ratio
#
#   RATIO <name> <value> [<=goal | >=goal] [# description]
#
# on stdout, e.g. `RATIO python/go.read 1.18 <=1.25 # Python binding / Go client, serial read`.
# Lines with the same name are the rounds of one ratio; name is free (group/what), value a
# number, goal optional. At the end, bench/report collects them into bench/results.md (median,
# spread, goal, machine, date) and bench/results.svg, keeping the previous run's as
# results.previous.{md,svg}. A new part joins the report by printing RATIO lines: no change here.
#
# BENCH_ONLY="client cabi node python" runs only the parts named (their directory names). Such a
# partial run writes its report to a temporary directory (compared with bench/results.md), so the
# committed results always hold a whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export KIMBERLITE_BIN="$build/kimberlite"
log=$(mktemp /tmp/kmb-bench-XXXXXX.log)
trap 'rm -f "$log"' EXIT
run() {
  local dir=$2
  [ "$dir" = "go" ] && dir=${4#./bench/}
  [ "$dir" = "python3" ] && dir=python
  dir=${dir#bench/}
  dir=${dir%%/*}
  if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $dir "* ]]; then
    return 0
  fi
  echo
  echo "== $1"
  shift
  "$@" | tee -a "$log"
}
[ -d bench/server ] && run "server: appends and reads through the TCP server" go run ./bench/server
[ -d bench/idempotency ] && run "idempotent appends: with a key vs without, and the key window's size" go run ./bench/idempotency
[ -d bench/cluster ] && run "cluster: 3 nodes vs 1, leader failover" go run ./bench/cluster
[ -d bench/client ] && run "client core: round trips, coalescing, pipelining" go run ./bench/client
[ -d bench/tls ] && run "TLS vs plain TCP: serial read round trip, 64-goroutine appends" go run ./bench/tls
[ -d bench/subscribe ] && run "subscriptions: append→delivery latency, catch-up vs polling Read" go run ./bench/subscribe
[ -x bench/cabi/run.sh ] && run "C ABI: call cost, C vs Go round trips" bench/cabi/run.sh "$build"
[ -x bench/node/run.sh ] && run "Node binding vs Go client round trips" bench/node/run.sh "$build"
[ -f bench/python/bench.py ] && run "Python binding vs Go client: round trips" python3 bench/python/bench.py --build "$build"
echo
out=bench
if [ -n "${BENCH_ONLY:-}" ]; then
  out=$(mktemp -d /tmp/kmb-bench-partial-XXXXXX)
  cp bench/results.md bench/results.svg "$out"/ 2>/dev/null || true
fi
go run ./bench/report -in "$log" -out "$out"
echo "make bench: done"
