package pool

import (
	"context"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// Calls made one after another, from a goroutine or from a foreign thread, read their own
// answers: the reader goroutine hands over (almost) none of them. Only a call that finds the
// reader goroutine watching an idle socket is handed its answer.
func TestSerialCallsReadTheirOwnAnswers(t *testing.T) {
	c := connectLocal(t, startLocal(t), func(cfg *Config) { cfg.MaxConnsPerNode, cfg.MinIdleConnsPerNode = 1, 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sid, err := c.CreateStream(ctx, "solo", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, sid, [][]byte{[]byte("e")}, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	conn := onlyConn(t, c)
	const calls = 400
	for _, kind := range []struct {
		name string
		ctx  context.Context
	}{{"goroutine", ctx}, {"foreign thread", OnForeignThread(ctx)}} {
		before := conn.handoffs.Load()
		for i := 0; i < calls; i++ {
			if _, err := c.Read(kind.ctx, sid, 0, 10); err != nil {
				t.Fatal(err)
			}
		}
		if handed := conn.handoffs.Load() - before; handed > calls/10 {
			t.Errorf("%s: %d of %d answers were handed over by the reader goroutine", kind.name, handed, calls)
		}
	}
}

// A connection that carries a subscription stays watched by its reader goroutine, so that a
// push never waits for the next call: goroutine calls on it are handed their answers instead
// of reading them solo (which would leave the socket unwatched between calls).
func TestASubscribedConnectionStaysWatched(t *testing.T) {
	c := connectLocal(t, startLocal(t), func(cfg *Config) { cfg.MaxConnsPerNode, cfg.MinIdleConnsPerNode = 1, 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sid, err := c.CreateStream(ctx, "watched", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, sid, SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	conn := onlyConn(t, c)
	if !conn.subs.active() {
		t.Fatal("the subscription is not on the client's only connection")
	}
	const calls = 400
	before := conn.handoffs.Load()
	for i := 0; i < calls; i++ {
		if _, err := c.Read(ctx, sid, 0, 10); err != nil {
			t.Fatal(err)
		}
	}
	if handed := conn.handoffs.Load() - before; handed < calls*9/10 {
		t.Errorf("only %d of %d answers were handed over: the subscribed socket went unwatched between calls", handed, calls)
	}
}

// onlyConn is the one connection of a client with one node and MaxConnsPerNode 1.
func onlyConn(t *testing.T, c *Client) *conn {
	t.Helper()
	n := c.cluster.all()[0]
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(n.conns))
	}
	return n.conns[0]
}
