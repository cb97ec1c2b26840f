#!/usr/bin/env bash
# bench/node/run.sh BUILD: the Node binding (@kimberlite/client) against the Go client (pool, via
# bench/cabi/gorounds) on the same local server, in one run. Node and Go rounds alternate, three
# each, and the medians are compared as ratios (Node / Go; 1.0 means no cost for the binding).
# ROUND_TRIPS (default 2000) sets the round trips per measurement.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
n=${ROUND_TRIPS:-2000}
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

for round in 1 2 3; do
  node bench/node/bench.js "$addr" "$n" | sed "s/^/node $round /" >>"$work/results"
  "$work/gorounds" -addr "$addr" -n "$n" | sed "s/^/go $round /" >>"$work/results"
done

median() { # median SIDE METRIC
  awk -v s="$1" -v m="$2" '$1 == s && $3 == m {print $4}' "$work/results" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
printf "%-26s %14s %14s %12s\n" "($n ops, 100 B, median/3)" "Node ns/op" "Go ns/op" "Node / Go"
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
