package pool_test

import (
	"context"
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

// detachSetup is a client whose only path to the server is a fault proxy, with a stream.
func detachSetup(t *testing.T) (*faultproxy.Proxy, *pool.Client, uint64) {
	t.Helper()
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.HealthCheckPeriod = 0 // only the calls' own traffic crosses the proxy
	c := connect(t, cfg)
	id, err := c.CreateStream(pooltest.Ctx(t, 10*time.Second), "detach", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	return p, c, id
}

// A call that ends within its patience is done by its first run; nothing is left to resume.
func TestDetachFastCallEndsOnItsThread(t *testing.T) {
	_, c, id := detachSetup(t)
	d := pool.NewDetach(context.Background(), 10*time.Second)
	off, err := c.Append(d.Context(), id, [][]byte{[]byte("quick")}, pool.AppendOptions{})
	if err != nil || off != 0 || d.Left(err) {
		t.Fatalf("append: %d %v (left %v)", off, err, d.Left(err))
	}
	r, err := c.Read(pool.NewDetach(context.Background(), 10*time.Second).Context(), id, 0, 1<<10)
	if err != nil || len(r.Events) != 1 || string(r.Events[0].Data) != "quick" {
		t.Fatalf("read: %+v %v", r, err)
	}
}

// Appends whose first runs leave their thread while their requests are on the way (the proxy
// holds every byte back longer than the patience) are finished by their second runs: every
// event is in the stream exactly once, at the offset its call returned, including appends that
// waited in the stream's queue behind another.
func TestDetachedAppendsLandExactlyOnce(t *testing.T) {
	p, c, id := detachSetup(t)
	p.Delay(300 * time.Millisecond)
	const writers = 6
	type outcome struct {
		off uint64
		err error
	}
	out := make([]outcome, writers)
	var wg sync.WaitGroup
	left := 0
	var mu sync.Mutex
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ev := [][]byte{[]byte(fmt.Sprintf("detached-%d", i))}
			d := pool.NewDetach(context.Background(), 50*time.Millisecond)
			off, err := c.Append(d.Context(), id, ev, pool.AppendOptions{})
			if d.Left(err) {
				mu.Lock()
				left++
				mu.Unlock()
				ctx, cancel := d.Resume()
				off, err = c.Append(ctx, id, ev, pool.AppendOptions{})
				cancel()
			}
			out[i] = outcome{off, err}
		}(i)
	}
	wg.Wait()
	if left == 0 {
		t.Fatal("no first run left its thread: the proxy's delay did not hold the answers back")
	}
	p.Pass()
	got := pooltest.ReadAll(t, c, id)
	if len(got) != writers {
		t.Fatalf("%d events in the stream for %d appends: %q", len(got), writers, got)
	}
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("append %d: %v", i, o.err)
		}
		if want := fmt.Sprintf("detached-%d", i); string(got[o.off]) != want {
			t.Fatalf("append %d returned offset %d, which holds %q", i, o.off, got[o.off])
		}
	}
	if st := c.Stats(); st.ErrorsCount["timeout"] != 0 || st.OperationsCount["append"] != writers {
		t.Errorf("stats: %d timeouts, %d appends for %d calls: a run that leaves its thread is not an outcome",
			st.ErrorsCount["timeout"], st.OperationsCount["append"], writers)
	}
}

// An append with an expected offset keeps it through the hand-over: its second run writes
// there or nowhere.
func TestDetachedConditionalAppend(t *testing.T) {
	p, c, id := detachSetup(t)
	p.Delay(300 * time.Millisecond)
	exp := uint64(0)
	d := pool.NewDetach(context.Background(), 30*time.Millisecond)
	ev := [][]byte{[]byte("conditional")}
	_, err := c.Append(d.Context(), id, ev, pool.AppendOptions{ExpectedOffset: &exp})
	if !d.Left(err) {
		t.Fatalf("the first run did not leave: %v", err)
	}
	ctx, cancel := d.Resume()
	defer cancel()
	off, err := c.Append(ctx, id, ev, pool.AppendOptions{ExpectedOffset: &exp})
	if err != nil || off != 0 {
		t.Fatalf("second run: %d %v", off, err)
	}
	p.Pass()
	if got := pooltest.ReadAll(t, c, id); len(got) != 1 || string(got[0]) != "conditional" {
		t.Fatalf("stream: %q", got)
	}
}

// Interrupt makes the first run leave at once, long before its patience or its deadline; a
// read is then simply made again.
func TestDetachInterrupt(t *testing.T) {
	p, c, id := detachSetup(t)
	if _, err := c.Append(pooltest.Ctx(t, 10*time.Second), id, [][]byte{[]byte("one")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Delay(2 * time.Second)
	// The answer comes (after about 4 s) long before the patience ends: without Interrupt the
	// first run would end with it, which is not a run that left.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d := pool.NewDetach(ctx, time.Minute)
	go func() {
		pooltest.WaitFor(t, 10*time.Second, "the read to be in flight", func() bool {
			for _, n := range c.Stats().Nodes {
				if n.InFlight > 0 {
					return true
				}
			}
			return false
		})
		d.Interrupt()
	}()
	_, err := c.Read(d.Context(), id, 0, 1<<10)
	if !d.Left(err) {
		t.Fatalf("the interrupted read did not leave: %v", err)
	}
	p.Pass()
	rctx, rcancel := d.Resume()
	defer rcancel()
	r, err := c.Read(rctx, id, 0, 1<<10)
	if err != nil || len(r.Events) != 1 || string(r.Events[0].Data) != "one" {
		t.Fatalf("second run: %+v %v", r, err)
	}
}
