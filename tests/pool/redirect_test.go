package pool_test

import (
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// Given only a follower's address, the client learns the leader from its NotLeader hint and
// uses it although it is not in the seed list.
func TestLeaderOutsideSeedList(t *testing.T) {
	cl := testserver.StartCluster(t, 3)
	leader := cl.WaitLeader(20 * time.Second)
	follower := (leader + 1) % 3
	c := connect(t, testConfig(cl.Nodes[follower].Addr))
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "redirect", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if off, err := c.Append(ctx, id, [][]byte{[]byte("x")}, pool.AppendOptions{}); err != nil || off != 0 {
		t.Fatalf("append: %d %v", off, err)
	}
	st := c.Stats()
	if st.Leader != cl.Nodes[leader].Addr || st.LeaderView == 0 {
		t.Fatalf("leader %q view %d, want %q", st.Leader, st.LeaderView, cl.Nodes[leader].Addr)
	}
	if len(st.Nodes) != 2 {
		t.Fatalf("nodes: %+v", st.Nodes)
	}
	for _, n := range st.Nodes {
		want := "follower"
		if n.Address == st.Leader {
			want = "leader"
		}
		if n.Role != want {
			t.Fatalf("node %s role %q, want %q", n.Address, n.Role, want)
		}
	}

	// Reads may go to any healthy node; a follower answers them.
	cfg := testConfig(cl.Addrs()...)
	cfg.ReadFrom = pool.ReadAnyHealthy
	rc := connect(t, cfg)
	pooltest.WaitFor(t, 10*time.Second, "every node healthy", func() bool {
		for _, n := range rc.Stats().Nodes {
			if !n.Healthy {
				return false
			}
		}
		return true
	})
	pooltest.WaitFor(t, 10*time.Second, "the follower to catch up", func() bool {
		for i := 0; i < 6; i++ {
			r, err := rc.Read(ctx, id, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Events) != 1 {
				return false
			}
		}
		return true
	})
}
