package pool_test

import (
	"bytes"
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

// Calls from foreign threads and from goroutines, each reading its own answer when alone on the
// connection and answered by the reader goroutine otherwise, share one connection: every answer
// reaches its own caller, every append lands once, and reads return what was written.
func TestForeignThreadCallsShareAConnection(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	cfg := testConfig(s.Addr)
	cfg.MaxConnsPerNode = 1
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 60*time.Second)
	id, err := c.CreateStream(ctx, "mixed", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wctx := ctx
		if w%2 == 0 {
			wctx = pool.OnForeignThread(ctx)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ev := []byte(fmt.Sprintf("w%d-%d", w, i))
				off, err := c.Append(wctx, id, [][]byte{ev}, pool.AppendOptions{})
				if err != nil {
					errs <- err
					return
				}
				r, err := c.Read(wctx, id, off, 1)
				if err != nil {
					errs <- err
					return
				}
				if len(r.Events) != 1 || !bytes.Equal(r.Events[0].Data, ev) {
					errs <- fmt.Errorf("read at %d: %d events, want %q", off, len(r.Events), ev)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range pooltest.ReadAll(t, c, id) {
		seen[string(e)]++
	}
	if len(seen) != workers*each {
		t.Fatalf("%d distinct events, want %d", len(seen), workers*each)
	}
	for ev, n := range seen {
		if n != 1 {
			t.Fatalf("event %q landed %d times", ev, n)
		}
	}
}

// soloKinds are the two kinds of caller that read their own answers when alone on a connection
// (readside.go): a goroutine, through the network poller, and a foreign thread, in poll(2).
var soloKinds = []struct {
	name string
	mark func(context.Context) context.Context
}{
	{"goroutine", func(ctx context.Context) context.Context { return ctx }},
	{"foreign-thread", pool.OnForeignThread},
}

// A solo read of an answer larger than the connection's read buffer arrives whole.
func TestSoloLargeAnswer(t *testing.T) {
	for _, k := range soloKinds {
		t.Run(k.name, func(t *testing.T) { testSoloLargeAnswer(t, k.mark) })
	}
}

func testSoloLargeAnswer(t *testing.T, mark func(context.Context) context.Context) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	ctx := mark(pooltest.Ctx(t, 30*time.Second))
	id, err := c.CreateStream(ctx, "large", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	big[0] = 'X'
	if _, err := c.Append(ctx, id, [][]byte{big, []byte("small")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r, err := c.Read(ctx, id, 0, 2<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Events) != 2 || !bytes.Equal(r.Events[0].Data, big) || string(r.Events[1].Data) != "small" {
			t.Fatalf("read back %d events", len(r.Events))
		}
	}
}

// A solo call into a black hole ends at its deadline, and the connection serves again once
// traffic flows.
func TestSoloBlackHoleRespectsDeadline(t *testing.T) {
	for _, k := range soloKinds {
		t.Run(k.name, func(t *testing.T) { testSoloBlackHoleRespectsDeadline(t, k.mark) })
	}
}

func testSoloBlackHoleRespectsDeadline(t *testing.T, mark func(context.Context) context.Context) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.RequestTimeout = 700 * time.Millisecond
	c := connect(t, cfg)
	ctx := mark(pooltest.Ctx(t, 10*time.Second))
	id, err := c.CreateStream(ctx, "bh", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	p.BlackHole()
	done := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := c.Read(cctx, id, 0, 100)
		done <- err
	}()
	select {
	case err := <-done:
		if !pool.IsTimeout(err) && !pool.IsRetryable(err) {
			t.Fatalf("want a timeout, got %v", err)
		}
	case <-time.After(10 * time.Second): // far beyond the deadline: a hang
		t.Fatal("a solo call is stuck on the black-holed node")
	}
	recoversThroughProxy(t, p, c, mark, id)
}

// A solo call waiting on a node that goes away gets a connection error at once, not at its
// deadline, and a later call works against the node started again.
func TestSoloSeesTheServerGo(t *testing.T) {
	for _, k := range soloKinds {
		t.Run(k.name, func(t *testing.T) { testSoloSeesTheServerGo(t, k.mark) })
	}
}

func testSoloSeesTheServerGo(t *testing.T, mark func(context.Context) context.Context) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.RetryMaxAttempts = 1
	c := connect(t, cfg)
	ctx := mark(pooltest.Ctx(t, 30*time.Second))
	id, err := c.CreateStream(ctx, "gone", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	p.BlackHole()
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx, id, 0, 100)
		done <- err
	}()
	pooltest.WaitFor(t, 10*time.Second, "the read to be in flight", func() bool { st := c.Stats(); return len(st.Nodes) > 0 && st.Nodes[0].InFlight > 0 })
	p.Reset()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read through a reset connection succeeded")
		}
	case <-time.After(8 * time.Second): // RequestTimeout is 10 s: this is well before it
		t.Fatal("the reset did not end the waiting call")
	}
	recoversThroughProxy(t, p, c, mark, id)
}

// A goroutine solo call whose context is cancelled (no deadline of its own comes close) ends at
// once, and the same connection then serves the next calls: the wait's interruption leaves
// nothing behind on the socket.
func TestSoloGoroutineCancelled(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.MaxConnsPerNode = 1
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "cancel", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("cancel-1")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		p.BlackHole()
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(cctx, id, 0, 100)
			done <- err
		}()
		pooltest.WaitFor(t, 10*time.Second, "the read to be in flight", func() bool { st := c.Stats(); return len(st.Nodes) > 0 && st.Nodes[0].InFlight > 0 })
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("round %d: want context.Canceled, got %v", round, err)
			}
		case <-time.After(5 * time.Second): // RequestTimeout is 10 s
			t.Fatalf("round %d: the cancelled read did not end", round)
		}
		p.Pass()
		for i := 0; i < 20; i++ {
			r, err := c.Read(pooltest.Ctx(t, 5*time.Second), id, 0, 100)
			if err != nil {
				t.Fatalf("round %d: read %d after the cancelled one: %v", round, i, err)
			}
			if len(r.Events) != 1 || string(r.Events[0].Data) != "cancel-1" {
				t.Fatalf("round %d: read back %d events", round, len(r.Events))
			}
		}
	}
	if st := c.Stats(); st.Nodes[0].OpenConns != 1 {
		t.Fatalf("%d connections: the cancelled reads broke theirs", st.Nodes[0].OpenConns)
	}
}

// recoversThroughProxy lets p pass traffic again and waits until a read of stream id, made the
// way mark makes it, succeeds.
func recoversThroughProxy(t *testing.T, p *faultproxy.Proxy, c *pool.Client, mark func(context.Context) context.Context, id uint64) {
	t.Helper()
	p.Pass()
	pooltest.WaitFor(t, 20*time.Second, "the client to recover", func() bool {
		_, err := c.Read(mark(pooltest.Ctx(t, 2*time.Second)), id, 0, 100)
		return err == nil
	})
}
