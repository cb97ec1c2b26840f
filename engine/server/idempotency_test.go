package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

// keyedAppend sends an AppendEvents carrying an idempotency key, as the client core does.
func keyedAppend(t *testing.T, c *rawconn.Conn, tenant, sid, expected uint64, key string, events ...string) wire.ResponsePayload {
	t.Helper()
	evs := make([][]byte, len(events))
	for i, e := range events {
		evs[i] = []byte(e)
	}
	req := &wire.Request{TenantID: tenant, Audit: &wire.AuditMetadata{IdempotencyKey: &key},
		Payload: wire.AppendEventsRequest{StreamID: sid, Events: evs, ExpectedOffset: expected}}
	_ = c.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := c.CallRequest(req)
	if err != nil {
		t.Fatalf("append with key %q: %v", key, err)
	}
	return resp
}

func TestIdempotentAppendOnTheWire(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 42, "orders")
	appendEvents(t, c, 42, sid, 0, "unkeyed")
	first := keyedAppend(t, c, 42, sid, 1, "client-a:1", "e1", "e2")
	if first != (wire.AppendEventsResponse{FirstOffset: 1, Count: 2}) {
		t.Fatalf("first send: %#v", first)
	}
	// A re-send with the same key, at the same or at a refreshed expected offset, from the
	// same or another connection: the original answer, nothing appended.
	c2 := dial(t, ts.addr)
	for _, cc := range []*rawconn.Conn{c, c2} {
		for _, exp := range []uint64{1, 3} {
			if r := keyedAppend(t, cc, 42, sid, exp, "client-a:1", "e1", "e2"); r != first {
				t.Fatalf("re-send at %d: %#v, want %#v", exp, r, first)
			}
		}
	}
	wantError(t, keyedAppend(t, c, 42, sid, 3, "client-a:1", "e1"), wire.ErrInvalidRequest,
		fmt.Sprintf(`idempotency key "client-a:1" was already used for an append of 2 events to stream %d; this append has 1 events for stream %d`, sid, sid))
	other := createStream(t, c, 42, "other")
	wantError(t, keyedAppend(t, c, 42, other, 0, "client-a:1", "e1", "e2"), wire.ErrInvalidRequest,
		fmt.Sprintf(`idempotency key "client-a:1" was already used for an append of 2 events to stream %d; this append has 2 events for stream %d`, sid, other))
	if r := call(t, c, 42, wire.StreamInfoRequest{StreamID: sid}); r != (wire.StreamInfoResponse{Length: 3}) {
		t.Fatalf("stream info: %#v, want 3 events", r)
	}
	// An empty key is no key: both appends go in.
	keyedAppend(t, c, 42, other, 0, "", "x")
	if r := keyedAppend(t, c, 42, other, 1, "", "x"); r != (wire.AppendEventsResponse{FirstOffset: 1, Count: 1}) {
		t.Fatalf("empty key: %#v", r)
	}
}

func TestIdempotencyWindowOption(t *testing.T) {
	ts := start(t, server.Options{IdempotencyWindow: engine.IdempotencyWindow{Keys: 2}}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "s")
	for i, k := range []string{"a", "b", "c"} {
		keyedAppend(t, c, 1, sid, uint64(i), k, k)
	}
	// Two keys are kept: c and b are recognised, a was forgotten and appends again.
	if r := keyedAppend(t, c, 1, sid, 3, "b", "b"); r != (wire.AppendEventsResponse{FirstOffset: 1, Count: 1}) {
		t.Fatalf("b: %#v", r)
	}
	if r := keyedAppend(t, c, 1, sid, 3, "a", "a"); r != (wire.AppendEventsResponse{FirstOffset: 3, Count: 1}) {
		t.Fatalf("a after eviction: %#v", r)
	}
}

// TestCapabilitiesArePromises checks every capability the server announces against what it
// serves: an entry without a probe here fails, so nothing is announced unproven.
func TestCapabilitiesArePromises(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "caps")
	length := func() uint64 {
		return call(t, c, 1, wire.StreamInfoRequest{StreamID: sid}).(wire.StreamInfoResponse).Length
	}
	runs := 0 // the lists are probed one after the other: each run uses its own key
	probes := map[string]func(t *testing.T){
		"append": func(t *testing.T) {
			n := length()
			if r := appendEvents(t, c, 1, sid, n, "p"); r != (wire.AppendEventsResponse{FirstOffset: n, Count: 1}) {
				t.Fatalf("append: %#v", r)
			}
		},
		"idempotent-append": func(t *testing.T) {
			runs++
			n, key := length(), fmt.Sprintf("cap-probe-%d", runs)
			a := keyedAppend(t, c, 1, sid, n, key, "q")
			if b := keyedAppend(t, c, 1, sid, n+1, key, "q"); a != b {
				t.Fatalf("repeat answered %#v, first %#v", b, a)
			}
			if m := length(); m != n+1 {
				t.Fatalf("stream grew by %d, want 1", m-n)
			}
		},
		"subscribe": func(t *testing.T) { probeSubscribe(t, ts.addr, c, sid) },
		"server_info.v1": func(t *testing.T) {
			if _, ok := call(t, c, 1, wire.GetServerInfoRequest{}).(wire.ServerInfoResponse); !ok {
				t.Fatal("GetServerInfo not answered")
			}
		},
	}
	infoChecks := map[string]func(t *testing.T, value string){
		// A standalone server leads: it takes writes and Sync.
		server.InfoRole: func(t *testing.T, value string) {
			if value != "leader" {
				t.Fatalf("a standalone server reports role %q", value)
			}
			probes["append"](t)
			if _, ok := call(t, c, 1, wire.SyncRequest{}).(wire.SyncResponse); !ok {
				t.Fatal("Sync refused by a server that says it leads")
			}
		},
	}
	hs := call(t, c, 1, wire.HandshakeRequest{ClientVersion: wire.Version}).(wire.HandshakeResponse)
	si := call(t, c, 1, wire.GetServerInfoRequest{}).(wire.ServerInfoResponse)
	if !slices.Contains(si.Capabilities, "role:leader") {
		t.Fatalf("server info capabilities %v do not say the server leads", si.Capabilities)
	}
	for _, list := range [][]string{hs.Capabilities, si.Capabilities} {
		for _, cap := range list {
			if key, value, ok := strings.Cut(cap, ":"); ok {
				// Informational "key:value" entries state a fact; each fact is checked.
				check, known := infoChecks[key]
				if !known {
					t.Fatalf("informational capability %q has no check", cap)
				}
				t.Run(cap, func(t *testing.T) { check(t, value) })
				continue
			}
			probe, ok := probes[cap]
			if !ok {
				t.Fatalf("capability %q is announced, but nothing proves the server serves it", cap)
			}
			t.Run(cap, probe)
		}
	}
	// What is not announced is not served either.
	wantError(t, call(t, c, 1, wire.RawRequest{Index: 11}), wire.ErrInvalidRequest, "unsupported operation: ListTables")
}

// A server without idempotent appends (as Kimberlite 0.8) neither announces them nor honours
// keys: a repeat is a new append, or an OffsetMismatch at a taken offset.
func TestWithoutIdempotentAppend(t *testing.T) {
	ts := start(t, server.Options{WithoutIdempotentAppend: true}, nil)
	c := dial(t, ts.addr)
	hs := call(t, c, 1, wire.HandshakeRequest{ClientVersion: wire.Version}).(wire.HandshakeResponse)
	si := call(t, c, 1, wire.GetServerInfoRequest{}).(wire.ServerInfoResponse)
	if fmt.Sprint(hs.Capabilities) != "[append subscribe]" || fmt.Sprint(si.Capabilities) != "[append server_info.v1 subscribe role:leader]" {
		t.Fatalf("capabilities: handshake %v, server info %v", hs.Capabilities, si.Capabilities)
	}
	sid := createStream(t, c, 1, "s")
	keyedAppend(t, c, 1, sid, 0, "k", "e")
	wantError(t, keyedAppend(t, c, 1, sid, 0, "k", "e"), wire.ErrOffsetMismatch,
		fmt.Sprintf("offset mismatch for stream %d: expected 0, actual 1", sid))
	if r := keyedAppend(t, c, 1, sid, 1, "k", "e"); r != (wire.AppendEventsResponse{FirstOffset: 1, Count: 1}) {
		t.Fatalf("repeat at the tail: %#v", r)
	}
}
