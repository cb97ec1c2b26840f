package pool_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func waitLeader(t *testing.T, pc *testserver.Partitionable, not int) int {
	t.Helper()
	found := -1
	pooltest.WaitFor(t, 30*time.Second, "a leader", func() bool {
		found = pc.Leader(not)
		return found >= 0
	})
	return found
}

// The leader is cut off from its peers but still answers clients. Once the others elect a new
// leader, the client follows it and drops the old one, which keeps answering pings.
func TestDeposedLeaderIsDropped(t *testing.T) {
	pc := testserver.StartPartitionable(t)
	old := waitLeader(t, pc, -1)
	cfg := testConfig(pc.Addrs()...)
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 90*time.Second)
	id, err := c.CreateStream(ctx, "deposed", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("before")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	oldAddr := pc.Nodes[old].Addr
	if c.Stats().Leader != oldAddr {
		t.Fatalf("client leader %q, want %q", c.Stats().Leader, oldAddr)
	}
	before, _ := nodeStats(c, oldAddr)
	if before.OpenConns == 0 {
		t.Fatalf("no connection to the leader: %+v", before)
	}
	// A second client without background checks can learn the change only from the answers to
	// its own calls.
	quietCfg := testConfig(pc.Addrs()...)
	quietCfg.HealthCheckPeriod = 0
	quiet := connect(t, quietCfg)
	if quiet.Stats().Leader != oldAddr {
		t.Fatalf("quiet client leader %q, want %q", quiet.Stats().Leader, oldAddr)
	}
	pooltest.WaitFor(t, 10*time.Second, "the quiet client's connect probes to end", func() bool {
		for _, n := range quiet.Stats().Nodes {
			if n.OpenConns == 0 || n.InFlight != 0 {
				return false
			}
		}
		return true
	})

	pc.Isolate(old)
	now := waitLeader(t, pc, old)
	newAddr := pc.Nodes[now].Addr
	// The deposed leader still answers: a handshake works and Sync says NotLeader.
	if err := testserver.Handshake(oldAddr, time.Second); err != nil {
		t.Fatalf("the old leader stopped answering: %v", err)
	}
	pooltest.WaitFor(t, 30*time.Second, "the old leader to step down", func() bool {
		var se *testserver.ServerError
		return errors.As(testserver.ProbeSync(oldAddr, time.Second), &se) && se.Code == wire.ErrNotLeader
	})

	off, err := c.Append(ctx, id, [][]byte{[]byte("after")}, pool.AppendOptions{})
	if err != nil || off != 1 {
		t.Fatalf("append after the partition: %d %v", off, err)
	}
	pooltest.WaitFor(t, 30*time.Second, "the client to drop the deposed leader", func() bool {
		st := c.Stats()
		n, _ := nodeStats(c, oldAddr)
		return st.Leader == newAddr && n.Role != "leader" && n.InFlight == 0 &&
			(n.OpenConns == 0 || n.DialsCount > before.DialsCount)
	})
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// The quiet client sends to the old leader, is told NotLeader and follows at once.
	if off, err := quiet.Append(ctx, id, [][]byte{[]byte("quiet")}, pool.AppendOptions{}); err != nil || off != 2 {
		t.Fatalf("append by the quiet client: %d %v", off, err)
	}
	if qs := quiet.Stats(); qs.Leader != newAddr || qs.RedirectsCount < 1 {
		t.Fatalf("quiet client: leader %q, redirects %d: %+v", qs.Leader, qs.RedirectsCount, qs)
	}
	st := c.Stats()
	if st.LeaderChangesCount < 1 {
		t.Fatalf("leader change not counted: %+v", st)
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != 3 || string(got[1]) != "after" || string(got[2]) != "quiet" {
		t.Fatalf("stream: %q", got)
	}
}
