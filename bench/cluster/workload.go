package main

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// workload: conns connections, each appending batches of batch events of size bytes to its own
// stream, one request in flight per connection, for a fixed time.
type workload struct{ conns, batch, size int }

func (w workload) String() string {
	return fmt.Sprintf("%d conn(s), batch %d", w.conns, w.batch)
}

// run returns appended events per second.
func (w workload) run(addr string, tenant uint64, d time.Duration) (float64, error) {
	event := bytes.Repeat([]byte{'e'}, w.size)
	events := make([][]byte, w.batch)
	for i := range events {
		events[i] = event
	}
	var total atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < w.conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
			c, err := dial(addr)
			if err != nil {
				fail(err)
				return
			}
			defer c.close()
			p, err := c.call(tenant, wire.CreateStreamRequest{Name: fmt.Sprintf("bench-%d", i), Placement: wire.PlacementGlobal}, 10*time.Second)
			if err != nil {
				fail(err)
				return
			}
			sid := p.(wire.CreateStreamResponse).StreamID
			var next uint64
			for time.Now().Before(deadline) {
				_, err := c.call(tenant, wire.AppendEventsRequest{StreamID: sid, Events: events, ExpectedOffset: next}, 10*time.Second)
				if err != nil {
					fail(err)
					return
				}
				next += uint64(w.batch)
				total.Add(int64(w.batch))
			}
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}
