package crash

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

const (
	tenant  = 1
	writers = 4
	rounds  = 8
	window  = 8 // appends in flight per connection
)

// eventBytes is the content of the event at offset off of writer w's stream: it depends only
// on (w, off), so any event read back can be checked byte for byte, acknowledged or not.
func eventBytes(w int, off uint64) []byte {
	head := fmt.Sprintf("w%d-o%d:", w, off)
	pad := bytes.Repeat([]byte{byte('a' + off%26)}, int(off*7919%300))
	return append([]byte(head), pad...)
}

// batchLen is the number of events in the append that starts at off.
func batchLen(off uint64) uint64 { return 1 + off%5 }

// writerState is what one writer knows about its stream across rounds.
type writerState struct {
	sid    uint64
	acked  atomic.Uint64 // length of the stream covered by acknowledged appends
	mu     sync.Mutex
	bounds map[uint64]bool // every offset at which a sent append ends (or the stream starts)
}

func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	p := testserver.StartServer(t)
	states := make([]*writerState, writers)
	setup := dial(t, p.Addr)
	for w := range states {
		resp, err := setup.Call(tenant, wire.CreateStreamRequest{Name: fmt.Sprint("crash-", w), Placement: wire.PlacementGlobal})
		if err != nil {
			t.Fatal(err)
		}
		cs, ok := resp.(wire.CreateStreamResponse)
		if !ok {
			t.Fatalf("create: %#v", resp)
		}
		states[w] = &writerState{sid: cs.StreamID, bounds: map[uint64]bool{0: true}}
	}
	setup.Close()

	creates := &createState{acked: map[string]uint64{}}
	var total atomic.Int64 // acknowledged events in this test run
	for round := 1; round <= rounds; round++ {
		// Kill after a random number of acknowledged events, so the kill lands anywhere in the
		// append pipeline: before, during or after commits.
		target := total.Load() + int64(20+rand.IntN(1500))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			createStreams(t, p.Addr, creates)
		}()
		for w, st := range states {
			wg.Add(1)
			go func() {
				defer wg.Done()
				write(t, p.Addr, w, st, &total)
			}()
		}
		deadline := time.Now().Add(60 * time.Second)
		for total.Load() < target {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: only %d of %d events acknowledged in 60s", round, total.Load(), target)
			}
			time.Sleep(time.Millisecond)
		}
		p.Kill()
		wg.Wait()
		if t.Failed() {
			return
		}
		p.Restart()
		for w, st := range states {
			verify(t, p.Addr, round, w, st)
		}
		verifyCreates(t, p.Addr, round, creates)
		t.Logf("round %d: killed after %d acknowledged events and %d created streams in total; all present", round, total.Load(), len(creates.acked))
	}
}

func dial(t *testing.T, addr string) *rawconn.Conn {
	t.Helper()
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.NetConn().SetDeadline(time.Now().Add(60 * time.Second))
	return c
}

// write appends to the writer's stream, window appends in flight, until the connection breaks.
// Every append must succeed: the writer is its stream's only client.
func write(t *testing.T, addr string, w int, st *writerState, total *atomic.Int64) {
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		t.Errorf("writer %d: %v", w, err)
		return
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(60 * time.Second))
	resp, err := c.Call(tenant, wire.StreamInfoRequest{StreamID: st.sid})
	if err != nil {
		return // the server may already be gone
	}
	info, ok := resp.(wire.StreamInfoResponse)
	if !ok {
		t.Errorf("writer %d: stream info: %#v", w, resp)
		return
	}
	next := info.Length
	type sent struct{ id, first, count uint64 }
	var inflight []sent
	for {
		for len(inflight) < window {
			n := batchLen(next)
			events := make([][]byte, n)
			for i := range events {
				events[i] = eventBytes(w, next+uint64(i))
			}
			id, err := c.Send(tenant, wire.AppendEventsRequest{StreamID: st.sid, Events: events, ExpectedOffset: next})
			if err != nil {
				return
			}
			st.mu.Lock()
			st.bounds[next+n] = true
			st.mu.Unlock()
			inflight = append(inflight, sent{id, next, n})
			next += n
		}
		if err := c.Flush(); err != nil {
			return
		}
		r, err := c.Recv()
		if err != nil {
			return // killed
		}
		want := inflight[0]
		inflight = inflight[1:]
		if r.RequestID != want.id || r.Payload != (wire.AppendEventsResponse{FirstOffset: want.first, Count: uint32(want.count)}) {
			t.Errorf("writer %d: request %d answered with %d %#v", w, want.id, r.RequestID, r.Payload)
			return
		}
		st.acked.Store(want.first + want.count)
		total.Add(int64(want.count))
	}
}

// verify checks the writer's stream after a restart: every acknowledged event is there, every
// event present is exactly what was sent for its offset, there are no gaps, and the stream ends
// on an append boundary (no append is half there).
func verify(t *testing.T, addr string, round, w int, st *writerState) {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	resp, err := c.Call(tenant, wire.StreamInfoRequest{StreamID: st.sid})
	if err != nil {
		t.Fatal(err)
	}
	length := resp.(wire.StreamInfoResponse).Length
	acked := st.acked.Load()
	if length < acked {
		t.Fatalf("round %d writer %d: stream has %d events after restart, %d were acknowledged", round, w, length, acked)
	}
	st.mu.Lock()
	onBoundary := st.bounds[length]
	st.mu.Unlock()
	if !onBoundary {
		t.Fatalf("round %d writer %d: stream length %d is inside an append: half-written", round, w, length)
	}
	var off uint64
	for off < length {
		resp, err := c.Call(tenant, wire.ReadEventsRequest{StreamID: st.sid, FromOffset: off, MaxBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		rd, ok := resp.(wire.ReadEventsResponse)
		if !ok || len(rd.Events) == 0 || rd.NextOffset == nil || *rd.NextOffset != off+uint64(len(rd.Events)) {
			t.Fatalf("round %d writer %d: read at %d of %d: %#v", round, w, off, length, resp)
		}
		for _, ev := range rd.Events {
			if want := eventBytes(w, off); !bytes.Equal(ev, want) {
				t.Fatalf("round %d writer %d: event %d is %q, want %q", round, w, off, ev, want)
			}
			off++
		}
	}
	resp, err = c.Call(tenant, wire.ReadEventsRequest{StreamID: st.sid, FromOffset: length, MaxBytes: 1 << 20})
	if rd, ok := resp.(wire.ReadEventsResponse); err != nil || !ok || len(rd.Events) != 0 || rd.NextOffset != nil {
		t.Fatalf("round %d writer %d: events past the length: %#v %v", round, w, resp, err)
	}
	st.acked.Store(length) // verified durable: the next round starts from here
}

// createState tracks the streams created alongside the appends.
type createState struct {
	mu    sync.Mutex
	next  int               // number of the next stream name to create
	acked map[string]uint64 // acknowledged creations: name -> id
}

// createStreams creates streams "extra-N" one after another until the connection breaks.
func createStreams(t *testing.T, addr string, st *createState) {
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(60 * time.Second))
	for {
		st.mu.Lock()
		name := fmt.Sprint("extra-", st.next)
		st.mu.Unlock()
		resp, err := c.Call(tenant, wire.CreateStreamRequest{Name: name, DataClass: wire.DataClassPHI})
		if err != nil {
			return
		}
		cs, ok := resp.(wire.CreateStreamResponse)
		if !ok {
			t.Errorf("create %s: %#v", name, resp)
			return
		}
		st.mu.Lock()
		st.acked[name] = cs.StreamID
		st.next++
		st.mu.Unlock()
	}
}

// verifyCreates checks that every acknowledged creation kept its id: creating the same name
// again is idempotent and must return it.
func verifyCreates(t *testing.T, addr string, round int, st *createState) {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	st.mu.Lock()
	defer st.mu.Unlock()
	for name, id := range st.acked {
		resp, err := c.Call(tenant, wire.CreateStreamRequest{Name: name, DataClass: wire.DataClassPHI})
		if err != nil {
			t.Fatal(err)
		}
		if resp != (wire.CreateStreamResponse{StreamID: id}) {
			t.Fatalf("round %d: stream %s was created as %d before the kill, now %#v", round, name, id, resp)
		}
	}
}
