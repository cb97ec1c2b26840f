// Package pool_test runs the client core against real `kimberlite` server processes: restarts,
// a 3-node cluster losing its leader to kill -9, and a leader partitioned from its peers.
package pool_test

import (
	"context"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
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
	c, err := pool.Connect(pooltest.Ctx(t, 15*time.Second), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func nodeStats(c *pool.Client, addr string) (pool.NodeStats, bool) {
	for _, n := range c.Stats().Nodes {
		if n.Address == addr {
			return n, true
		}
	}
	return pool.NodeStats{}, false
}
