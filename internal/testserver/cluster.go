package testserver

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

// Cluster is a replicated cluster of `kimberlite server` child processes on loopback ports,
// node i (0-based) having raft id i+1. Stopped nodes can be restarted with their data.
type Cluster struct {
	t     testing.TB
	Nodes []*Process
	// RaftAddrs are the nodes' raft listen addresses, in node order.
	RaftAddrs []string
}

// StartCluster starts n nodes forming one cluster, each with a temporary data folder and
// `--log-level warn`, plus extra arguments, and waits until each answers a handshake (not for
// a leader: see WaitLeader). The nodes are killed when the test ends.
func StartCluster(t testing.TB, n int, extra ...string) *Cluster {
	t.Helper()
	used := map[string]bool{}
	fresh := func() string {
		for {
			if a := FreePort(t); !used[a] {
				used[a] = true
				return a
			}
		}
	}
	clients := make([]string, n)
	c := &Cluster{t: t, RaftAddrs: make([]string, n)}
	var peers []string
	for i := range clients {
		clients[i], c.RaftAddrs[i] = fresh(), fresh()
		peers = append(peers, "--peer", fmt.Sprintf("%d=%s,%s", i+1, clients[i], c.RaftAddrs[i]))
	}
	for i := range clients {
		args := []string{"server", "--listen", clients[i], "--data", t.TempDir(), "--log-level", "warn",
			"--node-id", strconv.Itoa(i + 1)}
		args = append(append(args, peers...), extra...)
		c.Nodes = append(c.Nodes, Start(t, clients[i], args...))
	}
	return c
}

// Addrs returns the client addresses of all nodes, in node order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, p := range c.Nodes {
		out[i] = p.Addr
	}
	return out
}

// Leader returns the index of a running node that answers Sync with success (the leader), or
// -1 when none does right now.
func (c *Cluster) Leader() int {
	for i, p := range c.Nodes {
		if !p.Exited() && ProbeSync(p.Addr, 2*time.Second) == nil {
			return i
		}
	}
	return -1
}

// WaitLeader polls until a running node leads, or fails the test after timeout.
func (c *Cluster) WaitLeader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if i := c.Leader(); i >= 0 {
			return i
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no leader among %v after %v", c.Addrs(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL to node i and waits until it has exited.
func (c *Cluster) Kill(i int) { c.Nodes[i].Kill() }

// Stop stops node i with SIGTERM (killing it after 15 s) and reports whether it exited cleanly.
func (c *Cluster) Stop(i int) bool { return c.Nodes[i].Stop(15 * time.Second) }

// Restart starts node i again with its arguments and data, and waits until it answers.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Nodes[i].Restart()
}

// ServerError is an Error response received from a server.
type ServerError struct {
	Code    wire.ErrorCode
	Message string
}

// Error renders the code and the server's message.
func (e *ServerError) Error() string { return fmt.Sprintf("%v: %s", e.Code, e.Message) }

// ProbeSync sends one Sync request on a fresh connection. It returns nil when the server
// answered success (in a cluster: this node leads and a majority is reachable), a
// *ServerError for an Error response (NotLeader on a follower), or the I/O error.
func ProbeSync(addr string, timeout time.Duration) error {
	resp, err := rawconn.RoundTrip(addr, timeout, wire.SyncRequest{})
	if err != nil {
		return err
	}
	switch p := resp.(type) {
	case wire.SyncResponse:
		if !p.Success {
			return fmt.Errorf("sync: success=false")
		}
		return nil
	case wire.ErrorResponse:
		return &ServerError{Code: p.Code, Message: p.Message}
	default:
		return fmt.Errorf("sync: got %#v", p)
	}
}
