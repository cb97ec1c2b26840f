// Command client measures the client core (package pool) against a real in-process server on
// loopback, side by side in one run:
//
//   - serial round trips of a 1-event append and of a small read through the client, against
//     the same request sent as raw wire frames on one connection to the same server, and against
//     a raw loopback ping-pong of the same frame sizes (no server logic at all);
//   - throughput of 64 goroutines appending to one stream (the client coalesces them) and to 64
//     streams, against the same workloads with one request in flight per connection, the model
//     of Kimberlite's own SDKs, built here from raw wire frames.
//
// Run it with `go run ./bench/client`; it takes about 40 seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/pool"
)

const eventSize = 100

var (
	runFor  = flag.Duration("duration", 3*time.Second, "how long each throughput measurement runs")
	serialN = flag.Int("serial", 2000, "round trips per serial measurement")
	onlySer = flag.Bool("serial-only", false, "measure the serial round trips only")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/client:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "kimberlite-client-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	loc, err := server.StartLocal(dir, server.Options{})
	if err != nil {
		return err
	}
	defer loc.Close()
	addr := loc.Addr

	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{addr}
	ctx := context.Background()
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(ctx)

	fmt.Printf("client bench: in-process server on %s, %d-byte events, %d serial round trips, %v per throughput run\n",
		addr, eventSize, *serialN, *runFor)
	if err := serial(ctx, c, addr); err != nil {
		return err
	}
	if *onlySer {
		return nil
	}
	return throughput(ctx, c, addr)
}

// report prints one comparison line.
func report(name string, a float64, aName string, b float64, bName string, unit string) {
	fmt.Printf("  %-44s %10.1f %s (%s) vs %10.1f %s (%s): ratio %.2f\n", name, a, unit, aName, b, unit, bName, a/b)
}
