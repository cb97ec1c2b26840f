// Command subscribe measures subscriptions of the client core against a real in-process server
// on loopback, side by side in one run:
//
//   - append→delivery latency: one writer appends one event at a time while a subscriber (another
//     client) follows the stream; the time from the start of each append until the subscriber's
//     Next returns the event, against the append's own round trip (until its acknowledgement);
//   - catch-up throughput: one subscriber reading a long stream from offset 0, against a reader
//     polling Read with the same batch size (credit window = events per Read).
//
// Each measurement is repeated; the ratios are printed per round. Run it with
// `go run ./bench/subscribe`; it takes about 20 seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

const eventSize = 100

var (
	latencyN = flag.Int("latency", 2000, "appends per latency round")
	streamN  = flag.Int("events", 200_000, "events in the catch-up stream")
	batch    = flag.Int("batch", 1024, "credit window of the subscriber, and events per Read of the poller")
	rounds   = flag.Int("rounds", 5, "rounds of each measurement")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/subscribe:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "kimberlite-subscribe-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	loc, err := server.StartLocal(dir, server.Options{})
	if err != nil {
		return err
	}
	defer loc.Close()
	ctx := context.Background()
	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{loc.Addr}
	writer, err := pool.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer writer.Close(ctx)
	reader, err := pool.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer reader.Close(ctx)

	fmt.Printf("append→delivery latency, %d serial 1-event appends of %d B per round\n", *latencyN, eventSize)
	fmt.Printf("%-6s %14s %14s %14s %14s %10s %10s\n", "round", "append p50", "append p99", "delivery p50", "delivery p99", "p50 ratio", "p99 ratio")
	for r := 1; r <= *rounds; r++ {
		ap50, ap99, dp50, dp99, err := latencyRound(ctx, writer, reader, r)
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %14v %14v %14v %14v %9.2fx %9.2fx\n", r, ap50, ap99, dp50, dp99,
			float64(dp50)/float64(ap50), float64(dp99)/float64(ap99))
		fmt.Printf("RATIO subscribe/delivery.p50 %.3f # append→delivery p50 / the append's own round trip p50\n", float64(dp50)/float64(ap50))
		fmt.Printf("RATIO subscribe/delivery.p99 %.3f # append→delivery p99 / the append's own round trip p99\n", float64(dp99)/float64(ap99))
	}

	sid, err := fill(ctx, writer, "catch-up", *streamN)
	if err != nil {
		return err
	}
	fmt.Printf("\ncatch-up of %d events of %d B, %d events per batch\n", *streamN, eventSize, *batch)
	fmt.Printf("%-6s %16s %16s %10s\n", "round", "subscribe ev/s", "poll Read ev/s", "ratio")
	var ratios []float64
	for r := 1; r <= *rounds; r++ {
		// Alternate which goes first, so drift in the machine's load favours neither.
		var subRate, pollRate float64
		var err error
		if r%2 == 1 {
			if subRate, err = catchUpSubscribe(ctx, reader, sid); err == nil {
				pollRate, err = catchUpPoll(ctx, reader, sid)
			}
		} else {
			if pollRate, err = catchUpPoll(ctx, reader, sid); err == nil {
				subRate, err = catchUpSubscribe(ctx, reader, sid)
			}
		}
		if err != nil {
			return err
		}
		ratios = append(ratios, subRate/pollRate)
		fmt.Printf("%-6d %16.0f %16.0f %9.2fx\n", r, subRate, pollRate, subRate/pollRate)
		fmt.Printf("RATIO subscribe/catch-up %.3f # one subscriber's events/s / a reader polling Read, same batch size\n", subRate/pollRate)
	}
	slices.Sort(ratios)
	fmt.Printf("median ratio subscribe/poll: %.2fx (min %.2fx, max %.2fx)\n", ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
	return nil
}

func event(i int) []byte {
	b := make([]byte, eventSize)
	copy(b, fmt.Sprintf("event-%d-", i))
	return b
}

func fill(ctx context.Context, c *pool.Client, name string, n int) (uint64, error) {
	sid, err := c.CreateStream(ctx, name, wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i += 1000 {
		evs := make([][]byte, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			evs = append(evs, event(j))
		}
		if _, err := c.Append(ctx, sid, evs, pool.AppendOptions{}); err != nil {
			return 0, err
		}
	}
	return sid, nil
}

func latencyRound(ctx context.Context, writer, reader *pool.Client, round int) (ap50, ap99, dp50, dp99 time.Duration, err error) {
	n := *latencyN
	sid, err := writer.CreateStream(ctx, fmt.Sprintf("latency-%d", round), wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return
	}
	sub, err := reader.Subscribe(ctx, sid, pool.SubscribeOptions{})
	if err != nil {
		return
	}
	defer sub.Close()
	delivered := make([]time.Time, n)
	done := make(chan error, 1)
	go func() {
		for got := 0; got < n; {
			nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			evs, err := sub.Next(nctx)
			cancel()
			if err != nil {
				done <- err
				return
			}
			now := time.Now()
			for _, e := range evs {
				delivered[e.Offset] = now
				got++
			}
		}
		done <- nil
	}()
	started := make([]time.Time, n)
	appendRT := make([]time.Duration, n)
	for i := range n {
		started[i] = time.Now()
		if _, err = writer.Append(ctx, sid, [][]byte{event(i)}, pool.AppendOptions{}); err != nil {
			return
		}
		appendRT[i] = time.Since(started[i])
	}
	if err = <-done; err != nil {
		return
	}
	delivery := make([]time.Duration, n)
	for i := range n {
		delivery[i] = delivered[i].Sub(started[i])
	}
	ap50, ap99 = percentiles(appendRT)
	dp50, dp99 = percentiles(delivery)
	return
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

func catchUpSubscribe(ctx context.Context, c *pool.Client, sid uint64) (float64, error) {
	start := time.Now()
	sub, err := c.Subscribe(ctx, sid, pool.SubscribeOptions{Credits: uint32(*batch)})
	if err != nil {
		return 0, err
	}
	defer sub.Close()
	for sub.NextOffset() < uint64(*streamN) {
		if _, err := sub.Next(ctx); err != nil {
			return 0, err
		}
	}
	return float64(*streamN) / time.Since(start).Seconds(), nil
}

func catchUpPoll(ctx context.Context, c *pool.Client, sid uint64) (float64, error) {
	start := time.Now()
	next := uint64(0)
	for next < uint64(*streamN) {
		r, err := c.Read(ctx, sid, next, uint64(*batch*eventSize))
		if err != nil {
			return 0, err
		}
		next = r.NextOffset
	}
	return float64(*streamN) / time.Since(start).Seconds(), nil
}
