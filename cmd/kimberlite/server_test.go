package main

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// startServerBinary runs the real binary's server command on a free port and returns the address it
// printed on stdout.
func startServerBinary(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), append([]string{"server", "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "kimberlite server listening on ")
		if !ok || !found {
			t.Fatalf("first stdout line %q", l)
		}
		return cmd, addr
	case <-time.After(15 * time.Second):
		t.Fatal("the server printed no listening line")
	}
	return nil, ""
}

func serverExitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit")
		return -1
	}
}

func TestSIGTERMFinishesAppendsAndExitsZero(t *testing.T) {
	dir := t.TempDir()
	cmd, addr := startServerBinary(t, "--data", dir)
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := c.Call(3, wire.CreateStreamRequest{Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	sid := resp.(wire.CreateStreamResponse).StreamID
	const n = 50
	for i := range n {
		c.Send(3, wire.AppendEventsRequest{StreamID: sid, ExpectedOffset: uint64(i), Events: [][]byte{[]byte("e")}})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first answer so the server has begun on the batch, then stop it.
	first, err := c.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	answered := 1
	if first.Payload != (wire.AppendEventsResponse{FirstOffset: 0, Count: 1}) {
		t.Fatalf("append 0: %#v", first.Payload)
	}
	for ; answered < n; answered++ {
		r, err := c.Recv()
		if err != nil {
			break // requests the server had not read yet when it stopped reading
		}
		if r.Payload != (wire.AppendEventsResponse{FirstOffset: uint64(answered), Count: 1}) {
			t.Fatalf("append %d: %#v", answered, r.Payload)
		}
	}
	if code := serverExitCode(t, cmd); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}

	// Everything answered is on disk.
	_, addr = startServerBinary(t, "--data", dir)
	c2, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	resp, err = c2.Call(3, wire.StreamInfoRequest{StreamID: sid})
	if err != nil {
		t.Fatal(err)
	}
	if l := resp.(wire.StreamInfoResponse).Length; l < uint64(answered) {
		t.Fatalf("length %d after restart, %d appends were acknowledged", l, answered)
	}
}

func TestAuthTokenFlag(t *testing.T) {
	_, addr := startServerBinary(t, "--data", t.TempDir(), "--auth-token", "k=ey=12", "--auth-token", "other=13")
	c, err := rawconn.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, _ := c.Handshake(12, tokenPtr("nope"))
	if e, ok := resp.(wire.ErrorResponse); !ok || e.Code != wire.ErrAuthenticationFailed {
		t.Fatalf("bad token: %#v", resp)
	}
	resp, _ = c.Handshake(12, tokenPtr("k=ey"))
	if hs, ok := resp.(wire.HandshakeResponse); !ok || !hs.Authenticated {
		t.Fatalf("good token (containing '='): %#v", resp)
	}
	resp, _ = c.Call(13, wire.SyncRequest{})
	if e, ok := resp.(wire.ErrorResponse); !ok || e.Message != "tenant ID mismatch: token is for tenant 12, request targets tenant 13" {
		t.Fatalf("other tenant: %#v", resp)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	bin := testserver.Binary(t)
	for _, args := range [][]string{
		{"server", "--listen", "127.0.0.1:0"},
		{"server", "--data", t.TempDir(), "--auth-token", "notenant"},
		{"server", "--data", t.TempDir(), "--auth-token", "a=-1"},
		{"server", "--data", t.TempDir(), "--auth-token", "a=4294967296"},
		{"server", "--data", t.TempDir(), "--auth-token", "a=1", "--auth-token", "a=2"},
		{"server", "--data", t.TempDir(), "--log-level", "loud"},
		{"server", "--data", t.TempDir(), "--max-conns", "0"},
		{"server", "--data", t.TempDir(), "--idle-timeout", "soon"},
		{"server", "--data", t.TempDir(), "extra"},
		{"no-such-command"},
		{},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%q: %v, want exit code 2\n%s", args, err, out)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"server", "--help"}, {"version"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
		if args[0] != "version" && !strings.Contains(string(out), "server") {
			t.Errorf("%q: usage does not list the server command:\n%s", args, out)
		}
	}
}

func tokenPtr(s string) *string { return &s }
