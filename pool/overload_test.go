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
	"github.com/kimberlite/libkimberlite/wire"
)

// Overload is the caller's problem, not the connection's: many more concurrent calls than one
// healthy server answers in time, each with a short deadline, may time out, but a write that
// outlives its own call's deadline must not break the connection under every other call on it.
// So no call fails with a connection error and the single node never looks unavailable.
func TestOverloadTimesOutCallsWithoutBreakingConnections(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	cfg := testConfig(s.Addr)
	cfg.MaxConnsPerNode = 4
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 60*time.Second)
	id, err := c.CreateStream(ctx, "overload", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	// A large event per call so the sockets' buffers fill and writes block on the server.
	big := make([]byte, 32<<10)
	const calls = 8000
	var wg sync.WaitGroup
	var mu sync.Mutex
	kinds := map[string]int{}
	var sample error
	acked := map[string]bool{}
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
			defer cancel()
			var err error
			if i%2 == 0 {
				ev := append([]byte(fmt.Sprintf("e%d-", i)), big...)
				_, err = c.Append(cctx, id, [][]byte{ev}, pool.AppendOptions{})
				if err == nil {
					mu.Lock()
					acked[fmt.Sprintf("e%d-", i)] = true
					mu.Unlock()
				}
			} else {
				_, err = c.Read(cctx, id, 0, 1<<20)
			}
			k := "ok"
			if err != nil {
				var e *pool.Error
				if errors.As(err, &e) {
					k = e.Kind.String()
					if e.Kind != pool.KindTimeout {
						mu.Lock()
						if sample == nil {
							sample = err
						}
						mu.Unlock()
					}
				} else {
					k = err.Error()
				}
			}
			mu.Lock()
			kinds[k]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("outcomes: %v; first failure other than a timeout: %v", kinds, sample)
	for k, n := range kinds {
		switch k {
		case "ok", pool.KindTimeout.String():
		default:
			t.Errorf("%d calls failed with %q: overload must only time calls out", n, k)
		}
	}
	// Frames cut short by their call's deadline were finished by the writer, not garbled:
	// every acknowledged event is there once, and no event is there twice.
	seen := map[string]bool{}
	for _, ev := range pooltest.ReadAll(t, c, id) {
		key := string(ev[:bytes.IndexByte(ev, '-')+1])
		if seen[key] {
			t.Fatalf("event %s is in the stream twice", key)
		}
		seen[key] = true
	}
	for key := range acked {
		if !seen[key] {
			t.Fatalf("acknowledged event %s is missing", key)
		}
	}
	if st := c.Stats(); st.Nodes[0].DialsCount > int64(cfg.MaxConnsPerNode) {
		t.Errorf("connections were torn down and redialed under overload: %d dials", st.Nodes[0].DialsCount)
	}
}
