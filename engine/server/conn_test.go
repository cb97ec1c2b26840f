package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

func TestMalformedFrameClosesOnlyThatConnection(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	survivor := dial(t, ts.addr)
	sid := createStream(t, survivor, 1, "s")

	good, err := wire.AppendFrame(nil, &wire.Request{ID: 1, TenantID: 1, Payload: wire.SyncRequest{}})
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	header := func(length uint32) []byte {
		h := make([]byte, wire.HeaderSize)
		binary.BigEndian.PutUint32(h[0:4], wire.Magic)
		binary.BigEndian.PutUint16(h[4:6], wire.Version)
		binary.BigEndian.PutUint32(h[6:10], length)
		return h
	}
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"bad magic", corrupt(func(b []byte) { b[0] = 'X' })},
		{"bad version", corrupt(func(b []byte) { b[5] = 4 })},
		{"bad checksum", corrupt(func(b []byte) { b[13] ^= 0xff })},
		{"oversize", header(wire.MaxPayloadSize + 1)},
		{"empty payload", wire.AppendRawFrame(nil, nil)},
		{"truncated message", wire.AppendRawFrame(nil, []byte{0x00, 0x01})},
		{"unknown message tag", wire.AppendRawFrame(nil, []byte{0x03, 0x01, 0x01, 0x00, 0x08})},
		{"unknown request variant", wire.AppendRawFrame(nil, []byte{0x00, 0x01, 0x01, 0x00, 43})},
		{"bad bool", wire.AppendRawFrame(nil, []byte{0x00, 0x01, 0x01, 0x02, 0x08})},
		{"response from client", wire.AppendRawFrame(nil, []byte{0x01, 0x01, 0x09, 0x01})},
		{"push from client", wire.AppendRawFrame(nil, []byte{0x02, 0x01, 0xac, 0x02, 0x00})},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			victim := dial(t, ts.addr)
			if err := victim.WriteRaw(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if err := victim.Flush(); err != nil {
				t.Fatal(err)
			}
			wantClosed(t, victim)
			if r := appendEvents(t, survivor, 1, sid, uint64(i), "still here"); r != (wire.AppendEventsResponse{FirstOffset: uint64(i), Count: 1}) {
				t.Fatalf("survivor: %#v", r)
			}
		})
	}
}

func TestManyConnectionsAppending(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	const conns, rounds = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	sids := make([]uint64, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := rawconn.Dial(ts.addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.NetConn().SetDeadline(time.Now().Add(60 * time.Second))
			resp, err := c.Call(3, wire.CreateStreamRequest{Name: fmt.Sprint("conn-", i)})
			if err != nil {
				errs <- err
				return
			}
			sids[i] = resp.(wire.CreateStreamResponse).StreamID
			for n := range rounds {
				resp, err := c.Call(3, wire.AppendEventsRequest{StreamID: sids[i], ExpectedOffset: uint64(n),
					Events: [][]byte{[]byte(fmt.Sprint(i, "/", n))}})
				if err != nil {
					errs <- err
					return
				}
				if resp != (wire.AppendEventsResponse{FirstOffset: uint64(n), Count: 1}) {
					errs <- fmt.Errorf("conn %d append %d: %#v", i, n, resp)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	for i, sid := range sids {
		rd := call(t, c, 3, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 1 << 20}).(wire.ReadEventsResponse)
		if len(rd.Events) != rounds || string(rd.Events[rounds-1]) != fmt.Sprint(i, "/", rounds-1) {
			t.Fatalf("stream of conn %d: %q", i, rd.Events)
		}
	}
	if st := ts.db.Stats(); st.CommitCount >= st.OpCount {
		t.Logf("note: %d ops in %d commits", st.OpCount, st.CommitCount)
	}
}

func TestPipelinedAppendsAnsweredInOrder(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 9, "pipe")
	const n = 200
	ids := make([]uint64, 0, n+1)
	for i := range n {
		id, err := c.Send(9, wire.AppendEventsRequest{StreamID: sid, ExpectedOffset: uint64(i), Events: [][]byte{[]byte(fmt.Sprint(i))}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// A read pipelined behind the appends sees all of them.
	id, _ := c.Send(9, wire.StreamInfoRequest{StreamID: sid})
	ids = append(ids, id)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		resp, err := c.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.RequestID != id {
			t.Fatalf("response %d answers request %d, want %d", i, resp.RequestID, id)
		}
		if i < n && resp.Payload != (wire.AppendEventsResponse{FirstOffset: uint64(i), Count: 1}) {
			t.Fatalf("append %d: %#v", i, resp.Payload)
		}
		if i == n && resp.Payload != (wire.StreamInfoResponse{Length: n}) {
			t.Fatalf("stream info behind the appends: %#v", resp.Payload)
		}
	}
}

// gated holds writes back until release is closed, forwarding them to the database in order.
// It lets a test see what the server does while writes are in flight.
type gated struct {
	*engine.DB
	release   chan struct{}
	submitted atomic.Int64
	queue     chan gatedOp
}

type gatedOp struct {
	op engine.Op
	p  *engine.Pending
}

func gate(db *engine.DB) *gated {
	g := &gated{DB: db, release: make(chan struct{}), queue: make(chan gatedOp, 1024)}
	go func() {
		<-g.release
		for q := range g.queue {
			q.p.Complete(db.Submit(q.op).Wait(context.Background()))
		}
	}()
	return g
}

func (g *gated) Submit(op engine.Op) *engine.Pending {
	p := engine.NewPending()
	g.submitted.Add(1)
	g.queue <- gatedOp{op, p}
	return p
}

func TestReadWaitsForTheConnectionsEarlierWrites(t *testing.T) {
	var g *gated
	ts := start(t, server.Options{}, func(db *engine.DB) server.Backend { g = gate(db); return g })
	sid := wire.StreamID(4, 1)
	c := dial(t, ts.addr)
	c.Send(4, wire.CreateStreamRequest{Name: "s"})
	c.Send(4, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("a"), []byte("b")}})
	c.Send(4, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 100})
	c.Send(4, wire.StreamInfoRequest{StreamID: sid})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both writes to reach the backend", func() bool { return g.submitted.Load() == 2 })
	close(g.release)
	want := []wire.ResponsePayload{
		wire.CreateStreamResponse{StreamID: sid},
		wire.AppendEventsResponse{FirstOffset: 0, Count: 2},
	}
	for _, w := range want {
		resp, err := c.Recv()
		if err != nil || resp.Payload != w {
			t.Fatalf("got %#v %v, want %#v", resp, err, w)
		}
	}
	resp, err := c.Recv()
	if rd, ok := resp.Payload.(wire.ReadEventsResponse); err != nil || !ok || len(rd.Events) != 2 {
		t.Fatalf("read behind the writes: %#v %v", resp, err)
	}
	if resp, err := c.Recv(); err != nil || resp.Payload != (wire.StreamInfoResponse{Length: 2}) {
		t.Fatalf("stream info behind the writes: %#v %v", resp, err)
	}
}

func TestGracefulShutdownFinishesInFlightWrites(t *testing.T) {
	var g *gated
	ts := start(t, server.Options{}, func(db *engine.DB) server.Backend { g = gate(db); return g })
	c := dial(t, ts.addr)
	sid := wire.StreamID(2, 1)
	c.Send(2, wire.CreateStreamRequest{Name: "s"})
	const n = 20
	for i := range n {
		c.Send(2, wire.AppendEventsRequest{StreamID: sid, ExpectedOffset: uint64(i), Events: [][]byte{[]byte("e")}})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the writes to reach the backend", func() bool { return g.submitted.Load() == n+1 })

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shutdown <- ts.srv.Shutdown(ctx)
	}()
	// New connections are refused once the listener is closed.
	waitFor(t, "the listener to close", func() bool {
		nc, err := rawconn.Dial(ts.addr, time.Second)
		if err == nil {
			nc.Close()
		}
		return err != nil
	})
	close(g.release)
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-ts.serve; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if resp, err := c.Recv(); err != nil || resp.Payload != (wire.CreateStreamResponse{StreamID: sid}) {
		t.Fatalf("create: %#v %v", resp, err)
	}
	for i := range n {
		resp, err := c.Recv()
		if err != nil || resp.Payload != (wire.AppendEventsResponse{FirstOffset: uint64(i), Count: 1}) {
			t.Fatalf("append %d after shutdown began: %#v %v", i, resp, err)
		}
	}
	wantClosed(t, c)
	if l, err := ts.db.StreamLength(context.Background(), 2, sid); err != nil || l != n {
		t.Fatalf("stored length %d, %v", l, err)
	}
}

func TestIdleTimeoutClosesConnection(t *testing.T) {
	ts := start(t, server.Options{IdleTimeout: 300 * time.Millisecond}, nil)
	idle := dial(t, ts.addr)
	call(t, idle, 1, wire.HandshakeRequest{ClientVersion: 5})
	wantClosed(t, idle)
	// A fresh connection works.
	c := dial(t, ts.addr)
	call(t, c, 1, wire.HandshakeRequest{ClientVersion: 5})
}

func TestMaxConnections(t *testing.T) {
	ts := start(t, server.Options{MaxConns: 2}, nil)
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	call(t, a, 1, wire.HandshakeRequest{ClientVersion: 5})
	call(t, b, 1, wire.HandshakeRequest{ClientVersion: 5})
	extra := dial(t, ts.addr)
	wantClosed(t, extra)
	// Once a slot frees up, a new connection is served again.
	a.Close()
	waitFor(t, "a connection slot to free up", func() bool {
		c, err := rawconn.Dial(ts.addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.NetConn().SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Handshake(1, nil)
		return err == nil
	})
	call(t, b, 1, wire.SyncRequest{})
}

func TestLargeFramesRoundTrip(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 6, "big")
	big := make([][]byte, 2)
	for i := range big {
		big[i] = make([]byte, 3<<20+i)
		for j := range big[i] {
			big[i][j] = byte(j*7 + i)
		}
	}
	if r := call(t, c, 6, wire.AppendEventsRequest{StreamID: sid, Events: big}); r != (wire.AppendEventsResponse{Count: 2}) {
		t.Fatalf("append: %#v", r)
	}
	rd := call(t, c, 6, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 1 << 40}).(wire.ReadEventsResponse)
	if len(rd.Events) != 2 || !bytes.Equal(rd.Events[0], big[0]) || !bytes.Equal(rd.Events[1], big[1]) {
		t.Fatalf("read back %d events", len(rd.Events))
	}
}

func TestShutdownPastItsDeadlineClosesConnections(t *testing.T) {
	var g *gated
	ts := start(t, server.Options{}, func(db *engine.DB) server.Backend { g = gate(db); return g })
	defer close(g.release)
	c := dial(t, ts.addr)
	c.Send(2, wire.CreateStreamRequest{Name: "stuck"})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the write to reach the backend", func() bool { return g.submitted.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a write stuck: %v", err)
	}
	wantClosed(t, c)
}

// Reads answered at once by the connection's reader and writes answered by its writer
// interleave in request order, and each read sees every earlier write of the connection (it
// may see later ones too: those are submitted without waiting for it).
func TestPipelinedReadsAndWritesAnsweredInOrder(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "mixed")
	const n = 100
	for i := range n {
		c.Send(1, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte(fmt.Sprintf("e%d", i))}, ExpectedOffset: uint64(i)})
		c.Send(1, wire.ReadEventsRequest{StreamID: sid, FromOffset: uint64(i), MaxBytes: 1}) // one event
		c.Send(1, wire.StreamInfoRequest{StreamID: sid})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for k := range 3 {
			resp, err := c.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(2 + 3*i + k); resp.RequestID != want {
				t.Fatalf("answer to request %d, want %d", resp.RequestID, want)
			}
			var ok bool
			switch k {
			case 0:
				ok = resp.Payload == wire.AppendEventsResponse{FirstOffset: uint64(i), Count: 1}
			case 1:
				r, isRead := resp.Payload.(wire.ReadEventsResponse)
				ok = isRead && len(r.Events) == 1 && string(r.Events[0]) == fmt.Sprintf("e%d", i)
			case 2:
				r, isInfo := resp.Payload.(wire.StreamInfoResponse)
				ok = isInfo && r.Length > uint64(i)
			}
			if !ok {
				t.Fatalf("round %d answer %d: %#v", i, k, resp.Payload)
			}
		}
	}
}

// A connection that keeps sending is never closed as idle, however many times its idle
// timeout would have passed since it was opened.
func TestIdleTimeoutCountsFromTheLastRequest(t *testing.T) {
	const idle = 500 * time.Millisecond
	ts := start(t, server.Options{IdleTimeout: idle}, nil)
	c := dial(t, ts.addr)
	for end := time.Now().Add(3 * idle); time.Now().Before(end); {
		call(t, c, 1, wire.GetServerInfoRequest{})
		time.Sleep(idle / 10) // pacing the client, not waiting for the server
	}
	call(t, c, 1, wire.GetServerInfoRequest{})
	wantClosed(t, c) // and once it is silent, it is closed
}
