package pool_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// appendNumbered appends events "prefix-<i>" for i in [from, to) in batches of batch.
func appendNumbered(t testing.TB, c *pool.Client, sid uint64, prefix string, from, to, batch int) {
	t.Helper()
	if err := appendNumberedErr(pooltest.Ctx(t, 30*time.Second), c, sid, prefix, from, to, batch); err != nil {
		t.Fatal(err)
	}
}

func appendNumberedErr(ctx context.Context, c *pool.Client, sid uint64, prefix string, from, to, batch int) error {
	for i := from; i < to; i += batch {
		evs := make([][]byte, 0, batch)
		for j := i; j < min(i+batch, to); j++ {
			evs = append(evs, []byte(fmt.Sprintf("%s-%d", prefix, j)))
		}
		if _, err := c.Append(ctx, sid, evs, pool.AppendOptions{}); err != nil {
			return fmt.Errorf("append at %d: %w", i, err)
		}
	}
	return nil
}

// receive takes events from s until NextOffset reaches end, checking each is the next offset
// and carries "prefix-<offset>".
func receive(t testing.TB, s *pool.Subscription, prefix string, end uint64) {
	t.Helper()
	ctx := pooltest.Ctx(t, 30*time.Second)
	want := s.NextOffset()
	for want < end {
		batch, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("next at %d: %v", want, err)
		}
		if len(batch) == 0 {
			t.Fatal("Next returned an empty batch")
		}
		for _, e := range batch {
			if e.Offset != want || string(e.Data) != fmt.Sprintf("%s-%d", prefix, want) {
				t.Fatalf("event %d %q, want offset %d", e.Offset, e.Data, want)
			}
			want++
		}
		if s.NextOffset() != want {
			t.Fatalf("NextOffset %d after offset %d", s.NextOffset(), want-1)
		}
	}
}

func subscribe(t testing.TB, c *pool.Client, sid uint64, opts pool.SubscribeOptions) *pool.Subscription {
	t.Helper()
	s, err := c.Subscribe(pooltest.Ctx(t, 10*time.Second), sid, opts)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSubscribeFollowsTheStream(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(srv.Addr))
	ctx := pooltest.Ctx(t, 30*time.Second)
	sid, err := c.CreateStream(ctx, "follow", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	appendNumbered(t, c, sid, "e", 0, 10, 5)
	s := subscribe(t, c, sid, pool.SubscribeOptions{From: 3, Credits: 16})
	if s.ID() == 0 || s.CloseReason() != "" {
		t.Fatalf("id %d, close reason %q", s.ID(), s.CloseReason())
	}
	receive(t, s, "e", 10)
	// Events appended later arrive too, far more than the credit window: credits are refilled.
	appended := make(chan error, 1)
	go func() { appended <- appendNumberedErr(ctx, c, sid, "e", 10, 2010, 50) }()
	receive(t, s, "e", 2010)
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Subscriptions != 1 {
		t.Fatalf("Stats.Subscriptions = %d, want 1", st.Subscriptions)
	}
	if cr := s.Credits(); cr > 16 {
		t.Fatalf("the server holds %d credits, above the window of 16", cr)
	}
	// A deadline while waiting is only a timeout: the subscription goes on.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = s.Next(short)
	cancel()
	if !errors.Is(err, pool.ErrTimeout) {
		t.Fatalf("Next past its deadline: %v, want a timeout", err)
	}
	appendNumbered(t, c, sid, "e", 2010, 2011, 1)
	receive(t, s, "e", 2011)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // idempotent
	_, err = s.Next(ctx)
	var e *pool.Error
	if !errors.As(err, &e) || e.Kind != pool.KindSubscriptionClosed || !errors.Is(err, pool.ErrSubscriptionClosed) || s.CloseReason() != "ClientCancelled" {
		t.Fatalf("Next after Close: %v (reason %q), want KindSubscriptionClosed", err, s.CloseReason())
	}
	pooltest.WaitFor(t, 10*time.Second, "Stats.Subscriptions to drop", func() bool { return c.Stats().Subscriptions == 0 })
}

func TestSubscribeRefused(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(srv.Addr))
	other := wire.StreamID(77, 1)
	_, err := c.Subscribe(pooltest.Ctx(t, 10*time.Second), other, pool.SubscribeOptions{})
	if code, ok := pool.ServerCode(err); !ok || code != wire.ErrStreamNotFound {
		t.Fatalf("subscribe to another tenant's stream: %v, want StreamNotFound", err)
	}
	if _, err := c.Subscribe(pooltest.Ctx(t, 10*time.Second), 1, pool.SubscribeOptions{Credits: 4, LowWater: 5}); !errors.Is(err, pool.ErrInvalidArgument) {
		t.Fatalf("LowWater above Credits: %v", err)
	}
	if st := c.Stats(); st.Subscriptions != 0 {
		t.Fatalf("Stats.Subscriptions = %d after refusals", st.Subscriptions)
	}
}

// Close wakes a Next that is waiting.
func TestSubscriptionCloseWakesNext(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(srv.Addr))
	sid, err := c.CreateStream(pooltest.Ctx(t, 10*time.Second), "idle", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, c, sid, pool.SubscribeOptions{})
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background())
		errc <- err
	}()
	_ = s.Close()
	if err := <-errc; !errors.Is(err, pool.ErrSubscriptionClosed) {
		t.Fatalf("blocked Next after Close: %v", err)
	}
}

// The server restarts between events: the subscription resubscribes by itself and delivers
// every event once, in order.
func TestSubscribeSurvivesServerRestart(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	addr, dir := srv.Addr, srv.dir
	c := connect(t, testConfig(addr))
	sid, err := c.CreateStream(pooltest.Ctx(t, 10*time.Second), "restart", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	appendNumbered(t, c, sid, "r", 0, 100, 10)
	s := subscribe(t, c, sid, pool.SubscribeOptions{Credits: 8})
	receive(t, s, "r", 30) // the rest is in flight or not yet pushed when the server stops
	srv.Stop()
	startServer(t, addr, dir, server.Options{})
	appendNumbered(t, c, sid, "r", 100, 150, 10)
	receive(t, s, "r", 150)
	if st := c.Stats(); st.Resubscribes < 1 {
		t.Fatalf("Stats.Resubscribes = %d after a restart", st.Resubscribes)
	}
	if s.CloseReason() != "" {
		t.Fatalf("closed: %q", s.CloseReason())
	}
}

// One client holds 1,000 subscriptions on one server, each receiving its own stream's events.
// The server takes at most 300 per connection: the client spreads them over connections.
func TestThousandSubscriptions(t *testing.T) {
	srv := startServer(t, "", "", server.Options{MaxSubscriptionsPerConn: 300})
	c := connect(t, testConfig(srv.Addr))
	ctx := pooltest.Ctx(t, 60*time.Second)
	const streams, perStream = 10, 100
	sids := make([]uint64, streams)
	for i := range sids {
		var err error
		if sids[i], err = c.CreateStream(ctx, fmt.Sprintf("many-%d", i), wire.DataClassPublic, wire.PlacementGlobal); err != nil {
			t.Fatal(err)
		}
	}
	subs := make([]*pool.Subscription, 0, streams*perStream)
	for i := range streams * perStream {
		subs = append(subs, subscribe(t, c, sids[i%streams], pool.SubscribeOptions{Credits: 4}))
	}
	if st := c.Stats(); st.Subscriptions != streams*perStream || st.Nodes[0].OpenConns < 4 {
		t.Fatalf("Stats.Subscriptions = %d on %d connections, want 1000 on at least 4", st.Subscriptions, st.Nodes[0].OpenConns)
	}
	for i, sid := range sids {
		if _, err := c.Append(ctx, sid, [][]byte{[]byte(fmt.Sprintf("s%d-0", i))}, pool.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range subs {
		receive(t, s, fmt.Sprintf("s%d", i%streams), 1)
	}
}

// GrantCredits adds to what the server holds; it is refused after Close.
func TestSubscriptionGrantCredits(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(srv.Addr))
	sid, err := c.CreateStream(pooltest.Ctx(t, 10*time.Second), "grant", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, c, sid, pool.SubscribeOptions{Credits: 4})
	if got := s.Credits(); got != 4 {
		t.Fatalf("Credits() = %d on an idle stream, want the window of 4", got)
	}
	if err := s.GrantCredits(100); err != nil {
		t.Fatal(err)
	}
	if got := s.Credits(); got != 104 {
		t.Fatalf("Credits() = %d after granting 100, want 104", got)
	}
	if err := s.GrantCredits(0); !errors.Is(err, pool.ErrInvalidArgument) {
		t.Fatalf("GrantCredits(0): %v", err)
	}
	appendNumbered(t, c, sid, "g", 0, 50, 10)
	receive(t, s, "g", 50)
	_ = s.Close()
	if err := s.GrantCredits(1); !errors.Is(err, pool.ErrSubscriptionClosed) {
		t.Fatalf("GrantCredits after Close: %v", err)
	}
}

// Closing the client closes its subscriptions.
func TestClientCloseEndsSubscriptions(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	c, err := pool.Connect(pooltest.Ctx(t, 10*time.Second), testConfig(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.CreateStream(pooltest.Ctx(t, 10*time.Second), "closing", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(pooltest.Ctx(t, 10*time.Second), sid, pool.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, pool.ErrSubscriptionClosed) || s.CloseReason() != "ClientClosed" {
		t.Fatalf("Next after the client closed: %v (reason %q)", err, s.CloseReason())
	}
	_ = s.Close()
	if _, err := c.Subscribe(context.Background(), sid, pool.SubscribeOptions{}); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("Subscribe on a closed client: %v", err)
	}
}

// A call that reads its own answer (a foreign thread alone on the connection) may read a push
// for a subscription on the same connection together with its answer: the push must reach the
// subscription then, not wait for the next bytes from the server.
func TestPushReadWithASoloAnswerIsDelivered(t *testing.T) {
	srv := startServer(t, "", "", server.Options{})
	cfg := testConfig(srv.Addr)
	cfg.MaxConnsPerNode = 1 // the subscription and the calls share one connection
	cfg.HealthCheckPeriod = 0
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 60*time.Second)
	sid, err := c.CreateStream(ctx, "solo-push", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, c, sid, pool.SubscribeOptions{Credits: 1024})
	solo := pool.OnForeignThread(ctx)
	for i := 0; i < 200; i++ {
		ev := fmt.Sprintf("solo-%d", i)
		if _, err := c.Append(solo, sid, [][]byte{[]byte(ev)}, pool.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		// Nothing else is sent, so no later bytes would bring a push left in a buffer.
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := s.Next(wait)
		cancel()
		if err != nil {
			t.Fatalf("event %d appended and acknowledged, but not pushed: %v", i, err)
		}
		if len(batch) != 1 || string(batch[0].Data) != ev {
			t.Fatalf("event %d: got %d events, first %q", i, len(batch), batch[0].Data)
		}
	}
}
