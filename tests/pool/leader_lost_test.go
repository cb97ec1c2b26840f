package pool_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// When the leader's connection breaks because the leader died, the client forgets it at once
// and waits for the election among the nodes that answer. The followers go on naming the dead
// node until their heartbeat timeout fires (made long here, so calls land in that window): a
// call made meanwhile is not sent to the dead node, and it succeeds on the new leader. Each
// appended event is in the stream once.
func TestLeaderLostIsNotRedialed(t *testing.T) {
	cl := testserver.StartCluster(t, 3, "--heartbeat-timeout", "3s", "--election-timeout", "3s")
	rec := &recorder{}
	cfg := testConfig(cl.Addrs()...)
	cfg.HealthCheckPeriod = time.Second // the call, not a health check, must find the leader
	cfg.Logger = slog.New(rec)
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 90*time.Second)
	id, err := c.CreateStream(ctx, "leader-lost", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	leader := -1
	pooltest.WaitFor(t, 30*time.Second, "the client to follow the cluster's leader", func() bool {
		leader = cl.Leader()
		return leader >= 0 && c.Ping(ctx) == nil && c.Stats().Leader == cl.Nodes[leader].Addr
	})
	dead := cl.Nodes[leader].Addr
	if _, err := c.Append(ctx, id, [][]byte{[]byte("before")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	retriedBefore := rec.count("kimberlite: retrying", "node", dead)
	cl.Kill(leader)
	// Its connection breaks at once; no call or health check is needed to notice.
	pooltest.WaitFor(t, 10*time.Second, "the client to forget the dead leader", func() bool {
		n, ok := nodeStats(c, dead)
		return ok && n.Role == "down" && c.Stats().Leader != dead
	})
	if _, err := c.Append(ctx, id, [][]byte{[]byte("after")}, pool.AppendOptions{}); err != nil {
		t.Fatalf("append after the leader was killed: %v", err)
	}
	if k := rec.count("kimberlite: retrying", "node", dead) - retriedBefore; k != 0 {
		t.Errorf("%d attempts went to the dead leader after its connection broke", k)
	}
	if l := c.Stats().Leader; l == "" || l == dead {
		t.Fatalf("leader after the append: %q", l)
	}
	seen := map[string]int{}
	for _, ev := range pooltest.ReadAll(t, c, id) {
		seen[string(ev)]++
	}
	if seen["before"] != 1 || seen["after"] != 1 || len(seen) != 2 {
		t.Errorf("stream %v, want before and after once each", seen)
	}
}

// With every node of a cluster dead, many callers neither hang nor dial in a storm: each call
// fails with a retryable error, and each node is dialed at a pace its failed dials slow down.
func TestDeadClusterDialsArePaced(t *testing.T) {
	cl := testserver.StartCluster(t, 3)
	cl.WaitLeader(20 * time.Second)
	cfg := testConfig(cl.Addrs()...)
	cfg.RetryMaxAttempts = 3
	c := connect(t, cfg)
	if err := c.Ping(pooltest.Ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if c.Stats().Leader == "" {
		t.Fatal("no leader known before the kill")
	}
	before := map[string]int64{}
	for _, n := range c.Stats().Nodes {
		before[n.Address] = n.DialsCount
	}
	for i := range cl.Nodes {
		cl.Kill(i)
	}
	start := time.Now()
	const workers, rounds = 32, 4
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		go func() {
			for r := 0; r < rounds; r++ {
				cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := c.Read(cctx, 1, 0, 100)
				cancel()
				errs <- err
			}
		}()
	}
	for i := 0; i < workers*rounds; i++ {
		if err := <-errs; err == nil || !pool.IsRetryable(err) {
			t.Fatalf("append to a dead cluster: %v, want a retryable error", err)
		}
	}
	elapsed := time.Since(start)
	// After its k-th failed dial a node is not dialed again for at least 5ms·2^(k-1) (up to
	// 500ms), and MaxDialsPerNode dials may be under way at once.
	bound := int64(cfg.MaxDialsPerNode) * (12 + int64(elapsed/(500*time.Millisecond)))
	for _, n := range c.Stats().Nodes {
		if d := n.DialsCount - before[n.Address]; d > bound {
			t.Errorf("node %s dialed %d times in %v by %d calls, over the bound %d", n.Address, d, elapsed, workers*rounds, bound)
		}
	}
}
