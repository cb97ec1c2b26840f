package pool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
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

// An append of more events than the server accepts fails on the caller's side with the limit,
// before anything is sent (an empty-event flood costs the server nothing); at the limit it goes
// through.
func TestAppendEventCountLimit(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "limit", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	events := make([][]byte, pool.MaxAppendEvents+1)
	for i := range events {
		events[i] = []byte{}
	}
	_, err = c.Append(ctx, id, events, pool.AppendOptions{})
	if !errors.Is(err, pool.ErrInvalidArgument) || !strings.Contains(err.Error(), "at most 100000") {
		t.Fatalf("append of %d events: %v, want an invalid-argument error naming the limit", len(events), err)
	}
	if n, err := c.StreamLength(ctx, id); err != nil || n != 0 {
		t.Fatalf("after the refused append the stream has %d events (%v)", n, err)
	}
	for i := range events[:pool.MaxAppendEvents] {
		events[i] = []byte(fmt.Sprintf("%d", i))
	}
	first, err := c.Append(ctx, id, events[:pool.MaxAppendEvents], pool.AppendOptions{})
	if err != nil || first != 0 {
		t.Fatalf("append of exactly the limit: first %d, %v", first, err)
	}
}
