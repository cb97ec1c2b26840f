package pool_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/pool"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// inproc is a real server over a real database, on a loopback port, in this process.
type inproc struct {
	Addr string
	srv  *server.Server
	db   *engine.DB
	dir  string
	done chan struct{}
}

// startServer runs a server on addr ("" for a free port) over the database in dir ("" for a new
// temporary folder) and stops it when the test ends.
func startServer(t testing.TB, addr, dir string, opts server.Options) *inproc {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	db, err := engine.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	s := &inproc{Addr: l.Addr().String(), srv: server.New(db, opts), db: db, dir: dir, done: make(chan struct{})}
	go func() { _ = s.srv.Serve(l); close(s.done) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down and closes its database. Safe to call more than once.
func (s *inproc) Stop() {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
	_ = s.db.Close()
	s.srv = nil
}

// testConfig is a config for fast tests against addrs.
func testConfig(addrs ...string) pool.Config {
	cfg := pool.DefaultConfig()
	cfg.Addresses = addrs
	cfg.ConnectTimeout = 2 * time.Second
	cfg.RequestTimeout = 10 * time.Second
	cfg.HealthCheckPeriod = 100 * time.Millisecond
	cfg.RetryInitialBackoff = 5 * time.Millisecond
	cfg.RetryMaxBackoff = 100 * time.Millisecond
	return cfg
}

func connect(t testing.TB, cfg pool.Config) *pool.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
