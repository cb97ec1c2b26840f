package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// client speaks raw v5 frames to one server, one request at a time (rawconn), turning an Error
// response into a *testserver.ServerError.
type client struct{ rc *rawconn.Conn }

func dial(addr string) (*client, error) {
	rc, err := rawconn.Dial(addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c := &client{rc: rc}
	if _, err := c.call(0, wire.HandshakeRequest{ClientVersion: wire.Version}); err != nil {
		_ = rc.Close()
		return nil, err
	}
	return c, nil
}

func mustDial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(c.close)
	return c
}

func (c *client) close() { _ = c.rc.Close() }

// call sends one request and returns the response payload. An Error response is returned as a
// *testserver.ServerError; any other error is a transport failure.
func (c *client) call(tenant uint64, p wire.RequestPayload) (wire.ResponsePayload, error) {
	_ = c.rc.NetConn().SetDeadline(time.Now().Add(20 * time.Second))
	resp, err := c.rc.Call(tenant, p)
	if err != nil {
		return nil, err
	}
	if e, ok := resp.(wire.ErrorResponse); ok {
		return nil, &testserver.ServerError{Code: e.Code, Message: e.Message}
	}
	return resp, nil
}

func (c *client) createStream(tenant uint64, name string) (uint64, error) {
	p, err := c.call(tenant, wire.CreateStreamRequest{Name: name, DataClass: wire.DataClassPublic, Placement: wire.PlacementGlobal})
	if err != nil {
		return 0, err
	}
	return p.(wire.CreateStreamResponse).StreamID, nil
}

func (c *client) append(tenant, sid, expected uint64, events ...string) (uint64, error) {
	evs := make([][]byte, len(events))
	for i, e := range events {
		evs[i] = []byte(e)
	}
	p, err := c.call(tenant, wire.AppendEventsRequest{StreamID: sid, Events: evs, ExpectedOffset: expected})
	if err != nil {
		return 0, err
	}
	return p.(wire.AppendEventsResponse).FirstOffset, nil
}

func (c *client) length(tenant, sid uint64) (uint64, error) {
	p, err := c.call(tenant, wire.StreamInfoRequest{StreamID: sid})
	if err != nil {
		return 0, err
	}
	return p.(wire.StreamInfoResponse).Length, nil
}

// readAll reads the whole stream in pages.
func (c *client) readAll(tenant, sid uint64) ([]string, error) {
	var out []string
	from := uint64(0)
	for {
		p, err := c.call(tenant, wire.ReadEventsRequest{StreamID: sid, FromOffset: from, MaxBytes: 64 << 10})
		if err != nil {
			return nil, err
		}
		r := p.(wire.ReadEventsResponse)
		for _, e := range r.Events {
			out = append(out, string(e))
		}
		if r.NextOffset == nil {
			return out, nil
		}
		from = *r.NextOffset
	}
}

func serverInfo(t *testing.T, addr string) wire.ServerInfoResponse {
	t.Helper()
	p, err := mustDial(t, addr).call(0, wire.GetServerInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return p.(wire.ServerInfoResponse)
}

func errCode(err error) (wire.ErrorCode, string, bool) {
	var se *testserver.ServerError
	if errors.As(err, &se) {
		return se.Code, se.Message, true
	}
	return 0, "", false
}

// readAllRetry reads a stream from addr, redialling on transport errors, until the deadline.
func readAllRetry(t *testing.T, addr string, tenant, sid uint64) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := dial(addr)
		if err == nil {
			var evs []string
			evs, err = c.readAll(tenant, sid)
			c.close()
			if err == nil {
				return evs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading stream %d from %s: %v", sid, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStream polls addr until its copy of the stream equals want.
func waitStream(t *testing.T, addr string, tenant, sid uint64, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := readAllRetry(t, addr, tenant, sid)
		if equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stream %d has %d events, want %d (first difference at %d)", addr, sid, len(got), len(want), firstDiff(got, want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func equal(a, b []string) bool { return firstDiff(a, b) < 0 }

func firstDiff(a, b []string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

// leaderCreate creates (or finds: creation is idempotent by name) a stream through whichever
// node leads, retrying across leader changes.
func leaderCreate(t *testing.T, c *testserver.Cluster, tenant uint64, name string) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cl, err := dial(c.Nodes[c.WaitLeader(20*time.Second)].Addr)
		if err == nil {
			var sid uint64
			sid, err = cl.createStream(tenant, name)
			cl.close()
			if err == nil {
				return sid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating stream %q: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leaderAppend appends events at offset expected through whichever node leads. When an
// attempt's outcome is unknown (connection lost, leadership lost, no quorum) it checks the
// stream before it tries again, so the events land exactly once; the expected offset makes a
// late commit of an earlier attempt and a retry exclude each other.
func leaderAppend(t *testing.T, c *testserver.Cluster, tenant, sid, expected uint64, events ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		addr := c.Nodes[c.WaitLeader(20*time.Second)].Addr
		cl, err := dial(addr)
		if err == nil {
			var off uint64
			off, err = cl.append(tenant, sid, expected, events...)
			cl.close()
			if err == nil {
				if off != expected {
					t.Fatalf("append at %d acknowledged at %d", expected, off)
				}
				return
			}
			code, msg, ok := errCode(err)
			if ok && code != wire.ErrNotLeader && code != wire.ErrRateLimited && code != wire.ErrOffsetMismatch {
				t.Fatalf("append at %d: %v %s", expected, code, msg)
			}
		}
		// Did an earlier attempt commit after all?
		got := readAllRetry(t, c.Nodes[c.WaitLeader(20*time.Second)].Addr, tenant, sid)
		if uint64(len(got)) >= expected+uint64(len(events)) && equal(got[expected:expected+uint64(len(events))], events) {
			return
		}
		if uint64(len(got)) != expected {
			t.Fatalf("append at %d: the stream has %d events that are not ours (last error %v)", expected, len(got), err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("append at %d: %v", expected, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
