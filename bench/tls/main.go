// Command tls measures what TLS costs the client core, side by side in one run against one
// in-process server that listens twice over the same database: once in plain TCP, once in TLS
// 1.3 (certificates made at start). It reports, as TLS/plain ratios:
//
//   - the mean serial round trip of a small read (one at a time, rounds interleaved);
//   - the append throughput of 64 goroutines on 64 streams (runs interleaved).
//
// Run it with `go run ./bench/tls`; it takes about 20 seconds.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/tlsfiles"
	"github.com/kimberlite/libkimberlite/internal/certs"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

var (
	runFor  = flag.Duration("duration", 2*time.Second, "how long each throughput run lasts")
	rounds  = flag.Int("rounds", 20, "interleaved rounds of serial reads")
	perRnd  = flag.Int("serial", 300, "serial reads per round")
	workers = flag.Int("goroutines", 64, "concurrent appenders")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tls:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "kimberlite-tls-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ca, err := certs.NewCA("bench CA")
	if err != nil {
		return err
	}
	leaf, err := ca.Node()
	if err != nil {
		return err
	}
	certFile, keyFile, err := leaf.WriteFiles(dir, "node")
	if err != nil {
		return err
	}
	store, err := tlsfiles.Load(tlsfiles.Files{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		return err
	}
	db, err := engine.Open(dir + "/db")
	if err != nil {
		return err
	}
	defer db.Close()
	srv := server.New(db, server.Options{})
	plainL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	tlsL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(plainL) }()
	go func() { _ = srv.Serve(server.NewTLSListener(tlsL, store.ServerConfig(), nil)) }()
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	plainCfg := pool.DefaultConfig()
	plainCfg.Addresses = []string{plainL.Addr().String()}
	tlsCfg := plainCfg.Copy()
	tlsCfg.Addresses = []string{tlsL.Addr().String()}
	tlsCfg.TLSEnabled, tlsCfg.TLSCAPEM = true, string(ca.CertPEM)
	plain, err := pool.Connect(ctx, plainCfg)
	if err != nil {
		return err
	}
	defer plain.Close(ctx)
	secure, err := pool.Connect(ctx, tlsCfg)
	if err != nil {
		return err
	}
	defer secure.Close(ctx)

	fmt.Printf("tls bench: one in-process server, plain %s and TLS 1.3 %s, 100-byte events\n", plainL.Addr(), tlsL.Addr())
	if err := serialReads(ctx, plain, secure); err != nil {
		return err
	}
	return appendThroughput(ctx, plain, secure)
}

func serialReads(ctx context.Context, plain, secure *pool.Client) error {
	id, err := plain.CreateStream(ctx, "tls-bench-reads", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return err
	}
	if _, err := plain.Append(ctx, id, [][]byte{bytes.Repeat([]byte("r"), 100)}, pool.AppendOptions{}); err != nil {
		return err
	}
	one := func(c *pool.Client) (time.Duration, error) {
		start := time.Now()
		for i := 0; i < *perRnd; i++ {
			if _, err := c.Read(ctx, id, 0, 4096); err != nil {
				return 0, err
			}
		}
		return time.Since(start) / time.Duration(*perRnd), nil
	}
	// Warm both up, then interleave rounds so drift falls on both alike.
	if _, err := one(plain); err != nil {
		return err
	}
	if _, err := one(secure); err != nil {
		return err
	}
	var ps, ts, ratios []float64
	for r := 0; r < *rounds; r++ {
		p, err := one(plain)
		if err != nil {
			return err
		}
		s, err := one(secure)
		if err != nil {
			return err
		}
		ps, ts = append(ps, us(p)), append(ts, us(s))
		ratios = append(ratios, float64(s)/float64(p))
	}
	fmt.Println("serial read round trip (mean latency; lower is better):")
	fmt.Printf("  TLS %.1f µs vs plain %.1f µs: ratio TLS/plain %.2f (median of %d rounds; min %.2f, max %.2f)\n",
		median(ts), median(ps), median(ratios), len(ratios), minOf(ratios), maxOf(ratios))
	return nil
}

func appendThroughput(ctx context.Context, plain, secure *pool.Client) error {
	ids := make([]uint64, *workers)
	for i := range ids {
		id, err := plain.CreateStream(ctx, fmt.Sprintf("tls-bench-append-%d", i), wire.DataClassPublic, wire.PlacementGlobal)
		if err != nil {
			return err
		}
		ids[i] = id
	}
	ev := bytes.Repeat([]byte("a"), 100)
	measure := func(c *pool.Client) (float64, error) {
		var n atomic.Int64
		var firstErr atomic.Value
		deadline := time.Now().Add(*runFor)
		var wg sync.WaitGroup
		for g := 0; g < *workers; g++ {
			wg.Add(1)
			go func(id uint64) {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if _, err := c.Append(ctx, id, [][]byte{ev}, pool.AppendOptions{}); err != nil {
						firstErr.Store(err)
						return
					}
					n.Add(1)
				}
			}(ids[g])
		}
		start := time.Now()
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, err
		}
		return float64(n.Load()) / time.Since(start).Seconds(), nil
	}
	var ps, ts, ratios []float64
	for r := 0; r < 2; r++ {
		p, err := measure(plain)
		if err != nil {
			return err
		}
		s, err := measure(secure)
		if err != nil {
			return err
		}
		ps, ts = append(ps, p), append(ts, s)
		ratios = append(ratios, s/p)
	}
	fmt.Printf("append throughput, %d goroutines on %d streams (higher is better):\n", *workers, *workers)
	fmt.Printf("  TLS %.0f/s vs plain %.0f/s: ratio TLS/plain %.2f (runs: %.2f, %.2f)\n",
		median(ts), median(ps), median(ratios), ratios[0], ratios[1])
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
