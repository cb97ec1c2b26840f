#!/usr/bin/env bash
# make demo: start a local 3-node cluster with `kimberlite dev`, run the C quickstart through
# libkimberlite against it, show `kimberlite status`, then run the guide's Python and Node samples
# side by side while the leader is killed, with a live status line from the clients' stats
# (leader, acknowledged appends per second, retries, failovers seen), and end with one verdict
# line per client: nothing lost or duplicated. Everything runs on loopback and stops by itself.
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

metrics=($(sed -n 's/.* metrics=//p' "$work/dev.log"))
echo
echo "== kimberlite status ${metrics[*]}"
"$build/kimberlite" status "${metrics[@]}"

# The Node addon, if Node.js is here (a fresh clone builds it once; the Python side needs nothing).
node_path=
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ -f bindings/node/build/kimberlite.node ] ||
    { (cd bindings/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && ./build.sh "$build") >"$work/node-build.log" 2>&1; }; then
    mkdir -p "$work/node_modules/@kimberlite"
    ln -s "$PWD/bindings/node" "$work/node_modules/@kimberlite/client"
    node_path=$work/node_modules
  else
    echo "(the Node addon did not build; see below)"; tail -5 "$work/node-build.log"
  fi
fi

echo
echo "== the guide's Python and Node samples side by side through a leader kill (live status from client.stats())"
demo_rc=0
KIMBERLITE_LIB="$build/libkimberlite.so" python3 scripts/demo_run.py "$work/dev.log" "$work" "$node_path" || demo_rc=$?

echo
echo "== kimberlite status after the kill"
"$build/kimberlite" status "${metrics[@]}" || true

echo
echo "== stopping the cluster"
kill -TERM "$dev_pid"
wait "$dev_pid" || true
dev_pid=
[ "$demo_rc" -eq 0 ] || { echo "demo: a client's verdict was FAIL"; exit 1; }
echo "demo finished"
