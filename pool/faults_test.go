package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/tests/faultproxy"
	"github.com/kimberlite/libkimberlite/wire"
)

// A black-holed node never holds a call past its deadline, whether the deadline comes from the
// context or from RequestTimeout, and the client recovers by itself once traffic flows again.
func TestBlackHoleRespectsDeadline(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.ConnectTimeout = 300 * time.Millisecond
	cfg.RequestTimeout = 700 * time.Millisecond
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 10*time.Second)
	id, err := c.CreateStream(ctx, "bh", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("warm")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	p.BlackHole()

	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"context deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 400*time.Millisecond)
		}},
		{"RequestTimeout", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
	} {
		cctx, cancel := tc.ctx()
		done := make(chan error, 2)
		go func() {
			_, err := c.Read(cctx, id, 0, 100)
			done <- err
		}()
		go func() {
			_, err := c.Append(cctx, id, [][]byte{[]byte("x")}, pool.AppendOptions{})
			// Sent into the black hole: it may or may not be applied, and the error says so.
			if !errors.Is(err, pool.ErrOutcomeUnknown) || pool.IsRetryable(err) {
				err = fmt.Errorf("append into a black hole: want an unknown outcome, got %w", err)
			}
			done <- err
		}()
		for i := 0; i < 2; i++ {
			select {
			case err := <-done:
				// A timeout, or the last retryable error when too little time or retry budget was
				// left to try again; for the append, its unknown outcome (checked above).
				if !pool.IsTimeout(err) && !pool.IsRetryable(err) && !errors.Is(err, pool.ErrOutcomeUnknown) {
					t.Fatalf("%s: want a timeout, got %v", tc.name, err)
				}
			case <-time.After(10 * time.Second): // far beyond any deadline above: a hang
				t.Fatalf("%s: a call is stuck on the black-holed node", tc.name)
			}
		}
		cancel()
	}

	p.Pass()
	pooltest.WaitFor(t, 20*time.Second, "the client to recover", func() bool {
		_, err := c.Append(pooltest.Ctx(t, 2*time.Second), id, [][]byte{[]byte("y")}, pool.AppendOptions{})
		return err == nil
	})
	// The appends that timed out may or may not have landed, but none twice.
	got := pooltest.ReadAll(t, c, id)
	seen := map[string]int{}
	for _, e := range got {
		seen[string(e)]++
	}
	if seen["x"] > 2 || seen["y"] < 1 || seen["warm"] != 1 {
		t.Fatalf("stream after black hole: %q", got)
	}
}

// A black-holed seed fails Connect at its deadline, with the dial error.
func TestConnectToBlackHole(t *testing.T) {
	p := faultproxy.New(t, "127.0.0.1:1")
	p.BlackHole()
	cfg := testConfig(p.Addr())
	cfg.ConnectTimeout = 300 * time.Millisecond
	_, err := pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
	var e *pool.Error
	if !errors.As(err, &e) || e.Kind != pool.KindConnection || e.LastDialErr == nil {
		t.Fatalf("connect to a black hole: %v", err)
	}
}

// twoPaths starts one server reachable through two proxies: two "nodes" for the client.
func twoPaths(t *testing.T) (*faultproxy.Proxy, *faultproxy.Proxy, *pool.Client, uint64) {
	s := startServer(t, "", "", server.Options{})
	p1, p2 := faultproxy.New(t, s.Addr), faultproxy.New(t, s.Addr)
	cfg := testConfig(p1.Addr(), p2.Addr())
	cfg.ReadFrom = pool.ReadAnyHealthy
	c := connect(t, cfg)
	id, err := c.CreateStream(pooltest.Ctx(t, 10*time.Second), "paths", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	return p1, p2, c, id
}

func leaderProxy(t *testing.T, c *pool.Client, ps ...*faultproxy.Proxy) *faultproxy.Proxy {
	t.Helper()
	var found *faultproxy.Proxy
	pooltest.WaitFor(t, 10*time.Second, "a leader", func() bool {
		l := c.Stats().Leader
		for _, p := range ps {
			if p.Addr() == l {
				found = p
			}
		}
		return found != nil
	})
	return found
}

// Resets surface as retryable connection errors; with retries on, the same call succeeds
// through the other path.
func TestResetIsRetryableAndSucceedsElsewhere(t *testing.T) {
	p1, p2, c, id := twoPaths(t)
	ctx := pooltest.Ctx(t, 20*time.Second)
	if _, err := c.Append(ctx, id, [][]byte{[]byte("warm")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	bad := leaderProxy(t, c, p1, p2)
	bad.Reset()
	off, err := c.Append(ctx, id, [][]byte{[]byte("after-reset")}, pool.AppendOptions{})
	if err != nil {
		t.Fatalf("append across a reset: %v", err)
	}
	for i := 0; i < 20; i++ {
		if _, err := c.Read(ctx, id, 0, 1<<10); err != nil {
			t.Fatalf("read with one path resetting: %v", err)
		}
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != 2 || string(got[off]) != "after-reset" {
		t.Fatalf("stream: %q (append returned %d)", got, off)
	}

	// Without retries, the error itself says it is worth retrying.
	good := p1
	if bad == p1 {
		good = p2
	}
	good.Reset()
	cfg := testConfig(bad.Addr())
	cfg.RetryMaxAttempts = 1
	bad.Pass()
	one := connect(t, cfg)
	bad.Reset()
	_, err = one.Read(ctx, id, 0, 100)
	if !pool.IsRetryable(err) || !errors.Is(err, pool.ErrConnection) && !errors.Is(err, pool.ErrClusterUnavailable) {
		t.Fatalf("read through a reset without retries: %v (retryable %v)", err, pool.IsRetryable(err))
	}
}

// A response cut in the middle is a retryable connection error. For an append it leaves the
// outcome unknown: the client reads the stream back and finds its events, so the call succeeds
// and nothing is appended twice.
func TestHalfWrittenResponse(t *testing.T) {
	p1, p2, c, id := twoPaths(t)
	ctx := pooltest.Ctx(t, 20*time.Second)
	if _, err := c.Append(ctx, id, [][]byte{[]byte("warm")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	bad := leaderProxy(t, c, p1, p2)
	// A new connection's handshake answer (43 bytes) passes; the next response is cut.
	bad.CloseAfter(50)
	for i := 0; i < 5; i++ {
		off, err := c.Append(ctx, id, [][]byte{[]byte(fmt.Sprintf("ev%d", i))}, pool.AppendOptions{})
		if err != nil {
			t.Fatalf("append %d with responses cut on one path: %v", i, err)
		}
		if off != uint64(i+1) {
			t.Fatalf("append %d at offset %d", i, off)
		}
	}
	// With an expected offset: the re-sent request meets the first one's events and must not
	// report OffsetMismatch for an append that was applied.
	for i := 6; i < 9; i++ {
		exp := uint64(i)
		off, err := c.Append(ctx, id, [][]byte{[]byte(fmt.Sprintf("ev%d", i))}, pool.AppendOptions{ExpectedOffset: &exp})
		if err != nil || off != exp {
			t.Fatalf("conditional append at %d with responses cut: %d %v", exp, off, err)
		}
	}
	if bad.Cuts() == 0 {
		t.Fatal("no response was cut: the test did not test anything")
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != 9 {
		t.Fatalf("stream has %d events, want 9 (nothing duplicated): %q", len(got), got)
	}
	if c.Stats().RetriesCount == 0 && c.Stats().RedirectsCount == 0 {
		t.Fatalf("no retry recorded: %+v", c.Stats())
	}
}

// Many goroutines calling a node that accepts connections but never answers must not open a
// flood of connections: dials are capped per node and paced after failures.
func TestReconnectStormIsCapped(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.ConnectTimeout = 300 * time.Millisecond
	c := connect(t, cfg)
	if err := c.Ping(pooltest.Ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	openBefore, acceptedBefore := p.Open(), p.Accepted()
	p.BlackHole()
	p.ResetMaxOpen()
	const workers, rounds = 64, 3
	var wg sync.WaitGroup
	var calls, bad int64
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := c.Read(ctx, 1, 0, 100)
				cancel()
				mu.Lock()
				calls++
				if err == nil || !pool.IsRetryable(err) {
					bad++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if bad != 0 {
		t.Fatalf("%d calls to a black hole did not fail with a retryable error", bad)
	}
	dials := p.Accepted() - acceptedBefore
	// One more than the dials allowed: a connection the client just closed may not have been
	// seen closing by the proxy yet when the next dial arrives.
	if max := p.MaxOpen(); max > openBefore+int64(cfg.MaxDialsPerNode)+1 {
		t.Fatalf("%d connections open at once (before: %d, MaxDialsPerNode %d)", max, openBefore, cfg.MaxDialsPerNode)
	}
	if dials >= calls/2 {
		t.Fatalf("%d dials for %d calls: a reconnect storm", dials, calls)
	}
	st := c.Stats()
	if st.Nodes[0].DialFailuresCount == 0 {
		t.Fatalf("dial failures not counted: %+v", st.Nodes[0])
	}
	p.Pass()
	pooltest.WaitFor(t, 20*time.Second, "recovery", func() bool { return c.Ping(pooltest.Ctx(t, 2*time.Second)) == nil })
}

// The answer to an applied append is cut in the middle. The client must not send it again
// blindly: it reads the stream back, finds its events and reports success, for appends at the
// tail and for conditional ones (which would otherwise see OffsetMismatch from their own
// events).
func TestUnknownOutcomeResolvedByReading(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.HealthCheckPeriod = 0 // only the append's own traffic crosses the proxy
	cfg.MinIdleConnsPerNode = 0
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "unknown", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("warm")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, explicit := range []bool{false, true} {
		cuts := p.Cuts()
		p.CloseAfter(10) // the append's 19-byte answer is cut; so is any new handshake
		type res struct {
			off uint64
			err error
		}
		done := make(chan res, 1)
		go func() {
			var opts pool.AppendOptions
			if explicit {
				exp := uint64(1 + i)
				opts.ExpectedOffset = &exp
			}
			off, err := c.Append(ctx, id, [][]byte{[]byte(fmt.Sprintf("once-%d", i))}, opts)
			done <- res{off, err}
		}()
		pooltest.WaitFor(t, 10*time.Second, "the answer to be cut", func() bool { return p.Cuts() > cuts })
		p.Pass()
		r := <-done
		if r.err != nil || r.off != uint64(1+i) {
			t.Fatalf("explicit=%v: append whose answer was lost: %d %v", explicit, r.off, r.err)
		}
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != 3 || string(got[1]) != "once-0" || string(got[2]) != "once-1" {
		t.Fatalf("stream: %q", got)
	}
}

// With no retry budget, an outage costs one attempt per call: retries cannot multiply the load.
func TestRetryBudgetExhausted(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.RetryBudgetRatio = 0
	cfg.RetryBudgetMinPerSec = 0
	cfg.HealthCheckPeriod = 0
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 10*time.Second)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.CloseAfter(0) // every answer is lost
	for i := 0; i < 5; i++ {
		err := c.Ping(ctx)
		var e *pool.Error
		if !errors.As(err, &e) || !pool.IsRetryable(err) || e.Attempts > 1 {
			t.Fatalf("ping %d during the outage: %#v", i, err)
		}
	}
	if st := c.Stats(); st.RetriesCount != 0 || st.ErrorsCount["connection"]+st.ErrorsCount["cluster_unavailable"] != 5 {
		t.Fatalf("stats after the outage: retries %d, errors %v", st.RetriesCount, st.ErrorsCount)
	}
	p.Pass()
	pooltest.WaitFor(t, 10*time.Second, "recovery", func() bool { return c.Ping(ctx) == nil })
}
