package cluster_test

import (
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// keyedAppend sends an AppendEvents with an idempotency key to whichever node leads, retrying
// until one answers (a re-send is what the key is for), and returns its answer.
func keyedAppend(t *testing.T, c *testserver.Cluster, sid, expected uint64, key string, events ...string) wire.ResponsePayload {
	t.Helper()
	evs := make([][]byte, len(events))
	for i, e := range events {
		evs[i] = []byte(e)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cl, err := dial(c.Nodes[c.WaitLeader(20*time.Second)].Addr)
		if err == nil {
			_ = cl.rc.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
			var p wire.ResponsePayload
			p, err = cl.rc.CallRequest(&wire.Request{Audit: &wire.AuditMetadata{IdempotencyKey: &key},
				Payload: wire.AppendEventsRequest{StreamID: sid, Events: evs, ExpectedOffset: expected}})
			cl.close()
			if e, ok := p.(wire.ErrorResponse); err == nil && !(ok && (e.Code == wire.ErrNotLeader || e.Code == wire.ErrRateLimited)) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("append with key %q: no answer: %v", key, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The idempotency window is replicated state: a repeat of an append answers with the original
// result on a new leader after a graceful leadership transfer, and after the whole cluster
// restarted.
func TestIdempotentAppendAcrossLeaderChangeAndRestart(t *testing.T) {
	c := testserver.StartCluster(t, 3)
	sid := leaderCreate(t, c, 0, "idem")
	first := keyedAppend(t, c, sid, 0, "writer-1:1", "a", "b")
	if first != (wire.AppendEventsResponse{FirstOffset: 0, Count: 2}) {
		t.Fatalf("first append: %#v", first)
	}
	old := c.WaitLeader(20 * time.Second)
	if !c.Stop(old) {
		t.Fatal("the leader did not stop cleanly")
	}
	if r := keyedAppend(t, c, sid, 2, "writer-1:1", "a", "b"); r != first {
		t.Fatalf("repeat on the new leader: %#v, want %#v", r, first)
	}
	c.Restart(old)
	for i := range c.Nodes {
		c.Kill(i)
	}
	for i := range c.Nodes {
		c.Restart(i)
	}
	if r := keyedAppend(t, c, sid, 0, "writer-1:1", "a", "b"); r != first {
		t.Fatalf("repeat after a full restart: %#v, want %#v", r, first)
	}
	for _, p := range c.Nodes {
		waitStream(t, p.Addr, 0, sid, []string{"a", "b"})
	}
}
