# Sourced by shell suites and benchmarks: start and stop one local `kimberlite server`.
#
#   . scripts/local-server.sh
#   start_local_server "$bin" "$work" || exit 1   # sets server_pid and server_addr
#   trap stop_local_server EXIT                    # or call it from your own cleanup
#
# The server listens on a free 127.0.0.1 port (--listen 127.0.0.1:0) with its data in WORK/data
# and its output in WORK/server.out; start_local_server waits, polling its output for up to 10 s,
# for the "kimberlite server listening on HOST:PORT" line, and fails (showing the output) if the
# server exits or does not say so in time.

server_pid=
server_addr=

start_local_server() {
  local bin=$1 work=$2 deadline=$((SECONDS + 10))
  "$bin" server --listen 127.0.0.1:0 --data "$work/data" --log-level warn >"$work/server.out" 2>&1 &
  server_pid=$!
  server_addr=
  while [ $SECONDS -le $deadline ]; do
    server_addr=$(sed -n 's/^kimberlite server listening on //p' "$work/server.out")
    [ -n "$server_addr" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.02
  done
  cat "$work/server.out" >&2
  echo "the kimberlite server did not start" >&2
  return 1
}

stop_local_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
