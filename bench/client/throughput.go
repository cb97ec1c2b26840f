package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

const workers = 64

// throughput compares 64 goroutines appending through the client against 64 connections with
// one request in flight each, to one shared stream and to 64 streams.
func throughput(ctx context.Context, c *pool.Client, addr string) error {
	fmt.Printf("throughput, %d goroutines appending 1 event each call (appends/s; higher is better):\n", workers)
	ev := bytes.Repeat([]byte("t"), eventSize)
	shared, err := c.CreateStream(ctx, "shared", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return err
	}
	own := make([]uint64, workers)
	for i := range own {
		if own[i], err = c.CreateStream(ctx, "own-"+strconv.Itoa(i), wire.DataClassPublic, wire.PlacementGlobal); err != nil {
			return err
		}
	}
	for _, one := range []bool{true, false} {
		stream := func(w int) uint64 {
			if one {
				return shared
			}
			return own[w]
		}
		name := "to 64 streams"
		if one {
			name = "to one stream"
		}
		cl, err := measure(func(w int, stop *atomic.Bool) (int64, error) {
			var n int64
			for !stop.Load() {
				if _, err := c.Append(ctx, stream(w), [][]byte{ev}, pool.AppendOptions{}); err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		})
		if err != nil {
			return err
		}
		sdk, err := measure(func(w int, stop *atomic.Bool) (int64, error) {
			rc, err := dialRaw(addr)
			if err != nil {
				return 0, err
			}
			defer rc.Close()
			sid := stream(w)
			tail, err := rawLength(rc, sid)
			if err != nil {
				return 0, err
			}
			var n int64
			for !stop.Load() {
				p, _, err := rc.call(wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{ev}, ExpectedOffset: tail})
				if err != nil {
					return n, err
				}
				switch p := p.(type) {
				case wire.AppendEventsResponse:
					tail = p.FirstOffset + 1
					n++
				case wire.ErrorResponse:
					// Another writer took the offset: learn the tail and try again, as an
					// application on the official SDKs must.
					if p.Code != wire.ErrOffsetMismatch {
						return n, fmt.Errorf("raw append: %v %s", p.Code, p.Message)
					}
					i := strings.LastIndex(p.Message, "actual ")
					if tail, err = strconv.ParseUint(p.Message[i+len("actual "):], 10, 64); err != nil {
						return n, fmt.Errorf("OffsetMismatch text %q", p.Message)
					}
				default:
					return n, fmt.Errorf("raw append: %#v", p)
				}
			}
			return n, nil
		})
		if err != nil {
			return err
		}
		report(name, cl, "client", sdk, "1 in flight/conn", "/s")
	}
	st := c.Stats()
	fmt.Printf("client stats: %d appends, p50 %v, p99 %v, connections to the server: %d open, %d dials\n",
		st.OperationsCount["append"], st.LatencyP50, st.LatencyP99, st.Nodes[0].OpenConns, st.Nodes[0].DialsCount)
	return nil
}

func rawLength(rc *rawConn, sid uint64) (uint64, error) {
	p, _, err := rc.call(wire.StreamInfoRequest{StreamID: sid})
	if err != nil {
		return 0, err
	}
	r, ok := p.(wire.StreamInfoResponse)
	if !ok {
		return 0, fmt.Errorf("stream info: %#v", p)
	}
	return r.Length, nil
}

// measure runs body on 64 goroutines for the configured time and returns operations per second.
func measure(body func(w int, stop *atomic.Bool) (int64, error)) (float64, error) {
	var stop atomic.Bool
	var total atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := body(w, &stop)
			total.Add(n)
			if err != nil {
				errs <- err
			}
		}()
	}
	time.Sleep(*runFor)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		return 0, err
	}
	return float64(total.Load()) / elapsed.Seconds(), nil
}
