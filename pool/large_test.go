package pool_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// Large events go out without being copied into the shared write buffer, alone or queued
// behind other frames, and come back intact.
func TestLargeEvents(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	cfg := testConfig(s.Addr)
	cfg.MaxConnsPerNode = 1 // every writer shares one connection, so frames queue up
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 60*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := c.CreateStream(ctx, fmt.Sprintf("large-%d", w), wire.DataClassPublic, wire.PlacementGlobal)
			if err != nil {
				errs <- err
				return
			}
			small := []byte(fmt.Sprintf("small-%d", w))
			big := bytes.Repeat([]byte{byte('a' + w)}, 1<<20+w)
			for _, ev := range [][]byte{small, big, small} {
				if _, err := c.Append(ctx, id, [][]byte{ev}, pool.AppendOptions{}); err != nil {
					errs <- err
					return
				}
			}
			r, err := c.Read(ctx, id, 0, 4<<20)
			if err != nil {
				errs <- err
				return
			}
			if len(r.Events) != 3 || !bytes.Equal(r.Events[1].Data, big) || !bytes.Equal(r.Events[2].Data, small) {
				errs <- fmt.Errorf("worker %d read back %d events", w, len(r.Events))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// One event just under the frame limit (the request around it, with its idempotency key,
	// takes under 128 bytes).
	id, err := c.CreateStream(ctx, "huge", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	huge := bytes.Repeat([]byte("h"), wire.MaxPayloadSize-128)
	if _, err := c.Append(ctx, id, [][]byte{huge}, pool.AppendOptions{}); err != nil {
		t.Fatalf("append of %d bytes: %v", len(huge), err)
	}
	r, err := c.Read(ctx, id, 0, 1)
	if err != nil || len(r.Events) != 1 || !bytes.Equal(r.Events[0].Data, huge) {
		t.Fatalf("read back the huge event: %v", err)
	}
}
