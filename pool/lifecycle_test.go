package pool_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
)

// Connections older than MaxConnLifetime are replaced while calls keep working.
func TestConnLifetime(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	cfg := testConfig(s.Addr)
	cfg.MaxConnLifetime = 50 * time.Millisecond
	cfg.MaxConnLifetimeJitter = 10 * time.Millisecond
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 20*time.Second)
	first := c.Stats().Nodes[0].DialsCount
	pooltest.WaitFor(t, 10*time.Second, "connections to be replaced", func() bool {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		return c.Stats().Nodes[0].DialsCount >= first+3
	})
	if n := c.Stats().Nodes[0]; n.OpenConns > int32(cfg.MaxConnsPerNode) {
		t.Fatalf("expired connections pile up: %+v", n)
	}
}

// Idle connections above MinIdleConnsPerNode are closed after MaxConnIdleTime.
func TestIdleReaping(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	cfg := testConfig(s.Addr)
	cfg.MinIdleConnsPerNode = 1
	cfg.MaxConnIdleTime = 100 * time.Millisecond
	cfg.MaxInFlightPerConn = 1 // every concurrent call needs its own connection
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 20*time.Second)
	done := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func() { done <- c.Ping(ctx) }()
	}
	for i := 0; i < 16; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Stats().Nodes[0]; n.DialsCount < 2 || n.OpenConns > int32(cfg.MaxConnsPerNode) {
		t.Fatalf("want extra connections within MaxConnsPerNode: %+v", n)
	}
	pooltest.WaitFor(t, 10*time.Second, "idle connections to be reaped", func() bool {
		return c.Stats().Nodes[0].OpenConns == int32(cfg.MinIdleConnsPerNode)
	})
}

func TestStatsJSON(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	if err := c.Ping(pooltest.Ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Stats())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"nodes":[{"address":"` + s.Addr + `","role":"leader","healthy":true,"open_conns":`,
		`"idle_conns":`, `"in_flight":`, `"dials":`, `"dial_failures":0`, `"leader":"` + s.Addr + `"`, `"leader_view":`,
		`"operations":{`, `"ping":1`, `"append":0`, `"errors":{}`, `"retries":`, `"redirects":`, `"leader_changes":0`,
		`"latency_p50_ns":`, `"latency_p90_ns":`, `"latency_p99_ns":`, `"latency_max_ns":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("stats JSON lacks %s: %s", key, b)
		}
	}
	var back pool.Stats
	if err := json.Unmarshal(b, &back); err != nil || back.OperationsCount["ping"] != 1 || back.LatencyMax <= 0 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}
