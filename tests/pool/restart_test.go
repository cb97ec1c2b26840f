package pool_test

import (
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// The server process is killed and started again on the same port with the same data: the
// same client works again without any action by the application.
func TestServerProcessRestart(t *testing.T) {
	srv := testserver.StartServer(t)
	c := connect(t, testConfig(srv.Addr))
	ctx := pooltest.Ctx(t, 60*time.Second)
	id, err := c.CreateStream(ctx, "restart", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Append(ctx, id, [][]byte{[]byte("before")}, pool.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Kill()
	pooltest.WaitFor(t, 10*time.Second, "the client to notice the dead server", func() bool {
		n, _ := nodeStats(c, srv.Addr)
		return !n.Healthy
	})
	srv.Restart()
	off, err := c.Append(ctx, id, [][]byte{[]byte("after")}, pool.AppendOptions{})
	if err != nil || off != 3 {
		t.Fatalf("append after restart: offset %d, %v", off, err)
	}
	if n, err := c.StreamLength(ctx, id); err != nil || n != 4 {
		t.Fatalf("length after restart: %d %v", n, err)
	}
	// Once more, this time with calls running while the server is down.
	done := make(chan error, 1)
	srv.Kill()
	go func() {
		_, err := c.Append(ctx, id, [][]byte{[]byte("during")}, pool.AppendOptions{})
		done <- err
	}()
	srv.Restart()
	if err := <-done; err != nil {
		t.Fatalf("append across the restart: %v", err)
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != 5 || string(got[4]) != "during" {
		t.Fatalf("stream: %q", got)
	}
}
