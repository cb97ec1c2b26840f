package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one server child process.
type proc struct {
	id   string
	addr string
	args []string
	bin  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) start() error {
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout = nil
	p.cmd.Stderr = nil // raft reports every killed peer; the bench prints its own account
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := dial(p.addr); err == nil {
			c.close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("node %s exited at start", p.id)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not ready", p.id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

type procs struct{ nodes []*proc }

// nodeArgs are extra flags for every cluster node (-node-args).
var nodeArgs string

func (ps *procs) stopAll() {
	for _, p := range ps.nodes {
		if p.cmd != nil {
			p.stop()
		}
	}
}

// givenAddrs are the addresses freeAddr handed out: the OS may return the same ephemeral port
// to two listeners opened one after the other, and two nodes cannot share an address.
var givenAddrs = map[string]bool{}

func freeAddr() (string, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		_ = l.Close()
		if !givenAddrs[addr] {
			givenAddrs[addr] = true
			return addr, nil
		}
	}
	return "", fmt.Errorf("no fresh loopback port after 100 tries")
}

func startSingle(bin, dir string) (*procs, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &proc{id: "single", addr: addr, bin: bin, args: []string{"server", "--listen", addr, "--data", dir, "--log-level", "error"}}
	ps := &procs{nodes: []*proc{p}}
	return ps, p.start()
}

func startCluster(bin, dir string, n int) (*procs, error) {
	ps := &procs{}
	var peers []string
	used := map[string]bool{}
	fresh := func() (string, error) {
		for {
			a, err := freeAddr()
			if err != nil || !used[a] {
				used[a] = true
				return a, err
			}
		}
	}
	for i := 1; i <= n; i++ {
		client, err := fresh()
		if err != nil {
			return nil, err
		}
		raft, err := fresh()
		if err != nil {
			return nil, err
		}
		peers = append(peers, "--peer", fmt.Sprintf("%d=%s,%s", i, client, raft))
		ps.nodes = append(ps.nodes, &proc{id: strconv.Itoa(i), addr: client, bin: bin})
	}
	for _, p := range ps.nodes {
		p.args = append([]string{"server", "--listen", p.addr, "--data", filepath.Join(dir, "node-"+p.id),
			"--log-level", "error", "--node-id", p.id,
			// Room for the idle-client measurement: 1,000 clients from one address.
			"--max-conns", "4096", "--max-conns-per-addr", "4096"}, peers...)
		p.args = append(p.args, strings.Fields(nodeArgs)...)
		if err := p.start(); err != nil {
			ps.stopAll()
			return nil, err
		}
	}
	return ps, nil
}

// waitLeader returns the index of the node that answers Sync with success.
func (ps *procs) waitLeader(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		for i, p := range ps.nodes {
			if probeSync(p.addr) == nil {
				return i, nil
			}
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("no leader after %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
