package cluster_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

var (
	nodeLine   = regexp.MustCompile(`^node=(\d+) pid=(\d+) addr=(\S+) metrics=(\S+)$`)
	leaderLine = regexp.MustCompile(`^leader=(\d+) addr=(\S+)$`)
)

// devRun is a running `kimberlite dev` with its stdout lines delivered on a channel.
type devRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *lockedBuffer
	done   chan struct{}
	pids   map[string]int // node id -> latest pid
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePortRange returns a port P such that P..P+n-1 were free a moment ago.
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for tries := 0; tries < 200; tries++ {
		p := 20000 + rand.IntN(30000)
		ok := true
		for i := 0; i < n && ok; i++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+i)))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free port range")
	return 0
}

func startDev(t *testing.T, args ...string) *devRun {
	t.Helper()
	d := &devRun{t: t, lines: make(chan string, 100), stderr: &lockedBuffer{}, done: make(chan struct{}), pids: map[string]int{}}
	d.cmd = exec.Command(testserver.Binary(t), append([]string{"dev"}, args...)...)
	d.cmd.Stderr = d.stderr
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
		close(d.lines)
	}()
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
		for _, pid := range d.pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return d
}

// next returns the next stdout line, failing the test after timeout.
func (d *devRun) next(timeout time.Duration) string {
	d.t.Helper()
	select {
	case l, ok := <-d.lines:
		if !ok {
			d.t.Fatalf("kimberlite dev closed its output; stderr:\n%s", d.stderr.String())
		}
		if m := nodeLine.FindStringSubmatch(l); m != nil {
			pid, _ := strconv.Atoi(m[2])
			d.pids[m[1]] = pid
		}
		return l
	case <-time.After(timeout):
		d.t.Fatalf("no line from kimberlite dev after %v; stderr:\n%s", timeout, d.stderr.String())
		return ""
	}
}

// processGone polls until pid no longer exists.
func processGone(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still exists after %v", pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *devRun) terminate() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("kimberlite dev did not exit after SIGTERM; stderr:\n%s", d.stderr.String())
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		d.t.Fatalf("kimberlite dev exited with %d; stderr:\n%s", code, d.stderr.String())
	}
	for _, pid := range d.pids {
		processGone(d.t, pid, 5*time.Second)
	}
}

func TestDevThreeNodes(t *testing.T) {
	port := freePortRange(t, 3)
	d := startDev(t, "--nodes", "3", "--port", strconv.Itoa(port), "--data", t.TempDir())
	addrs := map[string]string{}
	for i := 1; i <= 3; i++ {
		m := nodeLine.FindStringSubmatch(d.next(20 * time.Second))
		want := fmt.Sprintf("127.0.0.1:%d", port+i-1)
		if m == nil || m[1] != strconv.Itoa(i) || m[3] != want {
			t.Fatalf("line %d: %v, want node=%d pid=PID addr=%s", i, m, i, want)
		}
		addrs[m[1]] = m[3]
	}
	m := leaderLine.FindStringSubmatch(d.next(30 * time.Second))
	if m == nil || addrs[m[1]] != m[2] {
		t.Fatalf("leader line %v does not name a node", m)
	}
	leader := m[1]

	// The cluster serves: a stream written through the leader.
	var c *client
	var sid uint64
	waitCount(t, "a write on the announced leader", 20*time.Second, func() bool {
		cl, err := dial(addrs[leader])
		if err != nil {
			return false
		}
		if sid, err = cl.createStream(0, "dev"); err != nil {
			cl.close()
			return false
		}
		c = cl
		return true
	})
	if _, err := c.append(0, sid, 0, "one"); err != nil {
		t.Fatal(err)
	}
	c.close()

	// kill -9 the leader: the others elect a new one, dev announces it and does not restart
	// the dead node.
	killed := d.pids[leader]
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		l := d.next(30 * time.Second)
		if nodeLine.MatchString(l) {
			t.Fatalf("dev restarted a node without --restart: %s", l)
		}
		if m = leaderLine.FindStringSubmatch(l); m != nil && m[1] != leader {
			break
		}
	}
	processGone(t, killed, 5*time.Second)
	newLeader := m[2]
	waitCount(t, "a write on the new leader", 20*time.Second, func() bool {
		cl, err := dial(newLeader)
		if err != nil {
			return false
		}
		defer cl.close()
		_, err = cl.append(0, sid, 1, "two")
		return err == nil
	})
	waitStream(t, newLeader, 0, sid, []string{"one", "two"})
	d.terminate()
}

func TestDevSingleNode(t *testing.T) {
	port := freePortRange(t, 1)
	d := startDev(t, "--nodes", "1", "--port", strconv.Itoa(port), "--data", t.TempDir())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if l := d.next(20 * time.Second); !nodeLine.MatchString(l) || nodeLine.FindStringSubmatch(l)[3] != addr {
		t.Fatalf("got %q", l)
	}
	if l := d.next(20 * time.Second); l != "leader=1 addr="+addr {
		t.Fatalf("got %q", l)
	}
	if info := serverInfo(t, addr); info.ClusterMode != wire.ClusterStandalone {
		t.Fatalf("a one-node dev cluster reports %v", info.ClusterMode)
	}
	d.terminate()
}

func TestDevRefusesBadArguments(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	cases := []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"--nodes", "0"}, 2, "--nodes 0"},
		{[]string{"--port", "70000"}, 2, "--port 70000"},
		{[]string{"--nodes", "1", "--port", busyPort}, 1, "is in use"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--log-level", "loud"}, 2, "--log-level must be"},
	}
	for _, tc := range cases {
		cmd := exec.Command(testserver.Binary(t), append([]string{"dev", "--data", t.TempDir()}, tc.args...)...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != tc.code || !bytes.Contains(out, []byte(tc.say)) {
			t.Errorf("dev %v: exit %d, output %q; want exit %d saying %q", tc.args, cmd.ProcessState.ExitCode(), out, tc.code, tc.say)
		}
	}
}

func TestDevRestartFlagRestartsAKilledNode(t *testing.T) {
	port := freePortRange(t, 1)
	d := startDev(t, "--nodes", "1", "--restart", "--port", strconv.Itoa(port), "--data", t.TempDir())
	d.next(20 * time.Second) // node line
	first := d.pids["1"]
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		l := d.next(30 * time.Second)
		if m := nodeLine.FindStringSubmatch(l); m != nil {
			if m[1] != "1" || d.pids["1"] == first {
				t.Fatalf("unexpected restart line %q", l)
			}
			break
		}
	}
	processGone(t, first, 5*time.Second)
	if err := testserver.ProbeSync(fmt.Sprintf("127.0.0.1:%d", port), 20*time.Second); err != nil {
		// The restarted node may still be opening its database; poll it.
		waitCount(t, "the restarted node to answer", 20*time.Second, func() bool {
			return testserver.ProbeSync(fmt.Sprintf("127.0.0.1:%d", port), time.Second) == nil
		})
	}
	d.terminate()
}
