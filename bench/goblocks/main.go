// Command goblocks is the Go client core (pool) as the reference side of the binding benches: it
// connects once, then times blocks of serial round trips on command, so bench/python/bench.py and
// bench/node/bench.js can interleave short blocks of Go calls with their own binding's calls and
// compare the two at the same moments instead of minutes apart (bench/cabi/run.sh runs whole
// rounds of it beside the C client's).
//
// Commands, one per line on stdin; each answers one line on stdout: create the new stream's id,
// the others the block's total nanoseconds.
//
//	create NAME                    a new public stream
//	read STREAM FROM MAX_BYTES N   N serial reads, the i-th from offset FROM+i (one event each)
//	append STREAM SIZE N           N serial 1-event appends of SIZE bytes
//	ping N                         N serial pings
//	append-window STREAM SIZE N W  N 1-event appends from W goroutines (W in flight)
//
// A failed call ends the process with the error on stderr, so a bench never times a failure.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func main() {
	addr := flag.String("addr", "", "server HOST:PORT")
	tenant := flag.Uint64("tenant", 0, "tenant id")
	flag.Parse()
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "usage: goblocks -addr HOST:PORT [-tenant ID] < commands")
		os.Exit(2)
	}
	if err := run(*addr, *tenant); err != nil {
		fmt.Fprintln(os.Stderr, "goblocks:", err)
		os.Exit(1)
	}
}

func run(addr string, tenant uint64) error {
	ctx := context.Background()
	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{addr}
	cfg.TenantID = tenant
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		var v uint64
		var err error
		if f[0] == "create" && len(f) == 2 {
			v, err = c.CreateStream(ctx, f[1], wire.DataClassPublic, wire.PlacementGlobal)
		} else {
			var ns int64
			ns, err = block(ctx, c, f[0], f[1:])
			v = uint64(ns)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", in.Text(), err)
		}
		fmt.Fprintln(out, v)
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return in.Err()
}

// block runs one command and returns its duration in nanoseconds.
func block(ctx context.Context, c *pool.Client, cmd string, args []string) (int64, error) {
	n := make([]uint64, len(args))
	for i, a := range args {
		v, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("argument %d: %w", i+1, err)
		}
		n[i] = v
	}
	want := map[string]int{"read": 4, "append": 3, "ping": 1, "append-window": 4}[cmd]
	if want == 0 || len(n) != want {
		return 0, errors.New("unknown command or wrong argument count")
	}
	start := time.Now()
	switch cmd {
	case "read":
		for i := uint64(0); i < n[3]; i++ {
			r, err := c.Read(ctx, n[0], n[1]+i, n[2])
			if err != nil {
				return 0, err
			}
			if len(r.Events) != 1 {
				return 0, fmt.Errorf("read at %d: %d events", n[1]+i, len(r.Events))
			}
		}
	case "append":
		ev := [][]byte{bytes.Repeat([]byte("g"), int(n[1]))}
		for i := uint64(0); i < n[2]; i++ {
			if _, err := c.Append(ctx, n[0], ev, pool.AppendOptions{}); err != nil {
				return 0, err
			}
		}
	case "ping":
		for i := uint64(0); i < n[0]; i++ {
			if err := c.Ping(ctx); err != nil {
				return 0, err
			}
		}
	case "append-window":
		if err := appendWindow(ctx, c, n[0], int(n[1]), int64(n[2]), int(n[3])); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Nanoseconds(), nil
}

// appendWindow appends total 1-event batches from window goroutines, the Go counterpart of a
// binding keeping window appends in flight.
func appendWindow(ctx context.Context, c *pool.Client, stream uint64, size int, total int64, window int) error {
	ev := [][]byte{bytes.Repeat([]byte("w"), size)}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, window)
	for w := 0; w < window; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				if _, err := c.Append(ctx, stream, ev, pool.AppendOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
