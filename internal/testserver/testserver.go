// Package testserver starts the project's own `kimberlite` server as a child process on loopback
// ports, for tests in any package. The binary is built once per test process from ./cmd/kimberlite
// (or taken from $KIMBERLITE_BIN). Nothing here mocks the server: tests talk to the real thing.
package testserver

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary returns the path of a freshly built kimberlite server binary.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("KIMBERLITE_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "kimberlite-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kimberlite")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/kimberlite")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building kimberlite: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var (
	portsMu sync.Mutex
	given   = map[string]bool{}
)

// FreePort returns a loopback "127.0.0.1:PORT" that was free a moment ago and that this process
// has not handed out before: the OS may give the same ephemeral port to two listeners opened one
// after the other, and a cluster whose nodes share an address cannot form.
func FreePort(t testing.TB) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		if !given[addr] {
			given[addr] = true
			return addr
		}
	}
	t.Fatal("no fresh loopback port after 100 tries")
	return ""
}

// Process is one running (or stopped) server process.
type Process struct {
	t    testing.TB
	Addr string   // client address
	Args []string // arguments after the binary, reused by Restart
	// TLS, when set, is how readiness probes dial a server that serves TLS (see tls.go).
	TLS  *tls.Config
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartServer starts `kimberlite server --listen ADDR --data DIR extra...` on a free port with a
// temporary data folder, waits until it answers a handshake, and stops it when the test ends.
func StartServer(t testing.TB, extra ...string) *Process {
	t.Helper()
	addr := FreePort(t)
	args := append([]string{"server", "--listen", addr, "--data", t.TempDir(), "--log-level", "warn"}, extra...)
	return Start(t, addr, args...)
}

// Start runs the binary with args, and waits until addr answers a handshake.
func Start(t testing.TB, addr string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, Addr: addr, Args: args}
	p.launch()
	t.Cleanup(p.Kill)
	p.WaitReady(15 * time.Second)
	return p
}

func (p *Process) launch() {
	p.t.Helper()
	p.out = &syncBuffer{}
	p.cmd = exec.Command(Binary(p.t), p.Args...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
}

// Output returns what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Pid is the process id of the running server.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitReady polls until the server completes a protocol handshake, or fails the test.
func (p *Process) WaitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			p.t.Fatalf("server %s exited before it was ready:\n%s", p.Addr, p.Output())
		}
		if HandshakeTLS(p.Addr, 500*time.Millisecond, p.TLS) == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server %s not ready after %v:\n%s", p.Addr, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to end. Safe to call more than once.
func (p *Process) Kill() {
	if p.cmd == nil || p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for a clean exit (then kills). It reports whether
// the process exited on its own.
func (p *Process) Stop(timeout time.Duration) bool {
	if p.Exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		p.Kill()
		return false
	}
}

// Restart starts the process again with the same arguments (and data folder) after it ended,
// and waits until it is ready.
func (p *Process) Restart() {
	p.t.Helper()
	p.Kill()
	p.launch()
	p.WaitReady(15 * time.Second)
}

// Handshake dials addr, sends a v5 handshake and checks the reply.
func Handshake(addr string, timeout time.Duration) error {
	resp, err := rawconn.RoundTrip(addr, timeout, wire.HandshakeRequest{ClientVersion: wire.Version})
	if err != nil {
		return err
	}
	if _, ok := resp.(wire.HandshakeResponse); !ok {
		return fmt.Errorf("handshake: got %#v", resp)
	}
	return nil
}

// Signal sends sig to the process if it is running (SIGSTOP and SIGCONT pause and resume it).
func (p *Process) Signal(sig syscall.Signal) error {
	if p.cmd == nil || p.Exited() {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}
