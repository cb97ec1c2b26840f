package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The event-loop bindings' wait keeps the library's default, off, so that no call holds the
// loop unless asked to, and the header's KMB_MAX_ASYNC_PATIENCE_US is the limit of every layer:
// ffi's, each binding's, and what their documentation says.
func TestEventLoopPatienceIsTheHeadersInEveryLayer(t *testing.T) {
	header := readLayer(t, layerHeader)
	m := regexp.MustCompile(`(?m)^#define KMB_MAX_ASYNC_PATIENCE_US (\d+)u$`).FindStringSubmatch(header)
	if m == nil {
		t.Fatal("the header lacks KMB_MAX_ASYNC_PATIENCE_US")
	}
	max, _ := strconv.Atoi(m[1])
	if maxAsyncPatience != time.Duration(max)*time.Microsecond {
		t.Errorf("ffi's maxAsyncPatience is %v, the header's KMB_MAX_ASYNC_PATIENCE_US %d µs", maxAsyncPatience, max)
	}
	if !strings.Contains(header, "0 (the default): off,") {
		t.Error("the header no longer says that kmb_client_set_async_patience_us is off by default")
	}
	want := []struct{ file, pattern string }{
		{"bindings/node/lib/options.js", `const DEFAULT_EVENT_LOOP_WAIT_MICROS = 0;`},
		{"bindings/node/lib/options.js", `const MAX_EVENT_LOOP_WAIT_MICROS = ` + strconv.Itoa(max) + `;`},
		{"bindings/node/index.d.ts", `Default 0: off, and no call holds the event loop`},
		{"bindings/node/index.d.ts", `; at most ` + strconv.Itoa(max) + `.`},
		{"bindings/node/README.md", "`eventLoopWaitMicros` (default 0, off; at most " + strconv.Itoa(max) + ")"},
		{"bindings/python/kimberlite/aio.py", "DEFAULT_EVENT_LOOP_WAIT_US = 0\n"},
		{"bindings/python/kimberlite/aio.py", `_MAX_EVENT_LOOP_WAIT_US = ` + strconv.Itoa(max) + ` `},
		{"bindings/python/kimberlite/aio.py", `(AsyncClient.connect; default 0, off, so the loop is never held;`},
		{"bindings/python/README.md", "default 0, off, so the loop is never held"},
	}
	for _, w := range want {
		if !strings.Contains(readLayer(t, w.file), w.pattern) {
			t.Errorf("%s lacks %q (KMB_MAX_ASYNC_PATIENCE_US %d)", w.file, w.pattern, max)
		}
	}
}
