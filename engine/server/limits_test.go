package server_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

// gatedReads lets each Read through only when the test sends on gate, and records how many
// ran at once.
type gatedReads struct {
	*engine.DB
	gate chan struct{}

	mu           sync.Mutex
	active, most int
}

func (g *gatedReads) Read(ctx context.Context, tenant, sid, from, maxBytes uint64) ([][]byte, *uint64, error) {
	if err := g.pass(ctx); err != nil {
		return nil, nil, err
	}
	return g.DB.Read(ctx, tenant, sid, from, maxBytes)
}

// ReadNoWait is gated too: the server answers reads with it when it can (NoWaitBackend).
func (g *gatedReads) ReadNoWait(ctx context.Context, tenant, sid, from, maxBytes uint64) ([][]byte, *uint64, func() error, error) {
	if err := g.pass(ctx); err != nil {
		return nil, nil, nil, err
	}
	return g.DB.ReadNoWait(ctx, tenant, sid, from, maxBytes)
}

func (g *gatedReads) pass(ctx context.Context) error {
	g.mu.Lock()
	g.active++
	g.most = max(g.most, g.active)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.active--
		g.mu.Unlock()
	}()
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gatedReads) running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active
}

// A read is admitted only while its answer fits the connection's budget: pipelined 16 MiB
// reads run one at a time under a 40 MiB budget, and each is answered in order.
func TestReadsAdmittedOnlyWhileTheirAnswersFit(t *testing.T) {
	g := &gatedReads{gate: make(chan struct{})}
	ts := start(t, server.Options{MaxInFlightBytes: 40 << 20}, func(db *engine.DB) server.Backend { g.DB = db; return g })
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "s")
	appendEvents(t, c, 1, sid, 0, "only")
	const reads = 5
	ids := make([]uint64, reads)
	for i := range ids {
		ids[i], _ = c.Send(1, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 16 << 20})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range reads {
		waitFor(t, "a read to start", func() bool { return g.running() == 1 })
		g.gate <- struct{}{}
		resp, err := c.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := resp.Payload.(wire.ReadEventsResponse); resp.RequestID != ids[i] || !ok || len(r.Events) != 1 {
			t.Fatalf("answer %d: id %d %#v", i, resp.RequestID, resp.Payload)
		}
	}
	if g.most != 1 {
		t.Fatalf("%d reads ran at once, want 1", g.most)
	}
}

// An append over the event limit is refused while decoding, naming the limit, and the
// connection goes on serving.
func TestTooManyEventsRefusedConnectionKept(t *testing.T) {
	ts := start(t, server.Options{MaxEventsPerAppend: 3}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "s")
	wantError(t, appendEvents(t, c, 1, sid, 0, "a", "b", "c", "d"), wire.ErrInvalidRequest,
		"append carries 4 events; the server accepts at most 3 events per append (max-events-per-append)")
	if r := appendEvents(t, c, 1, sid, 0, "a", "b", "c"); r != (wire.AppendEventsResponse{Count: 3}) {
		t.Fatalf("append at the limit: %#v", r)
	}
}

// One address cannot take every connection slot; another address still gets in.
func TestConnectionsPerAddress(t *testing.T) {
	ts := start(t, server.Options{MaxConnsPerAddr: 2}, nil)
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	call(t, a, 1, wire.GetServerInfoRequest{})
	call(t, b, 1, wire.GetServerInfoRequest{})
	wantClosed(t, dial(t, ts.addr))

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	other := rawconn.New(nc)
	defer other.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	call(t, other, 1, wire.GetServerInfoRequest{})

	// A closed connection frees its address's slot.
	_ = a.Close()
	waitFor(t, "a freed slot", func() bool {
		c, err := rawconn.Dial(ts.addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.NetConn().SetDeadline(time.Now().Add(time.Second))
		_, err = c.Call(1, wire.GetServerInfoRequest{})
		return err == nil
	})
}

// A connection that does not authenticate in time is closed; one that did stays.
func TestHandshakeDeadline(t *testing.T) {
	ts := start(t, server.Options{AuthTokens: map[string]uint64{"tok": 1}, HandshakeTimeout: 200 * time.Millisecond}, nil)
	good := dial(t, ts.addr)
	call(t, good, 1, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("tok")})
	anon := dial(t, ts.addr)
	// A handshake without a token does not count: the session is still unauthenticated.
	call(t, anon, 1, wire.HandshakeRequest{ClientVersion: 5})
	wantClosed(t, dial(t, ts.addr))
	_ = anon.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := anon.Recv(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("anonymous session: %v, want closed", err)
	}
	call(t, good, 1, wire.SyncRequest{})
}

// Before authentication a frame larger than the pre-auth limit closes the connection.
func TestPreAuthFrameLimit(t *testing.T) {
	ts := start(t, server.Options{AuthTokens: map[string]uint64{"tok": 1}, MaxPreAuthFrame: 1 << 10}, nil)
	c := dial(t, ts.addr)
	big := strings.Repeat("x", 2<<10)
	if _, err := c.Send(1, wire.HandshakeRequest{ClientVersion: 5, AuthToken: &big}); err != nil {
		t.Fatal(err)
	}
	_ = c.Flush()
	wantClosed(t, c)

	// After authenticating, large frames are fine.
	ok := dial(t, ts.addr)
	call(t, ok, 1, wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("tok")})
	sid := createStream(t, ok, 1, "s")
	if r := appendEvents(t, ok, 1, sid, 0, big); r != (wire.AppendEventsResponse{Count: 1}) {
		t.Fatalf("large append after authenticating: %#v", r)
	}
}
