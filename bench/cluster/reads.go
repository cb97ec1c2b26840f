package main

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// readRate measures ReadEvents requests per second with conns connections, each reading the
// same stream of 100 events of 100 bytes from its start, one request in flight per connection.
func readRate(addr string, tenant, sid uint64, conns int, d time.Duration) (float64, error) {
	var total atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(addr)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			defer c.close()
			for time.Since(start) < d {
				p, err := c.call(tenant, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 1 << 20}, 10*time.Second)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if n := len(p.(wire.ReadEventsResponse).Events); n != 100 {
					once.Do(func() { firstErr = fmt.Errorf("read %d events, want 100", n) })
					return
				}
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds(), firstErr
}

// prepareReadStream creates a stream of 100 events of 100 bytes through addr.
func prepareReadStream(addr string, tenant uint64) (uint64, error) {
	c, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.close()
	p, err := c.call(tenant, wire.CreateStreamRequest{Name: "reads", Placement: wire.PlacementGlobal}, 10*time.Second)
	if err != nil {
		return 0, err
	}
	sid := p.(wire.CreateStreamResponse).StreamID
	events := make([][]byte, 100)
	for i := range events {
		events[i] = bytes.Repeat([]byte{'r'}, 100)
	}
	_, err = c.call(tenant, wire.AppendEventsRequest{StreamID: sid, Events: events}, 10*time.Second)
	return sid, err
}
