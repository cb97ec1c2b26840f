package cluster

import (
	"context"
	"testing"
	"time"
)

// Role tells the truth on every node and writes nothing to the raft log: a client may check
// health with it as often as it likes.
func TestRoleIsTrueAndWritesNothing(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lead := c.leader()
	leaderAddr := c.cfgs[lead].Self().ClientAddr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A leader commits a no-op entry when it takes office; wait until it is applied everywhere,
	// so the log's end is quiet before counting.
	for i, n := range c.nodes {
		deadline := time.Now().Add(10 * time.Second)
		for n.raft.AppliedIndex() < c.nodes[lead].raft.LastIndex() {
			if time.Now().After(deadline) {
				t.Fatalf("node %d did not apply the leader's log", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	before := make([]uint64, len(c.nodes))
	for i, n := range c.nodes {
		before[i] = n.raft.LastIndex()
	}
	for round := 0; round < 20; round++ {
		for i, n := range c.nodes {
			role, term, leader := n.Role(ctx)
			if term != c.nodes[lead].Term() {
				t.Fatalf("node %d reports term %d, the leader's is %d", i+1, term, c.nodes[lead].Term())
			}
			if leader != leaderAddr {
				t.Fatalf("node %d reports leader %q, want %q", i+1, leader, leaderAddr)
			}
			want := "follower"
			if i == lead {
				want = "leader"
			}
			if role != want {
				t.Fatalf("node %d reports role %q, want %q", i+1, role, want)
			}
		}
	}
	for i, n := range c.nodes {
		if got := n.raft.LastIndex(); got != before[i] {
			t.Fatalf("node %d: raft log grew from %d to %d entries during role checks", i+1, before[i], got)
		}
	}
	// A leader cut off from its majority stops claiming to lead (a heartbeat answered just
	// before the followers stopped may still confirm one check).
	for i := range c.nodes {
		if i != lead {
			c.stop(i)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		role, _, leader := c.nodes[lead].Role(ctx)
		if role != "leader" && leader != leaderAddr {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a leader without its majority still reports role %q, leader %q", role, leader)
		}
	}
}
