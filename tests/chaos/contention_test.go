package chaos_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// Clients sharing one stream, each appending at the end with no expected offset, collide on
// the tail all the time. For 10 s per case: no call fails (OffsetMismatch never reaches a caller
// that gave no offset), and every event is in the stream exactly once.
func TestSharedStreamAppendsAtTheEnd(t *testing.T) {
	srv := testserver.StartServer(t)
	for _, clients := range []int{2, 4, 8} {
		t.Run(fmt.Sprintf("%d clients", clients), func(t *testing.T) {
			cfg := pool.DefaultConfig()
			cfg.Addresses = []string{srv.Addr}
			name := fmt.Sprintf("shared-%d", clients)
			var sid uint64
			cs := make([]*pool.Client, clients)
			for k := range cs {
				c, err := pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close(context.Background()) })
				if sid, err = c.CreateStream(pooltest.Ctx(t, 10*time.Second), name, wire.DataClassPublic, wire.PlacementGlobal); err != nil {
					t.Fatal(err)
				}
				cs[k] = c
			}
			var mu sync.Mutex
			var sent []string
			var failures []error
			var wg sync.WaitGroup
			start := time.Now()
			deadline := start.Add(10 * time.Second)
			for k, c := range cs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; time.Now().Before(deadline); i++ {
						ev := fmt.Sprintf("c%d-%d", k, i)
						_, err := c.Append(pooltest.Ctx(t, 30*time.Second), sid, [][]byte{[]byte(ev)}, pool.AppendOptions{})
						mu.Lock()
						if err != nil {
							failures = append(failures, err)
						} else {
							sent = append(sent, ev)
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			for i, err := range failures {
				if i < 5 {
					t.Errorf("append failed: %v", err)
				}
			}
			if len(failures) > 0 {
				t.Errorf("%d appends failed", len(failures))
			}
			seen := map[string]int{}
			for _, ev := range pooltest.ReadAll(t, cs[0], sid) {
				seen[string(ev)]++
			}
			for _, ev := range sent {
				if seen[ev] != 1 {
					t.Errorf("%q is in the stream %d times", ev, seen[ev])
				}
			}
			if len(seen) != len(sent) {
				t.Errorf("stream holds %d distinct events, %d were acknowledged", len(seen), len(sent))
			}
			t.Logf("%d clients on one stream: %d appends in %v, %.0f appends/s, no errors", clients, len(sent), elapsed.Round(time.Millisecond), float64(len(sent))/elapsed.Seconds())
		})
	}
}
