package subscribe_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// The leader serving a subscription is cut off from its peers but keeps answering clients, so
// it would never see another commit. The subscription follows the new leader by itself and
// delivers what is committed there while the partition lasts, each event once, in order.
func TestSubscriptionFollowsLeaderChange(t *testing.T) {
	pc := testserver.StartPartitionable(t)
	var old int
	pooltest.WaitFor(t, 20*time.Second, "a leader", func() bool { old = pc.Leader(-1); return old >= 0 })
	c := connect(t, clientConfig(pc.Addrs()))
	ctx := pooltest.Ctx(t, 90*time.Second)
	sid, err := c.CreateStream(ctx, "moves", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, sid, pool.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := c.Append(ctx, sid, [][]byte{[]byte("e-0")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	got := next(t, sub, 1)
	if sub.Node() != pc.Nodes[old].Addr {
		t.Fatalf("subscription on %q, the leader is %q", sub.Node(), pc.Nodes[old].Addr)
	}

	pc.Isolate(old)
	var now int
	pooltest.WaitFor(t, 30*time.Second, "a new leader", func() bool { now = pc.Leader(old); return now >= 0 })
	for i := 1; i <= 20; i++ {
		if _, err := c.Append(ctx, sid, [][]byte{[]byte("e-" + itoa(i))}, pool.AppendOptions{}); err != nil {
			t.Fatalf("append %d after the partition: %v", i, err)
		}
	}
	got = append(got, next(t, sub, 20)...)
	for i, e := range got {
		if e != "e-"+itoa(i) {
			t.Fatalf("event %d is %q", i, e)
		}
	}
	if sub.Node() == pc.Nodes[old].Addr {
		t.Fatal("the subscription still sits on the cut-off node")
	}
	pc.Heal()
}

func itoa(i int) string { return strconv.Itoa(i) }

// next takes n events from sub, each Next within the call deadline.
func next(t *testing.T, sub *pool.Subscription, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		nctx, cancel := context.WithTimeout(context.Background(), callDeadline)
		batch, err := sub.Next(nctx)
		cancel()
		if err != nil {
			t.Fatalf("next after %d events: %v", len(out), err)
		}
		for _, e := range batch {
			out = append(out, string(e.Data))
		}
	}
	if len(out) != n {
		t.Fatalf("got %d events, want %d", len(out), n)
	}
	return out
}
