#!/usr/bin/env bash
# bench/node/run.sh BUILD: the Node binding (@kimberlite/client) against the Go client (pool, via
# bench/cabi/gorounds) on the same local server, in one run. Node and Go rounds alternate, five
# each, and the medians are compared as ratios (Node / Go; 1.0 means no cost for the binding).
# Each round also reads the same events through bench/node/raw.js, a minimal pure-JS net.Socket
# client sending the same ReadEvents frame: what a user could write instead of using the binding,
# and the Node reads again with eventLoopWaitMicros 300 (opt-in; node-wait/* ratios).
# One `RATIO name value goal` line per round and ratio goes to stdout for the report (bench/run.sh).
# ROUND_TRIPS (default 2000) sets the round trips per measurement, ROUNDS (default 5) the rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
n=${ROUND_TRIPS:-2000}
rounds=${ROUNDS:-5}
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
go build -o "$work/gorounds" ./bench/cabi/gorounds

start_local_server "$bin" "$work" || { echo "bench/node: the server did not start"; exit 1; }
addr=$server_addr

for round in $(seq "$rounds"); do
  node bench/node/bench.js "$addr" "$n" | sed "s/^/node $round /" >>"$work/results"
  stream=$(awk -v r="$round" '$1 == "node" && $2 == r && $3 == "stream_id" {print $4}' "$work/results")
  node bench/node/raw.js "$addr" "$n" "$stream" | sed "s/^/purejs $round /" >>"$work/results"
  "$work/gorounds" -addr "$addr" -n "$n" | sed "s/^/go $round /" >>"$work/results"
done

median() { # median SIDE METRIC
  awk -v s="$1" -v m="$2" '$1 == s && $3 == m {print $4}' "$work/results" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
printf "%-26s %14s %14s %12s\n" "($n ops, 100 B, median/$rounds)" "Node ns/op" "Go ns/op" "Node / Go"
for m in append_rt_ns read_rt_ns append_async_ns; do
  a=$(median node $m)
  g=$(median go $m)
  case $m in
  append_async_ns) label="append, 64 in flight" ;;
  *) label="${m%_rt_ns} round trip" ;;
  esac
  printf "%-26s %14s %14s %12s\n" "$label" "$a" "$g" "$(awk -v a="$a" -v g="$g" 'BEGIN {printf "%.3f", a / g}')"
done
echo "(Node: await one call at a time, then 64 Promises in flight; Go: one goroutine, then 64 goroutines)"
printf "%-26s %14s %14s %12s\n" "read, eventLoopWaitMicros" "$(median node read_wait_rt_ns)" "$(median go read_rt_ns)" \
  "$(awk -v a="$(median node read_wait_rt_ns)" -v g="$(median go read_rt_ns)" 'BEGIN {printf "%.3f", a / g}')"
echo "(the same reads with eventLoopWaitMicros: 300, opt-in: each waits for its answer on the event loop)"
printf "%-26s %14s %14s %12s\n" "read round trip" "$(median node read_rt_ns)" "$(median purejs raw_read_rt_ns)" \
  "$(awk -v a="$(median node read_rt_ns)" -v g="$(median purejs raw_read_rt_ns)" 'BEGIN {printf "%.3f", a / g}')"
echo "(the last line: Node binding / a pure-JS net.Socket client sending the same ReadEvents frame)"
for round in $(seq "$rounds"); do
  v() { awk -v s="$1" -v r="$round" -v m="$2" '$1 == s && $2 == r && $3 == m {print $4}' "$work/results"; }
  awk -v a="$(v node read_rt_ns)" -v b="$(v purejs raw_read_rt_ns)" -v g="$(v go read_rt_ns)" -v x="$(v node append_rt_ns)" -v y="$(v go append_rt_ns)" -v w="$(v node read_wait_rt_ns)" 'BEGIN {
    printf "RATIO node/pure-js.read %.3f <=1.0 # Node binding serial 1-event read / pure-JS net.Socket client, same frame\n", a / b
    printf "RATIO node/go.read %.3f <=1.5 # Node binding / Go client, serial 1-event read\n", a / g
    printf "RATIO node-wait/pure-js.read %.3f <=1.0 # the same with eventLoopWaitMicros 300 (opt-in) / pure-JS client\n", w / b
    printf "RATIO node-wait/go.read %.3f <=1.5 # the same with eventLoopWaitMicros 300 (opt-in) / Go client\n", w / g
    printf "RATIO node/go.append %.3f # Node binding / Go client, serial 1-event append\n", x / y
  }'
done
