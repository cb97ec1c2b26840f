#!/usr/bin/env bash
# tests/c/run.sh: the C suite of libkimberlite (make test-c runs it with BUILD=<abs build dir>).
#   1. the header compiles as C99 (-pedantic) and C++17 with warnings as errors;
#   2. the header's functions and the library's exports are the same set (check_abi.sh);
#   3. every C test runs against a real server started here on a free loopback port;
#   4. the same tests run under valgrind (valgrind.supp explains each suppression);
#   5. the same tests run with AddressSanitizer, C and Go sides (`go build -asan`): valgrind cannot
#      check memory accesses made by Go code, ASan can;
#   6. `build.sh install` into a temporary prefix; the C quickstart and the C++ RAII example are
#      compiled against the installed copy with pkg-config and run against the server.
# Exits non-zero on any failure. KIMBERLITE_BIN overrides the server binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${BUILD:?BUILD must be the absolute build directory}
bin=${KIMBERLITE_BIN:-$build/kimberlite}
if [ ! -x "$bin" ]; then go build -o "$build/kimberlite" ./cmd/kimberlite; bin=$build/kimberlite; fi
[ -f "$build/libkimberlite.so" ] || ./build.sh lib "$build"
export KIMBERLITE_BIN=$bin

work=$(mktemp -d /tmp/kmb-ctests-XXXXXX)
. scripts/local-server.sh
cleanup() {
  stop_local_server
  rm -rf "$work"
}
trap cleanup EXIT

failed=()
step() { echo "--- $*"; }
fail() { echo "FAIL: $*"; failed+=("$*"); }

tests=(test_api test_concurrency test_fork test_dead test_auth test_overload test_tls test_subscribe)
cflags=(-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -O1 -Iinclude)

step "header: C99 -pedantic and C++17"
echo '#include "kimberlite.h"
int main(void) { return KIMBERLITE_VERSION_CHECK(0, 1, 0) ? 0 : 1; }' >"$work/h.c"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$work/h.c" -o "$work/h.o" || fail "header as C99"
cp "$work/h.c" "$work/h.cpp"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -c "$work/h.cpp" -o "$work/hpp.o" || fail "header as C++17"

step "header == library exports"
tests/c/check_abi.sh include/kimberlite.h "$build/libkimberlite.so" || fail "check_abi"

step "start a server"
start_local_server "$bin" "$work" || { echo "FAIL: the server did not start"; exit 1; }
addr=$server_addr
export KMB_TEST_ADDR=$addr
echo "server $addr (pid $server_pid)"

step "compile the C tests"
mkdir -p "$work/bin"
for t in "${tests[@]}"; do
  gcc "${cflags[@]}" -o "$work/bin/$t" "tests/c/$t.c" -L"$build" -lkimberlite -Wl,-rpath,"$build" -lpthread -lm ||
    fail "compile $t"
done

step "run the C tests"
for t in "${tests[@]}"; do
  [ -x "$work/bin/$t" ] || continue
  timeout 120 "$work/bin/$t" || fail "$t"
done

step "log and event callbacks through a leader kill (kimberlite dev --nodes 3)"
if gcc "${cflags[@]}" -o "$work/bin/test_observe" tests/c/test_observe.c -L"$build" -lkimberlite -Wl,-rpath,"$build" -lpthread -lm; then
  obs_port=$(python3 -c 'import socket,random
for _ in range(200):
    b=random.randint(20000,40000); ss=[]
    try:
        for p in range(b,b+3): s=socket.socket(); s.bind(("127.0.0.1",p)); ss.append(s)
        print(b); break
    except OSError: pass
    finally:
        [s.close() for s in ss]')
  "$bin" dev --nodes 3 --port "$obs_port" --data "$work/observe-data" --heartbeat-timeout 100ms \
    --election-timeout 200ms >"$work/observe-dev.log" 2>"$work/observe-dev.err" &
  obs_pid=$!
  for _ in $(seq 300); do grep -q '^leader=' "$work/observe-dev.log" && break; sleep 0.1; done
  KMB_TEST_DEV_LOG=$work/observe-dev.log timeout 120 "$work/bin/test_observe" || fail test_observe
  kill "$obs_pid" 2>/dev/null || true
  wait "$obs_pid" 2>/dev/null || true
else
  fail "compile test_observe"
fi

step "valgrind"
if command -v valgrind >/dev/null; then
  for t in "${tests[@]}"; do
    [ -x "$work/bin/$t" ] || continue
    # The load tests (70,000 async calls; TLS handshakes under load) drive the Go runtime hard
    # enough that Memcheck's model of Go stacks breaks down: it reports Go memory as
    # uninitialised through C copies of it, at random. AddressSanitizer runs them below.
    case $t in test_overload | test_tls) continue ;; esac
    # --read-inline-info=no: a Go function inlined into another is reported as its caller (a
    # name with a dot), which is what valgrind.supp matches.
    #: Go switches between goroutine and system stacks that live in its
    # heap, often closer than valgrind's 2 MB default; taken as one huge frame, the heap between
    # them is marked inaccessible and every read of it (an error message copied by C, the
    # runtime's own madvise arguments) is reported. A move of more than 4 KiB is a stack switch.
    if ! KMB_TEST_LIGHT=1 timeout 300 valgrind -q --read-inline-info=no --error-exitcode=99 --suppressions=tests/c/valgrind.supp \
      --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
      "$work/bin/$t" >"$work/valgrind-$t.out" 2>&1; then
      cat "$work/valgrind-$t.out" | tail -40
      fail "valgrind $t"
    else
      grep -E '^ok|^FAIL' "$work/valgrind-$t.out" | sed 's/^/valgrind /'
    fi
  done
else
  fail "valgrind is not installed"
fi

step "AddressSanitizer (library built with go build -asan, tests with -fsanitize=address)"
mkdir -p "$build/asan"
if CGO_ENABLED=1 go build -asan -buildmode=c-shared \
  -ldflags "-extldflags '-Wl,-soname,libkimberlite.so.0 -Wl,--version-script=$root/ffi/exports.map'" \
  -o "$build/asan/libkimberlite.so" ./ffi; then
  rm -f "$build/asan/libkimberlite.h"
  ln -sf libkimberlite.so "$build/asan/libkimberlite.so.0"
  for t in "${tests[@]}"; do
    gcc "${cflags[@]}" -fsanitize=address -fno-omit-frame-pointer -o "$work/bin/asan-$t" "tests/c/$t.c" \
      -L"$build/asan" -lkimberlite -Wl,-rpath,"$build/asan" -lpthread -lm || { fail "compile asan $t"; continue; }
    KMB_TEST_LIGHT=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 timeout 120 "$work/bin/asan-$t" | sed 's/^/asan /' ||
      fail "asan $t"
  done
else
  fail "go build -asan"
fi

step "make install into a temporary prefix; examples against the installed copy"
prefix=$work/prefix
[ -x "$build/kimberlite" ] || go build -o "$build/kimberlite" ./cmd/kimberlite # installed too
./build.sh install "$build" "$prefix" >/dev/null || fail "build.sh install"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
version=$(pkg-config --modversion kimberlite) || fail "pkg-config kimberlite"
[ "$version" = "$(sed -n 's/^VERSION := //p' Makefile)" ] || fail "kimberlite.pc version $version"
[ -e "$prefix/lib/libkimberlite.so.0" ] && [ -f "$prefix/include/kimberlite.h" ] || fail "installed files"
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -o "$work/bin/quickstart" examples/c/quickstart.c $(pkg-config --cflags --libs kimberlite) ||
  fail "compile quickstart"
# shellcheck disable=SC2046
g++ -std=c++17 -Wall -Wextra -Werror -o "$work/bin/raii" examples/cpp/main.cpp $(pkg-config --cflags --libs kimberlite) ||
  fail "compile C++ example"
for ex in quickstart raii; do
  [ -x "$work/bin/$ex" ] || continue
  if LD_LIBRARY_PATH=$prefix/lib timeout 60 "$work/bin/$ex" "$addr" >"$work/$ex.out" 2>&1; then
    echo "ok   example $ex ($(wc -l <"$work/$ex.out") lines of output)"
  else
    cat "$work/$ex.out"
    fail "example $ex"
  fi
done
# the example resolved the installed library, not the build tree's
LD_LIBRARY_PATH=$prefix/lib ldd "$work/bin/quickstart" | grep "$prefix/lib/libkimberlite.so.0" >/dev/null ||
  fail "quickstart did not link the installed libkimberlite.so.0"

if ! kill -0 "$server_pid" 2>/dev/null; then fail "the server died during the tests"; cat "$work/server.out"; fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "C suite: ${#failed[@]} failure(s): ${failed[*]}"
  exit 1
fi
echo "C suite: all passed"
