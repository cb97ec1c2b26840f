package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

type testServer struct {
	addr  string
	srv   *server.Server
	db    *engine.DB
	serve chan error
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a real server on 127.0.0.1:0 over a fresh database in a temp folder. wrap, when
// not nil, puts something between the server and the database.
func start(t testing.TB, opts server.Options, wrap func(*engine.DB) server.Backend) *testServer {
	t.Helper()
	db, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var backend server.Backend = db
	if wrap != nil {
		backend = wrap(db)
	}
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: l.Addr().String(), srv: server.New(backend, opts), db: db, serve: make(chan error, 1)}
	go func() { ts.serve <- ts.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ts.srv.Shutdown(ctx)
		_ = db.Close()
	})
	return ts
}

func dial(t *testing.T, addr string) *rawconn.Conn {
	t.Helper()
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func call(t *testing.T, c *rawconn.Conn, tenant uint64, p wire.RequestPayload) wire.ResponsePayload {
	t.Helper()
	resp, err := c.Call(tenant, p)
	if err != nil {
		t.Fatalf("%T: %v", p, err)
	}
	return resp
}

func wantError(t *testing.T, resp wire.ResponsePayload, code wire.ErrorCode, msg string) {
	t.Helper()
	e, ok := resp.(wire.ErrorResponse)
	if !ok {
		t.Fatalf("got %#v, want error %v %q", resp, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Fatalf("got error %v %q, want %v %q", e.Code, e.Message, code, msg)
	}
}

func createStream(t *testing.T, c *rawconn.Conn, tenant uint64, name string) uint64 {
	t.Helper()
	resp := call(t, c, tenant, wire.CreateStreamRequest{Name: name, DataClass: wire.DataClassPublic, Placement: wire.PlacementGlobal})
	cs, ok := resp.(wire.CreateStreamResponse)
	if !ok {
		t.Fatalf("create %q: %#v", name, resp)
	}
	return cs.StreamID
}

func appendEvents(t *testing.T, c *rawconn.Conn, tenant, sid, expected uint64, events ...string) wire.ResponsePayload {
	t.Helper()
	evs := make([][]byte, len(events))
	for i, e := range events {
		evs[i] = []byte(e)
	}
	return call(t, c, tenant, wire.AppendEventsRequest{StreamID: sid, Events: evs, ExpectedOffset: expected})
}

// wantClosed checks that the server closes c without sending a single byte.
func wantClosed(t *testing.T, c *rawconn.Conn) {
	t.Helper()
	_ = c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	n, err := c.NetConn().Read(b[:])
	if n != 0 || err == nil {
		t.Fatalf("read %d bytes, err %v: want the connection closed with nothing sent", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tokenPtr(s string) *string { return &s }
