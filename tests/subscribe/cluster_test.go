// Package subscribe_test runs subscriptions of the Go client against real `kimberlite` server
// processes: failover in a 3-node cluster, and a subscriber that stops reading.
package subscribe_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// callDeadline is every call's deadline in these tests; a call may return at most deadlineSlack
// after it.
const (
	callDeadline  = 20 * time.Second
	deadlineSlack = time.Second
)

func clientConfig(addrs []string) pool.Config {
	cfg := pool.DefaultConfig()
	cfg.Addresses = addrs
	cfg.ConnectTimeout = 2 * time.Second
	cfg.RequestTimeout = 20 * time.Second
	cfg.HealthCheckPeriod = 100 * time.Millisecond
	cfg.RetryInitialBackoff = 5 * time.Millisecond
	cfg.RetryMaxBackoff = 200 * time.Millisecond
	return cfg
}

func connect(t *testing.T, cfg pool.Config) *pool.Client {
	t.Helper()
	c, err := pool.Connect(pooltest.Ctx(t, 20*time.Second), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// writer appends distinct one-event batches until stopped; appends whose outcome is unknown are
// settled by reading the stream back at the end.
type writer struct {
	mu   sync.Mutex
	sent int
	err  error
}

func (w *writer) run(ctx context.Context, c *pool.Client, sid uint64, stop <-chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		actx, cancel := context.WithTimeout(ctx, callDeadline)
		began := time.Now()
		_, err := c.Append(actx, sid, [][]byte{[]byte(fmt.Sprintf("w-%d", k))}, pool.AppendOptions{})
		took := time.Since(began)
		cancel()
		w.mu.Lock()
		w.sent++
		if took > callDeadline+deadlineSlack && w.err == nil {
			w.err = fmt.Errorf("append %d returned %v after its %v deadline", k, took-callDeadline, callDeadline)
		}
		if err != nil && !errors.Is(err, pool.ErrOutcomeUnknown) && w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent
}

// A subscriber follows a stream while a writer appends; the node serving the subscription is
// killed, then the leader. Every committed event is delivered exactly once, in order, no Next
// fails (each has a 20 s deadline) and no call returns past its deadline.
func TestSubscriptionSurvivesNodeAndLeaderKill(t *testing.T) {
	cl := testserver.StartCluster(t, 3)
	cl.WaitLeader(20 * time.Second)
	wc := connect(t, clientConfig(cl.Addrs()))
	scfg := clientConfig(cl.Addrs())
	scfg.ReadFrom = pool.ReadAnyHealthy // the subscription may sit on a follower
	sc := connect(t, scfg)
	ctx := pooltest.Ctx(t, 120*time.Second)
	sid, err := wc.CreateStream(ctx, "failover", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := sc.Subscribe(ctx, sid, pool.SubscribeOptions{Credits: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var got []string
	var nextErr error
	received := make(chan struct{})
	var gotMu sync.Mutex
	go func() {
		defer close(received)
		for {
			nctx, cancel := context.WithTimeout(ctx, callDeadline)
			began := time.Now()
			batch, err := sub.Next(nctx)
			cancel()
			if took := time.Since(began); took > callDeadline+deadlineSlack {
				nextErr = fmt.Errorf("Next returned %v after its deadline", took-callDeadline)
				return
			}
			if err != nil {
				if !errors.Is(err, pool.ErrSubscriptionClosed) {
					nextErr = err
				}
				return
			}
			gotMu.Lock()
			for _, e := range batch {
				if e.Offset != uint64(len(got)) {
					nextErr = fmt.Errorf("event at offset %d after %d events", e.Offset, len(got))
				}
				got = append(got, string(e.Data))
			}
			gotMu.Unlock()
		}
	}()
	gotCount := func() int {
		gotMu.Lock()
		defer gotMu.Unlock()
		return len(got)
	}

	w := &writer{}
	stop := make(chan struct{})
	written := make(chan struct{})
	go func() { defer close(written); w.run(ctx, wc, sid, stop) }()
	progress := func(what string) {
		n := gotCount()
		pooltest.WaitFor(t, 30*time.Second, what, func() bool { return gotCount() >= n+50 })
	}
	progress("events before the first kill")

	nodeIndex := func(addr string) int { return slices.Index(cl.Addrs(), addr) }
	var serving int
	pooltest.WaitFor(t, 10*time.Second, "the subscription's node", func() bool {
		serving = nodeIndex(sub.Node())
		return serving >= 0
	})
	t.Logf("killing node %d, which serves the subscription", serving+1)
	cl.Kill(serving)
	progress("events after the serving node was killed")
	cl.Restart(serving)
	leader := cl.WaitLeader(20 * time.Second)
	t.Logf("killing node %d, the leader (the subscription is on node %d)", leader+1, nodeIndex(sub.Node())+1)
	cl.Kill(leader)
	progress("events after the leader was killed")
	cl.Restart(leader)
	progress("events after the restart")

	close(stop)
	<-written
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	stream := pooltest.ReadAll(t, wc, sid)
	pooltest.WaitFor(t, 30*time.Second, "the subscriber to catch up", func() bool { return gotCount() >= len(stream) })
	_ = sub.Close()
	<-received
	if nextErr != nil {
		t.Fatalf("subscriber: %v", nextErr)
	}
	seen := map[string]bool{}
	for i, e := range stream {
		if seen[string(e)] {
			t.Fatalf("event %q appears twice in the stream", e)
		}
		seen[string(e)] = true
		if i >= len(got) || got[i] != string(e) {
			t.Fatalf("offset %d: subscriber got %q, stream has %q", i, got[min(i, len(got)-1)], e)
		}
	}
	if len(got) != len(stream) {
		t.Fatalf("subscriber got %d events, the stream has %d", len(got), len(stream))
	}
	st := sc.Stats()
	t.Logf("%d appends, %d events delivered, %d resubscribes", w.count(), len(got), st.Resubscribes)
	if st.Resubscribes < 1 {
		t.Fatalf("Stats.Resubscribes = %d after the serving node died", st.Resubscribes)
	}
}
