#!/usr/bin/env bash
# bench/cabi/run.sh BUILD: the cost of the C ABI, measured in one run against one local server.
# Prints the cost of a call that stays in C (kmb_status_name) and of one that enters Go, then the
# C client's append and read round trips next to the Go client's (bench/goblocks), as ratios.
# Then 64 appends in flight: kmb_append_async against 64 goroutines.
# C and Go rounds alternate, three each, and the medians are compared, so drift hits both sides.
# ROUND_TRIPS (default 2000) sets the round trips per measurement.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
n=${ROUND_TRIPS:-2000}
bin=${KIMBERLITE_BIN:-$build/kimberlite}
[ -f "$build/libkimberlite.so" ] || ./build.sh lib "$build"
work=$(mktemp -d /tmp/kmb-bench-cabi-XXXXXX)
. scripts/local-server.sh
cleanup() {
  stop_local_server
  rm -rf "$work"
}
trap cleanup EXIT

gcc -std=c99 -O2 -Wall -Wextra -Iinclude -o "$work/cabi_bench" bench/cabi/cabi_bench.c \
  -L"$build" -lkimberlite -Wl,-rpath,"$build"
go build -o "$work/goblocks" ./bench/goblocks

start_local_server "$bin" "$work" || { echo "bench/cabi: the server did not start"; exit 1; }
addr=$server_addr

# The Go client: one goblocks process for the run, driven a command at a time (see its doc).
coproc GOBLOCKS { "$work/goblocks" -addr "$addr"; }
gocmd() { # gocmd COMMAND: sets reply to goblocks' answer
  echo "$1" >&"${GOBLOCKS[1]}"
  read -r reply <&"${GOBLOCKS[0]}" || { echo "bench/cabi: goblocks failed on: $1"; exit 1; }
}
go_round() { # go_round ROUND: the loops cabi_bench.c times, through the Go client
  gocmd "create bench-go-$$-$1"
  local sid=$reply
  gocmd "append $sid 100 100" # warm up connections
  gocmd "append $sid 100 $n"
  echo "go $1 append_rt_ns $((reply / n))"
  gocmd "read $sid 0 100 $n"
  echo "go $1 read_rt_ns $((reply / n))"
  gocmd "append-window $sid 100 $((4 * n)) 64"
  echo "go $1 append_async_ns $((reply / (4 * n)))"
}

for round in 1 2 3; do
  "$work/cabi_bench" "$addr" "$n" | sed "s/^/c $round /" >>"$work/results"
  go_round "$round" >>"$work/results"
done
gopid=$GOBLOCKS_PID
eval "exec ${GOBLOCKS[1]}>&-" # end of commands: goblocks closes its client and exits
wait "$gopid" || { echo "bench/cabi: goblocks exited $?"; exit 1; }

median() { # median SIDE METRIC
  awk -v s="$1" -v m="$2" '$1 == s && $3 == m {print $4}' "$work/results" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
printf "%-44s %12s\n" "C ABI call cost (median of 3 runs)" "ns/call"
printf "%-44s %12s\n" "  kmb_status_name (stays in C)" "$(median c status_name_ns)"
printf "%-44s %12s\n" "  kmb_config_set_tenant (C -> Go -> C)" "$(median c enter_go_ns)"
echo
printf "%-24s %14s %14s %10s\n" "round trip ($n, 100 B)" "C ABI ns/op" "Go ns/op" "C / Go"
for m in append_rt_ns read_rt_ns append_async_ns; do
  c=$(median c $m)
  g=$(median go $m)
  case $m in
  append_async_ns) label="append, 64 in flight" ;;
  *) label=${m%_rt_ns} ;;
  esac
  printf "%-24s %14s %14s %10s\n" "$label" "$c" "$g" "$(awk -v c="$c" -v g="$g" 'BEGIN {printf "%.3f", c / g}')"
done
echo "(64 in flight: C keeps 64 kmb_append_async calls pending, Go runs 64 goroutines; ns per append)"
for round in 1 2 3; do # one RATIO line per round for the report (bench/run.sh)
  v() { awk -v s="$1" -v r="$round" -v m="$2" '$1 == s && $2 == r && $3 == m {print $4}' "$work/results"; }
  awk -v c="$(v c read_rt_ns)" -v g="$(v go read_rt_ns)" -v x="$(v c append_rt_ns)" -v y="$(v go append_rt_ns)" \
    -v p="$(v c append_async_ns)" -v q="$(v go append_async_ns)" 'BEGIN {
    printf "RATIO cabi/go.read %.3f <=1.10 # C ABI / Go client, serial 1-event read\n", c / g
    printf "RATIO cabi/go.append %.3f # C ABI / Go client, serial 1-event append\n", x / y
    printf "RATIO cabi/go.append-64-in-flight %.3f # C ABI async / 64 goroutines, ns per append\n", p / q
  }'
done
