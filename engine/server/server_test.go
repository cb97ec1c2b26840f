package server_test

import (
	"fmt"
	"testing"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/wire"
)

func TestOperations(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)

	hs, ok := call(t, c, 42, wire.HandshakeRequest{ClientVersion: 5}).(wire.HandshakeResponse)
	if !ok || hs.ServerVersion != 5 || !hs.Authenticated || fmt.Sprint(hs.Capabilities) != "[append idempotent-append subscribe]" {
		t.Fatalf("handshake: %#v", hs)
	}
	wantError(t, call(t, c, 42, wire.HandshakeRequest{ClientVersion: 4}), wire.ErrInvalidRequest, "unsupported client version: 4, server is 5")

	sid := createStream(t, c, 42, "events")
	if sid != 180388626433 {
		t.Fatalf("stream id = %d", sid)
	}
	if again := createStream(t, c, 42, "events"); again != sid {
		t.Fatalf("idempotent create gave %d", again)
	}
	if r := appendEvents(t, c, 42, sid, 0, "event1", "event2"); r != (wire.AppendEventsResponse{FirstOffset: 0, Count: 2}) {
		t.Fatalf("append: %#v", r)
	}
	if r := appendEvents(t, c, 42, sid, 2, "event3"); r != (wire.AppendEventsResponse{FirstOffset: 2, Count: 1}) {
		t.Fatalf("append: %#v", r)
	}
	wantError(t, appendEvents(t, c, 42, sid, 1, "x"), wire.ErrOffsetMismatch,
		fmt.Sprintf("offset mismatch for stream %d: expected 1, actual 3", sid))
	missing := wire.StreamID(42, 77)
	wantError(t, appendEvents(t, c, 42, missing, 0, "x"), wire.ErrStreamNotFound,
		fmt.Sprintf("stream with id %d not found", missing))
	wantError(t, appendEvents(t, c, 42, sid, 3), wire.ErrInvalidRequest,
		fmt.Sprintf("append to stream %d carries no events", sid))

	rd := call(t, c, 42, wire.ReadEventsRequest{StreamID: sid, FromOffset: 0, MaxBytes: 7}).(wire.ReadEventsResponse)
	if len(rd.Events) != 2 || string(rd.Events[1]) != "event2" || rd.NextOffset == nil || *rd.NextOffset != 2 {
		t.Fatalf("read: %#v", rd)
	}
	rd = call(t, c, 42, wire.ReadEventsRequest{StreamID: sid, FromOffset: 0, MaxBytes: 0}).(wire.ReadEventsResponse)
	if len(rd.Events) != 0 || rd.NextOffset != nil {
		t.Fatalf("read max_bytes 0: %#v", rd)
	}
	rd = call(t, c, 42, wire.ReadEventsRequest{StreamID: sid, FromOffset: 3, MaxBytes: 100}).(wire.ReadEventsResponse)
	if len(rd.Events) != 0 || rd.NextOffset != nil {
		t.Fatalf("read at the end: %#v", rd)
	}
	rd = call(t, c, 42, wire.ReadEventsRequest{StreamID: missing, FromOffset: 0, MaxBytes: 100}).(wire.ReadEventsResponse)
	if len(rd.Events) != 0 || rd.NextOffset != nil {
		t.Fatalf("read of a missing stream: %#v", rd)
	}

	if r := call(t, c, 42, wire.StreamInfoRequest{StreamID: sid}); r != (wire.StreamInfoResponse{Length: 3}) {
		t.Fatalf("stream info: %#v", r)
	}
	wantError(t, call(t, c, 42, wire.StreamInfoRequest{StreamID: missing}), wire.ErrStreamNotFound,
		fmt.Sprintf("stream not found: %d", missing))
	if r := call(t, c, 42, wire.SyncRequest{}); r != (wire.SyncResponse{Success: true}) {
		t.Fatalf("sync: %#v", r)
	}

	createStream(t, c, 43, "other-tenant")
	si, ok := call(t, c, 42, wire.GetServerInfoRequest{}).(wire.ServerInfoResponse)
	if !ok || si.BuildVersion != "0.1.0" || si.ProtocolVersion != 5 || si.ClusterMode != wire.ClusterStandalone ||
		si.TenantCount != 2 || fmt.Sprint(si.Capabilities) != "[append idempotent-append server_info.v1 subscribe role:leader]" {
		t.Fatalf("server info: %#v", si)
	}
}

func TestTenantIsolation(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "secret")
	appendEvents(t, c, 1, sid, 0, "payload")

	// Tenant 2 knows tenant 1's stream id; every operation says it does not exist.
	wantError(t, appendEvents(t, c, 2, sid, 1, "intruder"), wire.ErrStreamNotFound, fmt.Sprintf("stream with id %d not found", sid))
	wantError(t, call(t, c, 2, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 1000}), wire.ErrStreamNotFound, fmt.Sprintf("stream with id %d not found", sid))
	wantError(t, call(t, c, 2, wire.StreamInfoRequest{StreamID: sid}), wire.ErrStreamNotFound, fmt.Sprintf("stream not found: %d", sid))
	if r := call(t, c, 1, wire.StreamInfoRequest{StreamID: sid}); r != (wire.StreamInfoResponse{Length: 1}) {
		t.Fatalf("owner's stream info: %#v", r)
	}
}

func TestAuth(t *testing.T) {
	ts := start(t, server.Options{AuthTokens: map[string]uint64{"token-a": 7, "token-b": 8}}, nil)
	c := dial(t, ts.addr)
	mustAuth := "must authenticate via Handshake first"

	// Before any handshake, every operation is refused, server info included.
	for _, p := range []wire.RequestPayload{
		wire.CreateStreamRequest{Name: "s"}, wire.AppendEventsRequest{StreamID: 1, Events: [][]byte{{1}}},
		wire.ReadEventsRequest{StreamID: 1, MaxBytes: 10}, wire.StreamInfoRequest{StreamID: 1},
		wire.SyncRequest{}, wire.GetServerInfoRequest{}, wire.SubscribeRequest{StreamID: 1},
		wire.RawRequest{Index: 3},
	} {
		wantError(t, call(t, c, 7, p), wire.ErrAuthenticationFailed, mustAuth)
	}
	wantError(t, call(t, c, 7, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("wrong")}),
		wire.ErrAuthenticationFailed, "authentication failed: unauthorized: invalid API key")
	wantError(t, call(t, c, 7, wire.StreamInfoRequest{StreamID: 1}), wire.ErrAuthenticationFailed, mustAuth)

	// No token: the handshake succeeds but the session stays unauthenticated.
	hs := call(t, c, 7, wire.HandshakeRequest{ClientVersion: 5}).(wire.HandshakeResponse)
	if hs.Authenticated {
		t.Fatal("a handshake without a token reported authenticated")
	}
	wantError(t, call(t, c, 7, wire.SyncRequest{}), wire.ErrAuthenticationFailed, mustAuth)

	hs = call(t, c, 0, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("token-a")}).(wire.HandshakeResponse)
	if !hs.Authenticated {
		t.Fatal("a good token did not authenticate")
	}
	sid := createStream(t, c, 7, "s")
	if sid != wire.StreamID(7, 1) {
		t.Fatalf("stream id %d", sid)
	}
	wantError(t, call(t, c, 8, wire.CreateStreamRequest{Name: "x"}), wire.ErrAuthenticationFailed,
		"tenant ID mismatch: token is for tenant 7, request targets tenant 8")
	wantError(t, call(t, c, 8, wire.GetServerInfoRequest{}), wire.ErrAuthenticationFailed,
		"tenant ID mismatch: token is for tenant 7, request targets tenant 8")

	// A re-handshake cannot change or drop the identity: wrong, other and missing tokens are
	// refused, the same token is accepted, and the session keeps acting for tenant 7.
	const fixed = "already authenticated for tenant 7: a connection's identity cannot change; open a new connection for another token"
	for _, tok := range []*string{tokenPtr("token-x"), tokenPtr("token-b"), nil} {
		wantError(t, call(t, c, 7, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tok}), wire.ErrAuthenticationFailed, fixed)
	}
	if hs := call(t, c, 7, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("token-a")}); !hs.(wire.HandshakeResponse).Authenticated {
		t.Fatalf("re-handshake with the same token: %#v", hs)
	}
	if r := appendEvents(t, c, 7, sid, 0, "ok"); r != (wire.AppendEventsResponse{Count: 1}) {
		t.Fatalf("append after refused re-handshakes: %#v", r)
	}
	wantError(t, call(t, c, 8, wire.SyncRequest{}), wire.ErrAuthenticationFailed,
		"tenant ID mismatch: token is for tenant 7, request targets tenant 8")

	// Tenant 8's token cannot reach tenant 7's stream even though the tenants match.
	c8 := dial(t, ts.addr)
	call(t, c8, 8, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("token-b")})
	wantError(t, call(t, c8, 8, wire.StreamInfoRequest{StreamID: sid}), wire.ErrStreamNotFound, fmt.Sprintf("stream not found: %d", sid))
}

func TestUnimplementedOperations(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	cases := []struct {
		p    wire.RequestPayload
		name string
	}{
		{wire.RawRequest{Index: 3, Body: []byte{0x00, 0x00, 0x00}}, "Query"},
		{wire.RawRequest{Index: 14, Body: []byte{0x01, 'x'}}, "TenantCreate"},
		{wire.RawRequest{Index: 42, Body: []byte{0x00}}, "MaskingPolicyList"},
	}
	for _, tc := range cases {
		id, err := c.Send(5, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Recv()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.RequestID != id {
			t.Fatalf("%s: answered request %d, want %d", tc.name, resp.RequestID, id)
		}
		wantError(t, resp.Payload, wire.ErrInvalidRequest, "unsupported operation: "+tc.name)
	}
	// The connection is still usable.
	if sid := createStream(t, c, 5, "after"); sid != wire.StreamID(5, 1) {
		t.Fatalf("stream id %d", sid)
	}
}
