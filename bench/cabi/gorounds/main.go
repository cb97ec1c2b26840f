// Command gorounds measures the Go client's append and read round trips the same way
// bench/cabi/cabi_bench.c measures them through the C ABI, so bench/cabi/run.sh can print ratios.
// Output: "append_rt_ns N", "read_rt_ns N" and "append_async_ns N" (appends from 64 goroutines,
// the Go counterpart of 64 kmb_append_async calls in flight), one per line.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5432", "server address")
	n := flag.Int("n", 2000, "round trips per measurement")
	flag.Parse()
	ctx := context.Background()
	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{*addr}
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	stream, err := c.CreateStream(ctx, fmt.Sprintf("bench-go-%d-%d", os.Getpid(), time.Now().UnixNano()), wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		log.Fatal(err)
	}
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = 'x'
	}
	for i := 0; i < 100; i++ { // warm up connections
		if _, err := c.Append(ctx, stream, [][]byte{payload}, pool.AppendOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		if _, err := c.Append(ctx, stream, [][]byte{payload}, pool.AppendOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("append_rt_ns %d\n", time.Since(t0).Nanoseconds()/int64(*n))
	t0 = time.Now()
	for i := 0; i < *n; i++ {
		if _, err := c.Read(ctx, stream, uint64(i), uint64(len(payload))); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("read_rt_ns %d\n", time.Since(t0).Nanoseconds()/int64(*n))

	const window = 64
	total := 4 * *n
	var wg sync.WaitGroup
	var failed atomic.Int64
	next := atomic.Int64{}
	t0 = time.Now()
	for w := 0; w < window; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				if _, err := c.Append(ctx, stream, [][]byte{payload}, pool.AppendOptions{}); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		log.Fatalf("%d concurrent appends failed", failed.Load())
	}
	fmt.Printf("append_async_ns %d\n", time.Since(t0).Nanoseconds()/int64(total))
}
