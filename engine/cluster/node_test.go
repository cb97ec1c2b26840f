package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// testCluster runs raft nodes in this process, talking raft over loopback TCP, each over its
// own real engine database.
type testCluster struct {
	t     *testing.T
	cfgs  []Config
	nodes []*Node // nil while stopped
}

// freeAddr returns a loopback address no other node of this test process was given.
func freeAddr(t *testing.T) string { return testserver.FreePort(t) }

func newTestCluster(t *testing.T, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	peers := make([]Peer, n)
	for i := range peers {
		peers[i] = Peer{ID: fmt.Sprint(i + 1), ClientAddr: freeAddr(t), RaftAddr: freeAddr(t)}
	}
	c := &testCluster{t: t, cfgs: make([]Config, n), nodes: make([]*Node, n)}
	base := t.TempDir()
	for i := range c.cfgs {
		cfg := DefaultConfig()
		cfg.NodeID = peers[i].ID
		cfg.Peers = peers
		cfg.DataDir = filepath.Join(base, "node-"+peers[i].ID)
		cfg.ApplyTimeout = 3 * time.Second
		if tweak != nil {
			tweak(&cfg)
		}
		c.cfgs[i] = cfg
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	return c
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	n, err := Open(c.cfgs[i])
	if err != nil {
		c.t.Fatalf("node %d: %v", i+1, err)
	}
	c.nodes[i] = n
}

func (c *testCluster) stop(i int) {
	if c.nodes[i] != nil {
		if err := c.nodes[i].Close(); err != nil {
			c.t.Errorf("closing node %d: %v", i+1, err)
		}
		c.nodes[i] = nil
	}
}

// leader waits until exactly one running node leads and the others agree on it.
func (c *testCluster) leader() int {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		lead := -1
		for i, n := range c.nodes {
			if n != nil && n.IsLeader() {
				lead = i
			}
		}
		if lead >= 0 {
			agreed := true
			for _, n := range c.nodes {
				if n != nil {
					if id, _ := n.Leader(); id != c.cfgs[lead].NodeID {
						agreed = false
					}
				}
			}
			if agreed {
				return lead
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return -1
}

func (c *testCluster) submit(i int, op engine.Op) engine.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.nodes[i].Submit(op).Wait(ctx)
}

// waitStream polls node i until the stream holds want.
func (c *testCluster) waitStream(i int, sid uint64, want []string) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = readAll(c.t, c.nodes[i].db, sid)
		if reflect.DeepEqual(got, want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("node %d: stream %d holds %q, want %q", i+1, sid, got, want)
}

func createOp(name string) engine.Op {
	return engine.Op{Kind: engine.OpCreateStream, Name: name, DataClass: wire.DataClassPublic, Placement: wire.PlacementGlobal}
}

func wantCode(t *testing.T, err error, codes ...wire.ErrorCode) *engine.Error {
	t.Helper()
	var e *engine.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want an *engine.Error with code in %v", err, err, codes)
	}
	for _, c := range codes {
		if e.Code == c {
			return e
		}
	}
	t.Fatalf("got %v, want a code in %v", e, codes)
	return nil
}

func TestWritesReplicateAndFollowersRedirect(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lead := c.leader()
	ln := c.nodes[lead]
	if ln.Mode() != wire.ClusterClustered {
		t.Fatalf("mode %v", ln.Mode())
	}
	r := c.submit(lead, createOp("orders"))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	sid := r.StreamID
	var want []string
	for i := 0; i < 20; i++ {
		ev := fmt.Sprintf("event-%d", i)
		r := c.submit(lead, appendOp(sid, uint64(i), ev))
		if r.Err != nil || r.FirstOffset != uint64(i) {
			t.Fatalf("append %d: %+v", i, r)
		}
		want = append(want, ev)
	}
	// The leader answers reads linearizably: an acknowledged append is visible at once.
	evs, next, err := ln.Read(context.Background(), 0, sid, 0, 1<<20)
	if err != nil || len(evs) != 20 || next == nil || *next != 20 {
		t.Fatalf("leader read: %d events, next %v, %v", len(evs), next, err)
	}
	if n, err := ln.StreamLength(context.Background(), 0, sid); err != nil || n != 20 {
		t.Fatalf("leader length %d %v", n, err)
	}
	if err := ln.Sync(context.Background()); err != nil {
		t.Fatalf("leader sync: %v", err)
	}
	for i := range c.nodes {
		c.waitStream(i, sid, want)
		if got := c.nodes[i].TenantCount(); got != 1 {
			t.Fatalf("node %d tenant count %d", i+1, got)
		}
	}
	leaderClient := c.cfgs[lead].Self().ClientAddr
	for i, n := range c.nodes {
		if i == lead {
			continue
		}
		// A follower serves reads from what it applied.
		if got, err := n.StreamLength(context.Background(), 0, sid); err != nil || got != 20 {
			t.Fatalf("follower length %d %v", got, err)
		}
		res := c.submit(i, appendOp(sid, 20, "nope"))
		e := wantCode(t, res.Err, wire.ErrNotLeader)
		if want := wire.FormatNotLeader(n.Term(), leaderClient); e.Message != want {
			t.Fatalf("follower says %q, want %q", e.Message, want)
		}
		e = wantCode(t, n.Sync(context.Background()), wire.ErrNotLeader)
		if _, hint, ok := wire.ParseNotLeader(e.Message); !ok || hint != leaderClient {
			t.Fatalf("sync on follower: %q", e.Message)
		}
	}
}

func TestMinorityCannotCommit(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.ApplyTimeout = 2 * time.Second })
	lead := c.leader()
	r := c.submit(lead, createOp("s"))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := range c.nodes {
		c.waitStream(i, r.StreamID, nil)
	}
	// Stop both followers: the leader is left alone.
	for i := range c.nodes {
		if i != lead {
			c.stop(i)
		}
	}
	res := c.submit(lead, appendOp(r.StreamID, 0, "lost"))
	wantCode(t, res.Err, wire.ErrNotLeader, wire.ErrRateLimited)
	wantCode(t, c.nodes[lead].Sync(context.Background()), wire.ErrNotLeader, wire.ErrRateLimited)
	// Writes keep failing while the majority is away, and nothing was applied.
	res = c.submit(lead, appendOp(r.StreamID, 0, "lost"))
	wantCode(t, res.Err, wire.ErrNotLeader, wire.ErrRateLimited)
	if got := readAll(t, c.nodes[lead].db, r.StreamID); len(got) != 0 {
		t.Fatalf("a minority applied %q", got)
	}
}

// A follower restarts and replays its log into its persistent database; an append that was
// refused before must stay refused, so every node still holds the same stream.
func TestRestartedFollowerReplaysWithoutDuplicates(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lead := c.leader()
	sid := c.submit(lead, createOp("s")).StreamID
	if r := c.submit(lead, appendOp(sid, 0, "a")); r.Err != nil {
		t.Fatal(r.Err)
	}
	wantCode(t, c.submit(lead, appendOp(sid, 2, "refused")).Err, wire.ErrOffsetMismatch)
	if r := c.submit(lead, appendOp(sid, 1, "b")); r.Err != nil {
		t.Fatal(r.Err)
	}
	follower := (lead + 1) % 3
	c.waitStream(follower, sid, []string{"a", "b"})
	c.stop(follower)
	c.start(follower)
	lead = c.leader()
	if r := c.submit(lead, appendOp(sid, 2, "c")); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := range c.nodes {
		c.waitStream(i, sid, []string{"a", "b", "c"})
	}
}

// A follower that was down while the leader compacted its log catches up from a snapshot.
func TestLaggingFollowerCatchesUpFromSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 8
		// The appends go to one leader throughout; a starved 2-core machine must not hold a
		// heartbeat back long enough for an election between the two nodes left.
		cfg.HeartbeatTimeout = time.Second
		cfg.ElectionTimeout = time.Second
	})
	lead := c.leader()
	sid := c.submit(lead, createOp("s")).StreamID
	lagging := (lead + 1) % 3
	c.stop(lagging)
	var want []string
	for i := 0; i < 100; i++ {
		ev := fmt.Sprint(i)
		if r := c.submit(lead, appendOp(sid, uint64(i), ev)); r.Err != nil {
			t.Fatalf("append %d: %v", i, r.Err)
		}
		want = append(want, ev)
	}
	if err := c.nodes[lead].raft.Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	first, err := c.nodes[lead].logStore.FirstIndex()
	if err != nil || first <= 2 {
		t.Fatalf("log not compacted: first index %d, %v", first, err)
	}
	c.start(lagging)
	c.waitStream(lagging, sid, want)
	snaps, err := os.ReadDir(filepath.Join(c.cfgs[lagging].DataDir, "raft", "snapshots"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("the lagging node installed no snapshot: %v %v", snaps, err)
	}
	// And it keeps following.
	if r := c.submit(lead, appendOp(sid, 100, "more")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.waitStream(lagging, sid, append(want, "more"))
}

// A node whose database file was lost (raft state kept) restores its newest local snapshot,
// then replays the log after it.
func TestLostDatabaseIsRestoredFromSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.TrailingLogs = 4 })
	lead := c.leader()
	sid := c.submit(lead, createOp("s")).StreamID
	var want []string
	for i := 0; i < 30; i++ {
		want = append(want, fmt.Sprint(i))
		if r := c.submit(lead, appendOp(sid, uint64(i), want[i])); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	victim := (lead + 1) % 3
	c.waitStream(victim, sid, want)
	if err := c.nodes[victim].raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.stop(victim)
	if err := os.Remove(filepath.Join(c.cfgs[victim].DataDir, engine.FileName)); err != nil {
		t.Fatal(err)
	}
	c.start(victim)
	c.waitStream(victim, sid, want)
}

// The peer list given at start decides where peers are reached, so a cluster whose nodes all
// come back on new raft ports (the stored membership still has the old ones) forms again.
func TestRestartOnNewRaftPorts(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lead := c.leader()
	sid := c.submit(lead, createOp("s")).StreamID
	if r := c.submit(lead, appendOp(sid, 0, "before")); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := range c.nodes {
		c.waitStream(i, sid, []string{"before"})
	}
	for i := range c.nodes {
		c.stop(i)
	}
	peers := append([]Peer(nil), c.cfgs[0].Peers...)
	for i := range peers {
		peers[i].RaftAddr = freeAddr(t)
	}
	for i := range c.cfgs {
		c.cfgs[i].Peers = peers
		c.start(i)
	}
	lead = c.leader()
	if r := c.submit(lead, appendOp(sid, 1, "after")); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := range c.nodes {
		c.waitStream(i, sid, []string{"before", "after"})
	}
}

// A node that cannot start (its raft port is taken) fails with a clear error and releases its
// database, so a later start can open it.
func TestOpenFailsCleanlyWhenRaftPortIsTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := DefaultConfig()
	cfg.NodeID = "1"
	cfg.DataDir = t.TempDir()
	cfg.Peers = []Peer{{ID: "1", ClientAddr: freeAddr(t), RaftAddr: busy.Addr().String()}}
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "listening for raft on "+busy.Addr().String()) {
		t.Fatalf("Open with a busy raft port: %v", err)
	}
	busy.Close()
	n, err := Open(cfg)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	// A one-node cluster elects itself and commits alone.
	deadline := time.Now().Add(10 * time.Second)
	for !n.IsLeader() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := n.Submit(createOp("solo")).Wait(context.Background()); r.Err != nil {
		t.Fatalf("single-node write: %v", r.Err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := Open(Config{}); err == nil {
		t.Fatal("Open accepted an empty config")
	}
}

// A leader that stops hands its leadership over. Only node 1 has short timeouts here, so it
// is the first leader; the others would wait 30 s before starting an election on their own,
// so a new leader within the test's deadline can only come from the handover.
func TestStoppingLeaderHandsOverLeadership(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) {
		if cfg.NodeID != "1" {
			cfg.HeartbeatTimeout = 30 * time.Second
			cfg.ElectionTimeout = 30 * time.Second
		}
		cfg.ApplyTimeout = time.Second // bounds the last node's futile handover at cleanup
	})
	if lead := c.leader(); lead != 0 {
		t.Fatalf("node %d leads, want node 1", lead+1)
	}
	sid := c.submit(0, createOp("s")).StreamID
	c.stop(0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c.nodes[1].IsLeader() || c.nodes[2].IsLeader() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no node took over from the stopped leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lead := c.leader()
	if r := c.submit(lead, appendOp(sid, 0, "after")); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// A node whose database fails under it stops taking part and says so through Failed, so that the
// process can exit; the other nodes keep a majority and go on.
func TestStorageFailureIsReported(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lead := c.leader()
	r := c.submit(lead, createOp("s"))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	victim := (lead + 1) % 3
	c.waitStream(victim, r.StreamID, nil)
	// Closing the follower's database makes its next ApplyBatch fail, as a broken disk would.
	if err := c.nodes[victim].db.Close(); err != nil {
		t.Fatal(err)
	}
	if res := c.submit(lead, appendOp(r.StreamID, 0, "x")); res.Err != nil {
		t.Fatal(res.Err)
	}
	select {
	case err := <-c.nodes[victim].Failed():
		if err == nil {
			t.Fatal("Failed delivered nil")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the storage failure was not reported")
	}
	wantCode(t, c.submit(victim, createOp("t")).Err, wire.ErrNotLeader)
	if res := c.submit(lead, appendOp(r.StreamID, 1, "y")); res.Err != nil {
		t.Fatalf("the majority stopped after one node failed: %v", res.Err)
	}
}
