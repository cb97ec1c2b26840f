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

// 64 goroutines share one client: each appends its own payloads and reads them back at the
// offsets it was given, so any answer handed to the wrong call shows up as a mismatch.
func TestSixtyFourGoroutinesPipelined(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	ctx := pooltest.Ctx(t, 60*time.Second)
	const workers, rounds = 64, 25
	ids := make([]uint64, workers)
	for i := range ids {
		id, err := c.CreateStream(ctx, fmt.Sprintf("s%d", i), wire.DataClassPublic, wire.PlacementGlobal)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				payload := []byte(fmt.Sprintf("w%d-r%d", w, r))
				off, err := c.Append(ctx, ids[w], [][]byte{payload}, pool.AppendOptions{})
				if err != nil {
					errs <- err
					return
				}
				if off != uint64(r) {
					errs <- fmt.Errorf("worker %d round %d: offset %d", w, r, off)
					return
				}
				res, err := c.Read(ctx, ids[w], off, 1<<16)
				if err != nil {
					errs <- err
					return
				}
				if len(res.Events) != 1 || !bytes.Equal(res.Events[0].Data, payload) {
					errs <- fmt.Errorf("worker %d round %d: read %+v", w, r, res.Events)
					return
				}
				n, err := c.StreamLength(ctx, ids[w])
				if err != nil || n != uint64(r+1) {
					errs <- fmt.Errorf("worker %d round %d: length %d %v", w, r, n, err)
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
	st := c.Stats()
	if got := st.OperationsCount["append"]; got != workers*rounds {
		t.Fatalf("append count %d", got)
	}
	if len(st.Nodes) != 1 || st.Nodes[0].DialsCount > int64(testConfig().MaxConnsPerNode)+1 {
		t.Fatalf("64 goroutines must share a few pipelined connections: %+v", st.Nodes)
	}
}

// Concurrent appends to one stream are coalesced, yet each caller gets its own offsets in its
// own call order, and the stream holds every event exactly once.
func TestCoalescedAppendsToOneStream(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	ctx := pooltest.Ctx(t, 60*time.Second)
	id, err := c.CreateStream(ctx, "shared", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 64, 30
	got := make([][]uint64, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				evs := [][]byte{[]byte(fmt.Sprintf("w%d-r%d-a", w, r)), []byte(fmt.Sprintf("w%d-r%d-b", w, r))}
				off, err := c.Append(ctx, id, evs, pool.AppendOptions{})
				if err != nil {
					errs <- err
					return
				}
				got[w] = append(got[w], off)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Coalescing: far fewer append requests reached the database than Append calls were made.
	if ops := s.db.Stats().OpCount - 1; ops >= workers*rounds/2 {
		t.Fatalf("%d append operations for %d calls: appends were not coalesced", ops, workers*rounds)
	}
	stream := pooltest.ReadAll(t, c, id)
	if len(stream) != workers*rounds*2 {
		t.Fatalf("stream has %d events, want %d", len(stream), workers*rounds*2)
	}
	for w := range got {
		for r, off := range got[w] {
			if r > 0 && off <= got[w][r-1] {
				t.Fatalf("worker %d: offsets out of call order: %v", w, got[w])
			}
			if string(stream[off]) != fmt.Sprintf("w%d-r%d-a", w, r) || string(stream[off+1]) != fmt.Sprintf("w%d-r%d-b", w, r) {
				t.Fatalf("worker %d round %d: offset %d holds %q %q", w, r, off, stream[off], stream[off+1])
			}
		}
	}
}
