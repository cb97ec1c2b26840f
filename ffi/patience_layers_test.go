package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// The event-loop bindings' wait has one source of truth, the header's KMB_EVENT_LOOP_PATIENCE_US
// and KMB_MAX_ASYNC_PATIENCE_US: the library's limit, each binding's default and limit, and what
// their documentation says all match it.
func TestEventLoopPatienceIsTheHeadersInEveryLayer(t *testing.T) {
	read := func(parts ...string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(append([]string{".."}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	header := read("include", "kimberlite.h")
	macro := func(name string) int {
		t.Helper()
		m := regexp.MustCompile(`(?m)^#define ` + name + ` (\d+)u$`).FindStringSubmatch(header)
		if m == nil {
			t.Fatalf("the header lacks %s", name)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	def, max := macro("KMB_EVENT_LOOP_PATIENCE_US"), macro("KMB_MAX_ASYNC_PATIENCE_US")
	if maxAsyncPatience != time.Duration(max)*time.Microsecond {
		t.Errorf("ffi's maxAsyncPatience is %v, the header's KMB_MAX_ASYNC_PATIENCE_US %d µs", maxAsyncPatience, max)
	}
	want := []struct{ file, pattern string }{
		{"bindings/node/lib/options.js", `const DEFAULT_EVENT_LOOP_WAIT_MICROS = ` + strconv.Itoa(def) + `;`},
		{"bindings/node/lib/options.js", `const MAX_EVENT_LOOP_WAIT_MICROS = ` + strconv.Itoa(max) + `;`},
		{"bindings/node/index.d.ts", `Default ` + strconv.Itoa(def) + `; 0 turns it off; at most ` + strconv.Itoa(max) + `.`},
		{"bindings/node/README.md", "`eventLoopWaitMicros` (default " + strconv.Itoa(def) + ", 0 turns it off, at most " + strconv.Itoa(max) + ")"},
		{"bindings/python/kimberlite/aio.py", `DEFAULT_EVENT_LOOP_WAIT_US = ` + strconv.Itoa(def) + "\n"},
		{"bindings/python/kimberlite/aio.py", `_MAX_EVENT_LOOP_WAIT_US = ` + strconv.Itoa(max) + ` `},
		{"bindings/python/kimberlite/aio.py", `(AsyncClient.connect; default ` + strconv.Itoa(def) + `, 0 turns it off;`},
		{"bindings/python/README.md", "default " + strconv.Itoa(def) + " µs, 0 turns it off"},
	}
	for _, w := range want {
		if !regexp.MustCompile(regexp.QuoteMeta(w.pattern)).MatchString(read(filepath.FromSlash(w.file))) {
			t.Errorf("%s lacks %q (KMB_EVENT_LOOP_PATIENCE_US %d, KMB_MAX_ASYNC_PATIENCE_US %d)", w.file, w.pattern, def, max)
		}
	}
}
