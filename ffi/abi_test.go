package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// upperSnake turns a wire code name into its status suffix: "StreamNotFound" -> "STREAM_NOT_FOUND".
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// Wire names whose status drops a redundant "Error" or gains SERVER_ to stay apart from the
// client's own KMB_ERR_INTERNAL.
var statusNameExceptions = map[string]string{
	"Unknown":             "KMB_ERR_SERVER_UNKNOWN",
	"InternalError":       "KMB_ERR_SERVER_INTERNAL",
	"QueryParseError":     "KMB_ERR_QUERY_PARSE",
	"QueryExecutionError": "KMB_ERR_QUERY_EXECUTION",
	"StorageError":        "KMB_ERR_STORAGE",
	"SubscriptionClosed":  "KMB_ERR_SERVER_SUBSCRIPTION_CLOSED",
}

func TestEveryWireCodeHasItsOwnStatus(t *testing.T) {
	if wire.ErrorCodeCount != 30 {
		t.Fatalf("protocol has %d codes; the header maps 30", wire.ErrorCodeCount)
	}
	seen := map[int32]bool{}
	for code := 0; code < wire.ErrorCodeCount; code++ {
		wc := wire.ErrorCode(code)
		st := int32(statusOfServerCode(wc))
		if st != 100+int32(code) {
			t.Errorf("%v: status %d, want %d", wc, st, 100+code)
		}
		if seen[st] {
			t.Errorf("%v: status %d used twice", wc, st)
		}
		seen[st] = true
		want := statusNameExceptions[wc.String()]
		if want == "" {
			want = "KMB_ERR_" + upperSnake(wc.String())
		}
		if got := statusName(st); got != want {
			t.Errorf("%v: kmb_status_name = %s, want %s", wc, got, want)
		}
		// the message carries the server's text, the server code and the request id
		ce := classify(&pool.Error{Kind: pool.KindServer, ServerCode: wc, Message: "server text", RequestID: 42})
		if int32(ce.status) != st || ce.serverCode != int32(code) || ce.requestID != 42 || !strings.Contains(ce.message, "server text") {
			t.Errorf("%v: classify = %+v", wc, ce)
		}
	}
	if got := int32(statusOfServerCode(wire.ErrorCode(30))); statusName(got) != "KMB_ERR_SERVER_OTHER" {
		t.Errorf("unknown server code maps to %s", statusName(got))
	}
}

func TestRetryableMatchesPool(t *testing.T) {
	kinds := []pool.Kind{pool.KindConnection, pool.KindTimeout, pool.KindClosed, pool.KindClusterUnavailable,
		pool.KindInvalidArgument, pool.KindProtocol, pool.KindInternal, pool.KindSubscriptionClosed, pool.KindTLS}
	var errs []*pool.Error
	for _, k := range kinds {
		errs = append(errs, &pool.Error{Kind: k}, &pool.Error{Kind: k, OutcomeUnknown: true})
	}
	for code := 0; code < wire.ErrorCodeCount; code++ {
		errs = append(errs, &pool.Error{Kind: pool.KindServer, ServerCode: wire.ErrorCode(code)})
	}
	for _, e := range errs {
		ce := classify(e)
		if got, want := statusIsRetryable(int32(ce.status)), pool.IsRetryable(e); got != want {
			t.Errorf("%v (%s): kmb_status_is_retryable = %v, pool.IsRetryable = %v", e, statusName(int32(ce.status)), got, want)
		}
	}
	// every kind has its own status, and an unknown outcome wins over the kind
	for _, k := range kinds {
		if ce := classify(&pool.Error{Kind: k}); statusName(int32(ce.status)) == "KMB_ERR_UNKNOWN" {
			t.Errorf("%v has no status", k)
		}
		if ce := classify(&pool.Error{Kind: k, OutcomeUnknown: true}); statusName(int32(ce.status)) != "KMB_ERR_OUTCOME_UNKNOWN" {
			t.Errorf("%v with OutcomeUnknown maps to %s", k, statusName(int32(ce.status)))
		}
	}
	wrapped := fmt.Errorf("op: %w", &pool.Error{Kind: pool.KindTimeout})
	if ce := classify(wrapped); statusName(int32(ce.status)) != "KMB_ERR_TIMEOUT" {
		t.Errorf("wrapped timeout maps to %s", statusName(int32(ce.status)))
	}
	if ce := classify(errors.New("boom")); statusName(int32(ce.status)) != "KMB_ERR_INTERNAL" || ce.serverCode != -1 {
		t.Errorf("a foreign error maps to %+v", ce)
	}
}

// TestVersionMacros checks the header's version macros against the Makefile and the library, and
// the packing of KIMBERLITE_VERSION_NUMBER.
func TestVersionMacros(t *testing.T) {
	header, err := os.ReadFile(filepath.Join("..", "include", "kimberlite.h"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	macro := func(name string) string {
		m := regexp.MustCompile(`(?m)^#define ` + name + ` (\S+)$`).FindSubmatch(header)
		if m == nil {
			t.Fatalf("header lacks %s", name)
		}
		return string(m[1])
	}
	num := func(name string) int {
		n, err := strconv.Atoi(macro(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	major, minor, patch := num("KIMBERLITE_VERSION_MAJOR"), num("KIMBERLITE_VERSION_MINOR"), num("KIMBERLITE_VERSION_PATCH")
	version := fmt.Sprintf("%d.%d.%d", major, minor, patch)
	if s := macro("KIMBERLITE_VERSION"); s != strconv.Quote(version) {
		t.Errorf("KIMBERLITE_VERSION %s, want %q", s, version)
	}
	mv := regexp.MustCompile(`(?m)^VERSION := (\S+)$`).FindSubmatch(makefile)
	if mv == nil || string(mv[1]) != version {
		t.Errorf("Makefile VERSION %q, header %s", mv, version)
	}
	libVersion, libNumber := libraryVersion()
	if libVersion != version {
		t.Errorf("kmb_version() = %s, header %s", libVersion, version)
	}
	if want := int32(major*1000000 + minor*1000 + patch); libNumber != want {
		t.Errorf("kmb_version_number() = %d, want %d (M*1000000 + m*1000 + p)", libNumber, want)
	}
	if num("KIMBERLITE_SOVERSION") != major {
		t.Errorf("KIMBERLITE_SOVERSION %d differs from MAJOR %d (the soname is libkimberlite.so.%d)", num("KIMBERLITE_SOVERSION"), major, major)
	}
}

// TestHeaderStatusTable checks that the enum in the header lists every status with an explicit,
// unique value, and that kmb_status_name knows each one by the same name.
func TestHeaderStatusTable(t *testing.T) {
	header, err := os.ReadFile(filepath.Join("..", "include", "kimberlite.h"))
	if err != nil {
		t.Fatal(err)
	}
	entries := regexp.MustCompile(`(?m)^\s+(KMB_(?:OK|ERR_[A-Z0-9_]+)) = (\d+),?`).FindAllSubmatch(header, -1)
	if len(entries) != 48 {
		t.Fatalf("header lists %d statuses, want 48", len(entries))
	}
	values := map[int]string{}
	for _, e := range entries {
		name := string(e[1])
		v, _ := strconv.Atoi(string(e[2]))
		if prev, dup := values[v]; dup {
			t.Errorf("%s and %s share value %d", prev, name, v)
		}
		values[v] = name
		if got := statusName(int32(v)); got != name {
			t.Errorf("kmb_status_name(%d) = %s, header says %s", v, got, name)
		}
	}
}
