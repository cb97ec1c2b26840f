package pool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/tests/faultproxy"
	"github.com/kimberlite/libkimberlite/wire"
)

// sockets counts this process's open sockets.
func sockets(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// Close while calls are in flight: each finishes or fails with ErrClosed, new calls fail at
// once, and every socket is closed (goroutines are checked by TestMain).
func TestCloseWhileInFlight(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	base := sockets(t)
	cfg := testConfig(s.Addr)
	c, err := pool.Connect(pooltest.Ctx(t, 5*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "closing", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, closed int
	var others []error
	started := make(chan struct{}, 32)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				if i%2 == 0 {
					_, err = c.Append(ctx, id, [][]byte{[]byte(fmt.Sprintf("w%d-%d", w, i))}, pool.AppendOptions{})
				} else {
					_, err = c.Read(ctx, id, 0, 1<<10)
				}
				if i == 0 {
					started <- struct{}{}
				}
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, pool.ErrClosed):
					closed++
				default:
					others = append(others, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	for i := 0; i < 32; i++ {
		<-started
	}
	if err := c.Close(pooltest.Ctx(t, 10*time.Second)); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if len(others) > 0 || closed != 32 || ok == 0 {
		t.Fatalf("ok %d, closed %d, other errors %v", ok, closed, others)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
	_, err = c.Append(ctx, id, [][]byte{[]byte("late")}, pool.AppendOptions{})
	var e *pool.Error
	if !errors.As(err, &e) || e.Kind != pool.KindClosed {
		t.Fatalf("call after close: %v", err)
	}
	if err := c.Ping(ctx); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("ping after close: %v", err)
	}
	pooltest.WaitFor(t, 10*time.Second, "sockets to close", func() bool { return sockets(t) <= base })
}

// When Close's context ends first, calls still in flight fail with KindClosed and Close
// still returns with everything released.
func TestCloseCutsStuckCalls(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.HealthCheckPeriod = 0 // keep the stuck connection: only Close may end the calls
	cfg.RequestTimeout = time.Minute
	c, err := pool.Connect(pooltest.Ctx(t, 5*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.BlackHole()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := c.Append(context.Background(), 1, [][]byte{[]byte("stuck")}, pool.AppendOptions{})
			errs <- err
		}()
	}
	pooltest.WaitFor(t, 10*time.Second, "calls in flight", func() bool {
		st := c.Stats()
		return st.Nodes[0].InFlight > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Close(ctx)
	if !pool.IsTimeout(err) {
		t.Fatalf("close cut short: %v", err)
	}
	for i := 0; i < 8; i++ {
		select {
		case err := <-errs:
			var e *pool.Error
			if !errors.As(err, &e) || e.Kind != pool.KindClosed {
				t.Fatalf("stuck call: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a call is still stuck after Close returned")
		}
	}
}
