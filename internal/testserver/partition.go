package testserver

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/tests/faultproxy"
)

// Partitionable is a 3-node cluster whose raft traffic goes through one fault proxy per
// direction (node i dials node j through Links[i][j]), so a node can be cut off from its peers
// while clients still reach it.
type Partitionable struct {
	Nodes []*Process
	Links [3][3]*faultproxy.Proxy
}

// StartPartitionable starts the cluster with extra server arguments; the nodes are killed when
// the test ends.
func StartPartitionable(t *testing.T, extra ...string) *Partitionable {
	t.Helper()
	const n = 3
	clients, rafts := make([]string, n), make([]string, n)
	used := map[string]bool{}
	for i := 0; i < n; i++ {
		for _, p := range []*string{&clients[i], &rafts[i]} {
			for *p == "" || used[*p] {
				*p = FreePort(t)
			}
			used[*p] = true
		}
	}
	pc := &Partitionable{}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				pc.Links[i][j] = faultproxy.New(t, rafts[j])
			}
		}
	}
	for i := 0; i < n; i++ {
		args := []string{"server", "--listen", clients[i], "--data", t.TempDir(), "--log-level", "error",
			"--node-id", strconv.Itoa(i + 1)}
		for j := 0; j < n; j++ {
			raft := rafts[j]
			if j != i {
				raft = pc.Links[i][j].Addr()
			}
			args = append(args, "--peer", fmt.Sprintf("%d=%s,%s", j+1, clients[j], raft))
		}
		pc.Nodes = append(pc.Nodes, Start(t, clients[i], append(args, extra...)...))
	}
	return pc
}

// Addrs returns the client addresses of all nodes, in node order.
func (pc *Partitionable) Addrs() []string {
	var out []string
	for _, p := range pc.Nodes {
		out = append(out, p.Addr)
	}
	return out
}

// Isolate cuts node i's raft traffic both ways; clients still reach it.
func (pc *Partitionable) Isolate(i int) {
	for j := range pc.Nodes {
		if j != i {
			pc.Links[i][j].BlackHole()
			pc.Links[j][i].BlackHole()
		}
	}
}

// Heal lets all raft traffic through again.
func (pc *Partitionable) Heal() {
	for i := range pc.Nodes {
		for j := range pc.Nodes {
			if i != j {
				pc.Links[i][j].Pass()
			}
		}
	}
}

// Leader returns the index of a node (other than not, -1 for any) that answers Sync as leader,
// or -1 if none does.
func (pc *Partitionable) Leader(not int) int {
	for i, p := range pc.Nodes {
		if i != not && !p.Exited() && ProbeSync(p.Addr, time.Second) == nil {
			return i
		}
	}
	return -1
}
