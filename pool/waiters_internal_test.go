package pool

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/tests/faultproxy"
)

// Calls that time out leave nothing behind: no waiter in any connection's table and no in-flight
// slot held, before their answers arrive; the late answers are dropped.
func TestTimeoutsLeaveNoWaiters(t *testing.T) {
	p := faultproxy.New(t, startLocal(t))
	c := connectLocal(t, p.Addr(), nil)

	p.Delay(500 * time.Millisecond)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := c.Ping(ctx); !IsTimeout(err) {
				t.Errorf("ping through a slow link: %v", err)
			}
		}()
	}
	wg.Wait()
	// The answers are still on their way: the timed-out calls must already be forgotten.
	for _, n := range c.cluster.all() {
		n.mu.Lock()
		for _, cn := range n.conns {
			cn.mu.Lock()
			if len(cn.pending) != 0 || cn.inFlight.Load() != 0 {
				t.Errorf("connection keeps %d waiters and %d in-flight slots", len(cn.pending), cn.inFlight.Load())
			}
			cn.mu.Unlock()
		}
		n.mu.Unlock()
	}
	// The late answers arrive and are dropped; the connection keeps working.
	p.Pass()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
