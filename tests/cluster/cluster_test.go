// Package cluster_test runs replicated clusters of the real `kimberlite` binary as child
// processes and checks replication, NotLeader redirection, failover, quorum and restarts over
// raw protocol frames.
package cluster_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// writer appends unique events to one stream through whichever node leads, for as long as it
// runs. It records every acknowledged append with its offset; an append whose answer was lost
// (leader killed) or refused has an unknown outcome, so the writer re-reads the stream length
// from the leader before its next append.
type writer struct {
	addrs       []string
	tenant, sid uint64

	mu    sync.Mutex
	acked map[uint64]string // offset -> event
	err   error             // a broken invariant seen while writing
}

func (w *writer) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) findLeader(stop <-chan struct{}) *client {
	for {
		for _, a := range w.addrs {
			if testserver.ProbeSync(a, time.Second) == nil {
				if c, err := dial(a); err == nil {
					return c
				}
			}
		}
		select {
		case <-stop:
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (w *writer) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var c *client
	var next uint64
	resync := true
	for k := 0; ; k++ {
		select {
		case <-stop:
			if c != nil {
				c.close()
			}
			return
		default:
		}
		if c == nil {
			if c = w.findLeader(stop); c == nil {
				return
			}
			resync = true
		}
		if resync {
			n, err := c.length(w.tenant, w.sid)
			if err != nil {
				c.close()
				c = nil
				continue
			}
			next, resync = n, false
		}
		ev := fmt.Sprintf("w-%06d", k)
		off, err := c.append(w.tenant, w.sid, next, ev)
		if err == nil {
			w.mu.Lock()
			if off != next {
				w.err = fmt.Errorf("append at %d acknowledged at offset %d", next, off)
			}
			if prev, dup := w.acked[off]; dup {
				w.err = fmt.Errorf("offset %d acknowledged twice (%s, %s)", off, prev, ev)
			}
			w.acked[off] = ev
			w.mu.Unlock()
			next++
			continue
		}
		if code, _, ok := errCode(err); !ok || code == wire.ErrNotLeader {
			c.close()
			c = nil
		}
		resync = true
	}
}

func waitCount(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkAcked verifies that every acknowledged append sits at its offset and that no event
// appears twice.
func checkAcked(t *testing.T, node string, events []string, acked map[uint64]string) {
	t.Helper()
	seen := map[string]int{}
	for i, e := range events {
		if j, dup := seen[e]; dup {
			t.Fatalf("%s: event %q at offsets %d and %d", node, e, j, i)
		}
		seen[e] = i
	}
	for off, e := range acked {
		if off >= uint64(len(events)) || events[off] != e {
			got := "nothing"
			if off < uint64(len(events)) {
				got = events[off]
			}
			t.Fatalf("%s: acknowledged %q at offset %d, found %s", node, e, off, got)
		}
	}
}

func TestReplicationRedirectAndFailover(t *testing.T) {
	c := testserver.StartCluster(t, 3)
	lead := c.WaitLeader(20 * time.Second)
	if info := serverInfo(t, c.Nodes[lead].Addr); info.ClusterMode != wire.ClusterClustered {
		t.Fatalf("ServerInfo cluster mode %v, want Clustered", info.ClusterMode)
	}

	// Writes on the leader reach every node.
	const tenant = 7
	sid := leaderCreate(t, c, tenant, "failover")
	var first []string
	for i := 0; i < 20; i++ {
		first = append(first, fmt.Sprintf("first-%02d", i))
		leaderAppend(t, c, tenant, sid, uint64(i), first[i])
	}
	for _, a := range c.Addrs() {
		waitStream(t, a, tenant, sid, first)
	}

	// A follower refuses writes with the exact NotLeader text naming the leader's client
	// address. (Should leadership move meanwhile, the check is repeated against the new one.)
	requests := []wire.RequestPayload{
		wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("x")}, ExpectedOffset: 20},
		wire.CreateStreamRequest{Name: "other", Placement: wire.PlacementGlobal},
		wire.SyncRequest{},
	}
	checked := 0
	deadline := time.Now().Add(30 * time.Second)
	for checked < 2*len(requests) {
		if time.Now().After(deadline) {
			t.Fatal("leadership kept moving; could not check the followers' NotLeader answers")
		}
		lead = c.WaitLeader(20 * time.Second)
		leadAddr := c.Nodes[lead].Addr
		checked = 0
		for i, a := range c.Addrs() {
			if i == lead {
				continue
			}
			for _, req := range requests {
				_, err := mustDial(t, a).call(tenant, req)
				code, msg, ok := errCode(err)
				if !ok || code != wire.ErrNotLeader {
					t.Fatalf("follower %s answered %T with %v, want NotLeader", a, req, err)
				}
				view, hint, ok := wire.ParseNotLeader(msg)
				if !ok || view < 1 || msg != fmt.Sprintf("not the leader (view: %d, leader hint: %s)", view, hint) {
					t.Fatalf("follower %s: NotLeader text %q", a, msg)
				}
				if hint == leadAddr {
					checked++
				}
			}
		}
	}

	// Kill -9 the leader while appends are in flight; a new leader takes writes.
	w := &writer{addrs: c.Addrs(), tenant: tenant, sid: sid, acked: map[uint64]string{}}
	for i, e := range first {
		w.acked[uint64(i)] = e
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go w.run(stop, done)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	waitCount(t, "appends before the kill", 30*time.Second, func() bool { return w.ackedCount() >= 50 })
	lead = c.WaitLeader(20 * time.Second)
	c.Kill(lead)
	before := w.ackedCount()
	waitCount(t, "appends on a new leader", 30*time.Second, func() bool { return w.ackedCount() >= before+30 })
	close(stop)
	<-done
	if w.err != nil {
		t.Fatal(w.err)
	}
	newLead := c.WaitLeader(20 * time.Second)
	if newLead == lead {
		t.Fatalf("the killed node %d still leads", lead)
	}

	// Every acknowledged append is present exactly once at its offset, on every node.
	events := readAllRetry(t, c.Nodes[newLead].Addr, tenant, sid)
	checkAcked(t, "new leader", events, w.acked)
	for i, a := range c.Addrs() {
		if i != lead {
			waitStream(t, a, tenant, sid, events)
		}
	}
	c.Restart(lead)
	waitStream(t, c.Nodes[lead].Addr, tenant, sid, events)
	for i, a := range c.Addrs() {
		checkAcked(t, fmt.Sprintf("node %d", i+1), readAllRetry(t, a, tenant, sid), w.acked)
	}
}

func TestMinorityCannotCommit(t *testing.T) {
	c := testserver.StartCluster(t, 3)
	sid := leaderCreate(t, c, 1, "quorum")
	leaderAppend(t, c, 1, sid, 0, "committed")
	for _, a := range c.Addrs() {
		waitStream(t, a, 1, sid, []string{"committed"})
	}
	lead := c.WaitLeader(20 * time.Second)
	addr := c.Nodes[lead].Addr
	for i := range c.Nodes {
		if i != lead {
			c.Stop(i)
		}
	}
	// The lone node cannot commit: the append fails (within the client's 20 s deadline, the
	// node's apply timeout being 5 s) instead of hanging or succeeding.
	_, err := mustDial(t, addr).append(1, sid, 1, "lost")
	code, msg, ok := errCode(err)
	switch {
	case ok && code == wire.ErrNotLeader:
	case ok && code == wire.ErrRateLimited && strings.HasPrefix(msg, "no_quorum: commit timed out after "):
	default:
		t.Fatalf("append on a minority: %v", err)
	}
	// Once it has stepped down it knows no leader and says so.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err = mustDial(t, addr).append(1, sid, 1, "lost")
		code, msg, _ := errCode(err)
		if _, hint, ok := wire.ParseNotLeader(msg); code == wire.ErrNotLeader && ok && hint == "" {
			if !strings.HasSuffix(msg, ", leader hint: unknown)") {
				t.Fatalf("NotLeader text %q", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lone node still answers %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := testserver.ProbeSync(addr, 20*time.Second); err == nil {
		t.Fatal("Sync succeeded on a minority")
	}
}

func TestFullRestartKeepsData(t *testing.T) {
	c := testserver.StartCluster(t, 3)
	a := leaderCreate(t, c, 1, "a")
	b := leaderCreate(t, c, 2, "b")
	var wantA []string
	for i := 0; i < 10; i++ {
		wantA = append(wantA, fmt.Sprintf("a%d", i))
		leaderAppend(t, c, 1, a, uint64(i), wantA[i])
	}
	wantB := []string{"b0", "b1", "b2", "b3", "b4"}
	leaderAppend(t, c, 2, b, 0, wantB...)
	for _, addr := range c.Addrs() {
		waitStream(t, addr, 1, a, wantA)
	}
	for i := range c.Nodes {
		if !c.Stop(i) {
			t.Fatalf("node %d did not stop cleanly:\n%s", i+1, c.Nodes[i].Output())
		}
	}
	for i := range c.Nodes {
		c.Restart(i)
	}
	for _, addr := range c.Addrs() {
		waitStream(t, addr, 1, a, wantA)
		waitStream(t, addr, 2, b, wantB)
	}
	if id := leaderCreate(t, c, 1, "a"); id != a {
		t.Fatalf("re-creating stream a gave %d, want %d", id, a)
	}
	leaderAppend(t, c, 1, a, 10, "after")
	if info := serverInfo(t, c.Nodes[c.WaitLeader(20*time.Second)].Addr); info.TenantCount != 2 {
		t.Fatalf("tenant count %d after restart, want 2", info.TenantCount)
	}
}
