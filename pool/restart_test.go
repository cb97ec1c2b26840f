package pool_test

import (
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// The server goes away and comes back on the same address with the same data: the same client
// works again without the application doing anything.
func TestServerRestartInProcess(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	addr, dir := s.Addr, s.dir
	c := connect(t, testConfig(addr))
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "restart", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("before")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	pooltest.WaitFor(t, 10*time.Second, "the client to notice", func() bool { return !c.Stats().Nodes[0].Healthy })
	startServer(t, addr, dir, server.Options{})
	off, err := c.Append(ctx, id, [][]byte{[]byte("after")}, pool.AppendOptions{})
	if err != nil || off != 1 {
		t.Fatalf("append after restart: %d %v", off, err)
	}
	if got := pooltest.ReadAll(t, c, id); len(got) != 2 || string(got[1]) != "after" {
		t.Fatalf("stream after restart: %q", got)
	}
}
