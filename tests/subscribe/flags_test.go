package subscribe_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// The subscription caps are flags of `kimberlite server`; a cap below 1 is refused.
func TestSubscriptionCapFlags(t *testing.T) {
	for _, args := range [][]string{{"--max-subscriptions-per-conn", "0"}, {"--max-subscriptions", "-1"}} {
		cmd := exec.Command(testserver.Binary(t), append([]string{"server", "--listen", testserver.FreePort(t), "--data", t.TempDir()}, args...)...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() == 0 || !bytes.Contains(out, []byte(args[0][2:])) || !bytes.Contains(out, []byte("must be an integer of at least 1")) {
			t.Errorf("server %v: exit %d, output %q", args, cmd.ProcessState.ExitCode(), out)
		}
	}

	p := testserver.StartServer(t, "--max-subscriptions-per-conn", "1", "--max-subscriptions", "2")
	call := func(c *rawconn.Conn, req wire.RequestPayload) wire.ResponsePayload {
		t.Helper()
		resp, err := c.Call(1, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	dial := func() *rawconn.Conn {
		c, err := rawconn.Dial(p.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.NetConn().SetDeadline(time.Now().Add(20 * time.Second))
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := dial()
	sid := call(a, wire.CreateStreamRequest{Name: "capped", Placement: wire.PlacementGlobal}).(wire.CreateStreamResponse).StreamID
	hs := call(a, wire.HandshakeRequest{ClientVersion: wire.Version}).(wire.HandshakeResponse)
	if !strings.Contains(strings.Join(hs.Capabilities, ","), "subscribe") {
		t.Fatalf("capabilities %v lack subscribe", hs.Capabilities)
	}
	refused := func(resp wire.ResponsePayload, flag string) {
		t.Helper()
		e, ok := resp.(wire.ErrorResponse)
		if !ok || e.Code != wire.ErrRateLimited || !strings.Contains(e.Message, flag) {
			t.Fatalf("got %#v, want RateLimited naming %s", resp, flag)
		}
	}
	if _, ok := call(a, wire.SubscribeRequest{StreamID: sid}).(wire.SubscribeResponse); !ok {
		t.Fatal("first subscription refused")
	}
	refused(call(a, wire.SubscribeRequest{StreamID: sid}), "max-subscriptions-per-conn")
	b, c := dial(), dial()
	if _, ok := call(b, wire.SubscribeRequest{StreamID: sid}).(wire.SubscribeResponse); !ok {
		t.Fatal("second connection's subscription refused")
	}
	refused(call(c, wire.SubscribeRequest{StreamID: sid}), "(max-subscriptions)")
}
