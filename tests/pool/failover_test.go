package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// A 3-node cluster under 16 appending goroutines loses its leader to kill -9. The workload goes
// on with the new leader, and afterwards every acknowledged append is in the stream exactly
// once, at its acknowledged offset, and no unacknowledged append is in it twice.
func TestClusterLeaderKilled(t *testing.T) {
	cl := testserver.StartCluster(t, 3)
	leader := cl.WaitLeader(20 * time.Second)
	c := connect(t, testConfig(cl.Addrs()...))
	ctx := pooltest.Ctx(t, 120*time.Second)
	id, err := c.CreateStream(ctx, "failover", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Leader; got != cl.Nodes[leader].Addr {
		t.Fatalf("client leader %q, cluster leader %q", got, cl.Nodes[leader].Addr)
	}

	const workers = 16
	type ack struct {
		event  string
		offset uint64
	}
	var (
		mu      sync.Mutex
		acked   []ack
		failed  []string
		unknown int
		stop    atomic.Bool
		wg      sync.WaitGroup
		count   atomic.Int64
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ev := fmt.Sprintf("w%02d-%05d", w, i)
				cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				off, err := c.Append(cctx, id, [][]byte{[]byte(ev)}, pool.AppendOptions{})
				cancel()
				mu.Lock()
				if err == nil {
					acked = append(acked, ack{ev, off})
					count.Add(1)
				} else {
					failed = append(failed, ev)
					if errors.Is(err, pool.ErrOutcomeUnknown) {
						unknown++
					}
					t.Logf("append %s: %v", ev, err)
				}
				mu.Unlock()
			}
		}()
	}
	pooltest.WaitFor(t, 30*time.Second, "appends before the kill", func() bool { return count.Load() >= 200 })
	cl.Kill(leader)
	killedAt := count.Load()
	pooltest.WaitFor(t, 60*time.Second, "the workload to resume on a new leader", func() bool { return count.Load() >= killedAt+300 })
	stop.Store(true)
	wg.Wait()

	st := c.Stats()
	if st.Leader == "" || st.Leader == cl.Nodes[leader].Addr || st.LeaderChangesCount < 1 {
		t.Fatalf("client did not follow the new leader: leader %q, changes %d", st.Leader, st.LeaderChangesCount)
	}
	stream := pooltest.ReadAll(t, c, id)
	at := map[string][]uint64{}
	for off, e := range stream {
		at[string(e)] = append(at[string(e)], uint64(off))
	}
	for _, a := range acked {
		offs := at[a.event]
		if len(offs) != 1 || offs[0] != a.offset {
			t.Fatalf("acknowledged %s at %d, stream has it at %v", a.event, a.offset, offs)
		}
	}
	for _, ev := range failed {
		if len(at[ev]) > 1 {
			t.Fatalf("unacknowledged %s is in the stream %d times", ev, len(at[ev]))
		}
	}
	for ev, offs := range at {
		if len(offs) != 1 {
			t.Fatalf("%s is in the stream %d times", ev, len(offs))
		}
	}
	t.Logf("%d acknowledged, %d failed (%d outcome unknown), stream %d events, retries %d, redirects %d",
		len(acked), len(failed), unknown, len(stream), st.RetriesCount, st.RedirectsCount)
}
