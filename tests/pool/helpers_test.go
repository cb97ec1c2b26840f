// Package pool_test runs the client core against real `kimberlite` server processes: restarts,
// a 3-node cluster losing its leader to kill -9, and a leader partitioned from its peers.
package pool_test

import (
	"context"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
)

func testConfig(addrs ...string) pool.Config {
	cfg := pool.DefaultConfig()
	cfg.Addresses = addrs
	cfg.ConnectTimeout = time.Second
	cfg.RequestTimeout = 15 * time.Second
	cfg.HealthCheckPeriod = 100 * time.Millisecond
	cfg.RetryInitialBackoff = 10 * time.Millisecond
	cfg.RetryMaxBackoff = 200 * time.Millisecond
	cfg.RetryMaxAttempts = 50
	return cfg
}

func connect(t testing.TB, cfg pool.Config) *pool.Client {
	t.Helper()
	c, err := pool.Connect(ctxT(t, 15*time.Second), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readAll(t testing.TB, c *pool.Client, id uint64) [][]byte {
	t.Helper()
	var out [][]byte
	it := c.ReadAll(ctxT(t, 60*time.Second), id, 0, 256<<10)
	for it.Next() {
		e := it.Event()
		if e.Offset != uint64(len(out)) {
			t.Fatalf("event at offset %d after %d events", e.Offset, len(out))
		}
		out = append(out, e.Data)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func nodeStats(c *pool.Client, addr string) (pool.NodeStats, bool) {
	for _, n := range c.Stats().Nodes {
		if n.Address == addr {
			return n, true
		}
	}
	return pool.NodeStats{}, false
}
