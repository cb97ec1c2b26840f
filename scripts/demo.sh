#!/usr/bin/env bash
# make demo: start a local 3-node cluster with `kimberlite dev`, run the C quickstart through
# libkimberlite against it, then kill the leader in the middle of a write workload and show that
# the client fails over with nothing lost or duplicated. Everything runs on loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kimberlite-demo.XXXXXX")
dev_pid=
cleanup() {
  if [ -n "$dev_pid" ] && kill -0 "$dev_pid" 2>/dev/null; then
    kill -TERM "$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free block of 3 client ports (the dev command picks raft ports itself).
port=$(python3 - <<'PY'
import socket, random
for _ in range(200):
    base = random.randint(20000, 40000)
    socks = []
    try:
        for p in range(base, base + 3):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
)

echo "== kimberlite dev --nodes 3 --port $port"
"$build/kimberlite" dev --nodes 3 --port "$port" --data "$work/data" >"$work/dev.log" 2>"$work/dev.err" &
dev_pid=$!
deadline=$((SECONDS + 30))
until grep -q '^leader=' "$work/dev.log"; do
  if ! kill -0 "$dev_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "the cluster did not elect a leader:"; cat "$work/dev.log" "$work/dev.err"; exit 1
  fi
  sleep 0.1
done
cat "$work/dev.log"
addrs=(127.0.0.1:$port 127.0.0.1:$((port + 1)) 127.0.0.1:$((port + 2)))

echo
echo "== C quickstart through libkimberlite (${addrs[*]})"
gcc -std=c99 -Wall -O2 -Iinclude examples/c/quickstart.c -L"$build" -lkimberlite \
  -Wl,-rpath,"$build" -o "$work/quickstart"
"$work/quickstart" "${addrs[@]}"

echo
echo "== failover: kill -9 the leader while 8 writers append through one client"
go build -o "$work/failover" ./examples/go/failover
"$work/failover" --dev-log "$work/dev.log"

echo
echo "== Python: the guide's basic pattern through the same library (1000 appends, one client)"
(IFS=,; KIMBERLITE_ADDRESSES="${addrs[*]}" KIMBERLITE_LIB="$build/libkimberlite.so" \
  PYTHONPATH=bindings/python python3 examples/python/basic.py)

echo
echo "== stopping the cluster"
kill -TERM "$dev_pid"
wait "$dev_pid" || true
dev_pid=
echo "demo finished"
