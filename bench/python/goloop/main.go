// Command goloop times serial round trips through the Go client core (pool), the same loops
// bench/python/bench.py times through the Python binding, and prints nanoseconds per operation
// as one JSON object.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func main() {
	addr := flag.String("addr", "", "server HOST:PORT")
	n := flag.Int("n", 500, "operations per measurement")
	size := flag.Int("size", 100, "event size in bytes")
	stream := flag.String("stream", "bench-go", "stream name")
	flag.Parse()
	if *addr == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: goloop -addr HOST:PORT [-n N] [-size BYTES] [-stream NAME]")
		os.Exit(2)
	}
	if err := run(*addr, *n, *size, *stream); err != nil {
		fmt.Fprintln(os.Stderr, "goloop:", err)
		os.Exit(1)
	}
}

func run(addr string, n, size int, stream string) error {
	ctx := context.Background()
	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{addr}
	cfg.TenantID = 1
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	id, err := c.CreateStream(ctx, stream, wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return err
	}
	ev := bytes.Repeat([]byte("e"), size)
	base, err := c.StreamLength(ctx, id)
	if err != nil {
		return err
	}
	for i := 0; i < 20; i++ { // warm the connection and the stream tail
		if _, err := c.Append(ctx, id, [][]byte{ev}, pool.AppendOptions{}); err != nil {
			return err
		}
	}
	base += 20

	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Append(ctx, id, [][]byte{ev}, pool.AppendOptions{}); err != nil {
			return err
		}
	}
	appendNs := time.Since(start).Nanoseconds() / int64(n)

	start = time.Now()
	for i := 0; i < n; i++ {
		r, err := c.Read(ctx, id, base+uint64(i), 1)
		if err != nil {
			return err
		}
		if len(r.Events) != 1 {
			return fmt.Errorf("read at %d: %d events", base+uint64(i), len(r.Events))
		}
	}
	readNs := time.Since(start).Nanoseconds() / int64(n)

	start = time.Now()
	for i := 0; i < n; i++ {
		if err := c.Ping(ctx); err != nil {
			return err
		}
	}
	pingNs := time.Since(start).Nanoseconds() / int64(n)

	return json.NewEncoder(os.Stdout).Encode(map[string]int64{"append_ns": appendNs, "read_ns": readNs, "ping_ns": pingNs})
}
