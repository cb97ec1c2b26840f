package pool

import (
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

func testClient(addrs ...string) (*Client, []*node) {
	c := &Client{cfg: DefaultConfig()}
	c.stats.init()
	c.cluster = newCluster(c)
	var nodes []*node
	for _, a := range addrs {
		nodes = append(nodes, c.cluster.add(a))
	}
	return c, nodes
}

// Leader hints are tracked with their view: an older hint never overrides a newer one, a hint
// naming an unknown address adds a node, and "unknown" only says the sender does not lead.
func TestLeaderHintsAndViews(t *testing.T) {
	c, n := testClient("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1")
	r := c.cluster
	if l := r.notLeader(n[0], 5, "10.0.0.2:1"); l != n[1] {
		t.Fatalf("hint not followed: %v", l)
	}
	if l := r.notLeader(n[2], 4, "10.0.0.3:1"); l != n[1] {
		t.Fatal("an older view replaced the leader")
	}
	if l := r.notLeader(n[2], 5, "10.0.0.1:1"); l != n[1] {
		t.Fatal("a second leader in the same view replaced the first")
	}
	if l := r.notLeader(n[0], 6, "10.0.0.9:1"); l == nil || l.addr != "10.0.0.9:1" {
		t.Fatalf("a leader outside the seed list was not used: %v", l)
	}
	if len(r.all()) != 4 {
		t.Fatalf("the new leader was not added as a node: %d nodes", len(r.all()))
	}
	if c.stats.leaderChanges.Load() != 1 {
		t.Fatalf("leader changes %d, want 1", c.stats.leaderChanges.Load())
	}
	leader := r.leader
	// The leader itself says it is not the leader any more and knows no successor; its term ran
	// ahead (a partitioned candidate) but that must not hide the next real hint.
	if l := r.notLeader(leader, 40, ""); l != nil {
		t.Fatal("a deposed leader is still the leader")
	}
	if leader.role.Load() != roleFollower {
		t.Fatal("the deposed leader is not a follower")
	}
	if l := r.notLeader(n[1], 7, "10.0.0.3:1"); l != n[2] {
		t.Fatalf("hint after an unknown one ignored: %v", l)
	}
	if _, view := r.currentLeader(); view != 7 {
		t.Fatalf("view %d, want 7", view)
	}
	if c.stats.leaderChanges.Load() != 2 {
		t.Fatalf("leader changes %d, want 2", c.stats.leaderChanges.Load())
	}
	// A healthy leader is not displaced by another node claiming to lead (two addresses of
	// one standalone server), but an unhealthy one is.
	n[2].healthy.Store(true)
	r.confirmed(n[0])
	if l, _ := r.currentLeader(); l != n[2] {
		t.Fatal("a healthy leader was displaced")
	}
	n[2].healthy.Store(false)
	r.confirmed(n[0])
	if l, _ := r.currentLeader(); l != n[0] {
		t.Fatal("an unhealthy leader was kept")
	}
}

func TestRetryBudget(t *testing.T) {
	b := newRetryBudget(0.5, 0)
	if b.take() {
		t.Fatal("a retry without any call")
	}
	for i := 0; i < 10; i++ {
		b.deposit()
	}
	got := 0
	for b.take() {
		got++
	}
	if got != 5 {
		t.Fatalf("%d retries after 10 calls at ratio 0.5, want 5", got)
	}
	b = newRetryBudget(0, 1000)
	b.tokens = 0
	b.last = time.Now().Add(-10 * time.Millisecond)
	if !b.take() {
		t.Fatal("the per-second allowance did not refill")
	}
}

func TestHistogram(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 3, 4, 5, 7, 8, 100, 1000, 1e6, 1e9, 1e12, 1 << 62} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("bucket of %d is %d (previous %d)", v, i, prev)
		}
		if up := histUpper(i); up < v || (v > 8 && float64(up) > float64(v)*1.25) {
			t.Fatalf("value %d: bucket %d upper bound %d", v, i, up)
		}
		prev = i
	}
	var s statsState
	s.init()
	for i := 1; i <= 100; i++ {
		s.record(opRead, time.Duration(i)*time.Millisecond, nil)
	}
	p50, p90, p99 := s.percentiles()
	within := func(got, want time.Duration) bool { return got >= want && float64(got) <= float64(want)*1.25 }
	if !within(p50, 50*time.Millisecond) || !within(p90, 90*time.Millisecond) || !within(p99, 99*time.Millisecond) {
		t.Fatalf("percentiles %v %v %v", p50, p90, p99)
	}
}

func TestParseActual(t *testing.T) {
	if v, ok := parseActual("offset mismatch for stream 7: expected 3, actual 12"); !ok || v != 12 {
		t.Fatalf("%d %v", v, ok)
	}
	if _, ok := parseActual("offset mismatch"); ok {
		t.Fatal("parsed a number out of nothing")
	}
}

// A frame built from a pre-encoded body and a fresh id decodes, checksum included, as the
// request it stands for.
func TestFrameHeadMatchesWireEncoding(t *testing.T) {
	body := encodeBody(42, wire.AppendEventsRequest{StreamID: 7, Events: [][]byte{[]byte("x")}, ExpectedOffset: 3})
	for _, id := range []uint64{1, 127, 128, 1 << 40, ^uint64(0)} {
		frame := append(appendFrameHead(nil, id, body), body...)
		m, err := wire.DecodeFrame(frame)
		if err != nil {
			t.Fatalf("id %d: %v", id, err)
		}
		r, ok := m.(*wire.Request)
		a, ok2 := r.Payload.(wire.AppendEventsRequest)
		if !ok || !ok2 || r.ID != id || r.TenantID != 42 || a.StreamID != 7 || a.ExpectedOffset != 3 || string(a.Events[0]) != "x" {
			t.Fatalf("id %d: decoded %#v", id, m)
		}
	}
	if got := appendBodyLen(42, 7, [][]byte{[]byte("x")}); got < len(body) {
		t.Fatalf("appendBodyLen %d is below the real body length %d", got, len(body))
	}
}
