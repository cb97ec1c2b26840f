// Command server measures the TCP server over a real database on loopback: appends per second
// with 1, 16 and 64 connections (100-byte events, batches of 1 and of 100), pipelined appends on
// one connection, reads per second, and how much of the time the committer spends committing
// (writing pages and fsyncing). Run it with `go run ./bench/server`; it takes about 25 seconds.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

const eventSize = 100

var runFor = flag.Duration("duration", 2*time.Second, "how long each measurement runs")

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/server:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "kimberlite-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	loc, err := server.StartLocal(dir, server.Options{})
	if err != nil {
		return err
	}
	defer loc.Close()
	db := loc.DB
	b := &bench{addr: loc.Addr, db: db}
	fmt.Printf("server bench: in-process server on %s, data in %s, %v per measurement, %d-byte events\n",
		b.addr, dir, *runFor, eventSize)

	for _, batch := range []int{1, 100} {
		for _, conns := range []int{1, 16, 64} {
			if err := b.appends(conns, batch, 1); err != nil {
				return err
			}
		}
	}
	if err := b.appends(1, 1, 64); err != nil {
		return err
	}
	for _, conns := range []int{1, 16} {
		if err := b.reads(conns, 100); err != nil {
			return err
		}
	}
	return nil
}

type bench struct {
	addr  string
	db    *engine.DB
	runID int
}

// worker is one connection's loop body; it returns the number of requests and events it
// completed in one call.
type worker func(c *rawconn.Conn) (requests, events int, err error)

// measure runs one worker per connection until the duration is over and reports totals and
// per-call latency percentiles.
func (b *bench) measure(conns int, setup func(i int, c *rawconn.Conn) (worker, error)) (reqs, evs int, elapsed time.Duration, lat []time.Duration, err error) {
	cs := make([]*rawconn.Conn, conns)
	ws := make([]worker, conns)
	for i := range cs {
		c, err := rawconn.Dial(b.addr, 5*time.Second)
		if err != nil {
			return 0, 0, 0, nil, err
		}
		defer c.Close()
		if ws[i], err = setup(i, c); err != nil {
			return 0, 0, 0, nil, err
		}
		cs[i] = c
	}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*runFor)
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r, e int
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				nr, ne, err := ws[i](cs[i])
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
				r += nr
				e += ne
			}
			mu.Lock()
			reqs += r
			evs += e
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return reqs, evs, time.Since(start), lat, firstErr
}

// appends measures appends of batch events each, with inflight requests pipelined per connection.
func (b *bench) appends(conns, batch, inflight int) error {
	b.runID++
	events := make([][]byte, batch)
	for i := range events {
		events[i] = make([]byte, eventSize)
		for j := range events[i] {
			events[i][j] = byte('a' + (i+j)%26)
		}
	}
	before := b.db.Stats()
	reqs, evs, elapsed, lat, err := b.measure(conns, func(i int, c *rawconn.Conn) (worker, error) {
		resp, err := c.Call(1, wire.CreateStreamRequest{Name: fmt.Sprintf("append-%d-%d", b.runID, i)})
		if err != nil {
			return nil, err
		}
		sid := resp.(wire.CreateStreamResponse).StreamID
		var next uint64
		return func(c *rawconn.Conn) (int, int, error) {
			for range inflight {
				if _, err := c.Send(1, wire.AppendEventsRequest{StreamID: sid, Events: events, ExpectedOffset: next}); err != nil {
					return 0, 0, err
				}
				next += uint64(batch)
			}
			if err := c.Flush(); err != nil {
				return 0, 0, err
			}
			for range inflight {
				r, err := c.Recv()
				if err != nil {
					return 0, 0, err
				}
				if _, ok := r.Payload.(wire.AppendEventsResponse); !ok {
					return 0, 0, fmt.Errorf("append: %#v", r.Payload)
				}
			}
			return inflight, inflight * batch, nil
		}, nil
	})
	if err != nil {
		return err
	}
	after := b.db.Stats()
	commits := after.CommitCount - before.CommitCount
	commitTime := after.CommitTime - before.CommitTime
	name := fmt.Sprintf("append conns=%-2d batch=%-3d", conns, batch)
	if inflight > 1 {
		name = fmt.Sprintf("append conns=%-2d batch=%-3d pipelined=%d", conns, batch, inflight)
	}
	fmt.Printf("%s  %8.0f appends/s %9.0f events/s  latency p50 %v p99 %v  %5.1f appends/commit  commit+fsync %4.1f%% of the time (%v per commit)\n",
		name, float64(reqs)/elapsed.Seconds(), float64(evs)/elapsed.Seconds(),
		pct(lat, 50), pct(lat, 99), float64(after.OpCount-before.OpCount)/float64(max(commits, 1)),
		100*commitTime.Seconds()/elapsed.Seconds(), (commitTime / time.Duration(max(commits, 1))).Round(time.Microsecond))
	return nil
}

// reads measures ReadEvents of perRead 100-byte events from random offsets of a 10 000-event
// stream.
func (b *bench) reads(conns, perRead int) error {
	const length = 10000
	c, err := rawconn.Dial(b.addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	b.runID++
	resp, err := c.Call(1, wire.CreateStreamRequest{Name: fmt.Sprintf("read-%d", b.runID)})
	if err != nil {
		return err
	}
	sid := resp.(wire.CreateStreamResponse).StreamID
	chunk := make([][]byte, 1000)
	for i := range chunk {
		chunk[i] = make([]byte, eventSize)
	}
	for off := uint64(0); off < length; off += uint64(len(chunk)) {
		if r, err := c.Call(1, wire.AppendEventsRequest{StreamID: sid, Events: chunk, ExpectedOffset: off}); err != nil {
			return err
		} else if _, ok := r.(wire.AppendEventsResponse); !ok {
			return fmt.Errorf("prefill: %#v", r)
		}
	}
	reqs, evs, elapsed, lat, err := b.measure(conns, func(int, *rawconn.Conn) (worker, error) {
		rng := rand.New(rand.NewPCG(uint64(conns), uint64(b.runID)))
		return func(c *rawconn.Conn) (int, int, error) {
			from := rng.Uint64N(length - uint64(perRead))
			r, err := c.Call(1, wire.ReadEventsRequest{StreamID: sid, FromOffset: from, MaxBytes: uint64(perRead * eventSize)})
			if err != nil {
				return 0, 0, err
			}
			rd, ok := r.(wire.ReadEventsResponse)
			if !ok || len(rd.Events) != perRead {
				return 0, 0, fmt.Errorf("read: %#v", r)
			}
			return 1, perRead, nil
		}, nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("read   conns=%-2d events=%-3d  %8.0f reads/s %9.0f events/s  latency p50 %v p99 %v\n",
		conns, perRead, float64(reqs)/elapsed.Seconds(), float64(evs)/elapsed.Seconds(), pct(lat, 50), pct(lat, 99))
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Microsecond)
}
