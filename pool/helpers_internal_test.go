package pool

import (
	"context"
	"testing"

	"github.com/kimberlite/libkimberlite/engine/server"
)

// startLocal starts an in-process server for the test and returns its address.
func startLocal(t *testing.T) string {
	t.Helper()
	loc, err := server.StartLocal(t.TempDir(), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loc.Close() })
	return loc.Addr
}

// connectLocal connects a client to addr with the defaults, no health checks and what tune
// changes, and closes it when the test ends.
func connectLocal(t *testing.T, addr string, tune func(*Config)) *Client {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addresses = []string{addr}
	cfg.HealthCheckPeriod = 0
	if tune != nil {
		tune(&cfg)
	}
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
