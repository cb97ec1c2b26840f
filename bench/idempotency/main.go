// Command idempotency measures what idempotent appends cost: appends per second with an
// idempotency key on every request against the same appends without one, on one in-process
// server, in alternating rounds so that both see the same machine; and the bytes the server's
// key window takes per key and per stream. Run it with `go run ./bench/idempotency`.
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

var (
	rounds  = flag.Int("rounds", 5, "alternating rounds of each variant")
	runFor  = flag.Duration("duration", time.Second, "how long each round runs")
	conns   = flag.Int("conns", 16, "connections appending at once, one stream each")
	eventSz = flag.Int("event-size", 100, "bytes per event")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/idempotency:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "kimberlite-bench-idem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	loc, err := server.StartLocal(dir, server.Options{})
	if err != nil {
		return err
	}
	defer loc.Close()
	fmt.Printf("idempotency bench: %d connections, %d-byte events, %d rounds of %v per variant\n",
		*conns, *eventSz, *rounds, *runFor)
	var ratios []float64
	var keyedTotal, plainTotal float64
	for r := 0; r < *rounds; r++ {
		plain, err := appendRate(loc.Addr, fmt.Sprintf("plain-%d", r), false)
		if err != nil {
			return err
		}
		keyed, err := appendRate(loc.Addr, fmt.Sprintf("keyed-%d", r), true)
		if err != nil {
			return err
		}
		ratios = append(ratios, keyed/plain)
		keyedTotal += keyed
		plainTotal += plain
		fmt.Printf("  round %d: without key %7.0f appends/s, with key %7.0f appends/s, ratio %.3f\n", r+1, plain, keyed, keyed/plain)
	}
	slices.Sort(ratios)
	fmt.Printf("with key / without: median %.3f (min %.3f, max %.3f); means %.0f vs %.0f appends/s\n",
		ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1], keyedTotal/float64(*rounds), plainTotal/float64(*rounds))

	u, err := loc.DB.IdempotencyWindowUsage()
	if err != nil {
		return err
	}
	if u.Keys > 0 {
		per := float64(u.Bytes) / float64(u.Keys)
		fmt.Printf("key window: %d keys in %d bytes, %.0f bytes per key (keys of 21-30 bytes, as the client makes);"+
			" a full window of %d keys is about %.1f MiB per stream (memory-mapped pages, not Go heap)\n",
			u.Keys, u.Bytes, per, engine.DefaultIdempotencyKeys, per*engine.DefaultIdempotencyKeys/(1<<20))
	}
	return nil
}

// appendRate appends one event per request on each connection, each to its own stream, and
// returns appends per second. keyed puts an idempotency key on every request, as the client does.
func appendRate(addr, name string, keyed bool) (float64, error) {
	event := make([]byte, *eventSz)
	for i := range event {
		event[i] = byte('a' + i%26)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	var firstErr error
	start := time.Now()
	deadline := start.Add(*runFor)
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := appendLoop(addr, fmt.Sprintf("%s-%d", name, i), event, keyed, deadline)
			mu.Lock()
			total += n
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds(), firstErr
}

func appendLoop(addr, stream string, event []byte, keyed bool, deadline time.Time) (int, error) {
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	resp, err := c.Call(1, wire.CreateStreamRequest{Name: stream})
	if err != nil {
		return 0, err
	}
	sid := resp.(wire.CreateStreamResponse).StreamID
	prefix := fmt.Sprintf("%016x", rand.Uint64()) // as the client's: random, then a sequence number
	n := 0
	for ; time.Now().Before(deadline); n++ {
		req := &wire.Request{TenantID: 1, Payload: wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{event}, ExpectedOffset: uint64(n)}}
		if keyed {
			key := fmt.Sprintf("%s:%d", prefix, n)
			req.Audit = &wire.AuditMetadata{IdempotencyKey: &key}
		}
		p, err := c.CallRequest(req)
		if err != nil {
			return n, err
		}
		if e, ok := p.(wire.ErrorResponse); ok {
			return n, fmt.Errorf("append: %v %s", e.Code, e.Message)
		}
	}
	return n, nil
}
