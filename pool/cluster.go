package pool

import (
	"context"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// cluster knows the nodes and which one leads. The leader comes from NotLeader hints, tracked
// with their view (raft term) so that an older hint never overrides a newer one, and from probing
// every node (its role in ServerInfo, or Sync) when no hint names it. A leader hint outside the
// seed list adds a node.
//
// After a leader is lost, the followers go on naming it until their own election timeout
// fires, so their hints for it in the view it led in are not followed while it is unreachable:
// the client asks every node again instead, and waits for the election (see leaderNode).
type cluster struct {
	c *Client

	mu     sync.Mutex
	nodes  []*node
	leader *node
	view   uint64
	// lastLeader is the last node known to lead, kept while the leader is unknown, so that
	// finding another one counts as a change and drops connections to the old one.
	lastLeader *node
	// gone is the leader lost in view goneView (it stopped answering), until a leader is
	// known again.
	gone      *node
	goneView  uint64
	termSeen  uint64     // the highest term any node reported, to notice an election moving on
	discovery *discovery // the discovery in progress, if any
	dialErr   error
}

// discovery is one discovery in progress: one round of probing every node, or a search that
// repeats rounds while nodes answer but none leads. done is closed when it found a leader, no
// node answered, or its time ran out.
type discovery struct {
	done   chan struct{}
	search bool
}

// Pacing of a search: the pause between rounds starts at searchPauseMin, grows by half up to
// searchPauseMax, and starts over when a node reports a newer term (an election is under way,
// its winner is about to be known). A round waits for slow probes at most roundSlack once some
// node answered. A search gives up after searchWindow: longer than a few election rounds.
const (
	searchPauseMin = 5 * time.Millisecond
	searchPauseMax = 50 * time.Millisecond
	roundSlack     = 50 * time.Millisecond
	searchWindow   = 2 * time.Second
)

func newCluster(c *Client) *cluster { return &cluster{c: c} }

// add returns the node for addr, creating it if needed.
func (r *cluster) add(addr string) *node {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addLocked(addr)
}

func (r *cluster) addLocked(addr string) *node {
	for _, n := range r.nodes {
		if n.matches(addr) {
			return n
		}
	}
	n := newNode(r.c, addr)
	r.nodes = append(r.nodes, n)
	return n
}

func (r *cluster) all() []*node {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*node(nil), r.nodes...)
}

func (r *cluster) currentLeader() (*node, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader, r.view
}

func (r *cluster) anyHealthy() bool {
	for _, n := range r.all() {
		if n.healthy.Load() {
			return true
		}
	}
	return false
}

func (r *cluster) setLastDialErr(err error) {
	r.mu.Lock()
	r.dialErr = err
	r.mu.Unlock()
}

func (r *cluster) lastDialErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dialErr
}

// confirmed records that n answered Sync successfully: it leads. A healthy known leader is kept
// (a deposed leader says so itself, with NotLeader, and a dead one fails its health check), so
// two addresses of one standalone server do not take turns as leader.
func (r *cluster) confirmed(n *node) {
	r.mu.Lock()
	old := r.leader
	if old != nil && old != n && old.healthy.Load() {
		r.mu.Unlock()
		return
	}
	r.leader = n
	r.mu.Unlock()
	r.changed(old, n)
}

// tentative makes n the leader if none is known.
func (r *cluster) tentative(n *node) {
	r.mu.Lock()
	if r.leader != nil {
		r.mu.Unlock()
		return
	}
	r.leader = n
	r.mu.Unlock()
	r.changed(nil, n)
}

// notLeader records a NotLeader answer from n with the view and hint it carried (hint "" for
// unknown). Only a hint that names a leader moves the view: a node that knows no leader may be a
// partitioned candidate whose term ran ahead, and must not make the real leader's hints look
// old. It returns the leader now believed, or nil.
func (r *cluster) notLeader(from *node, view uint64, hint string) *node {
	r.mu.Lock()
	old := r.leader
	if old == from {
		r.leader = nil // n said itself that it does not lead
	}
	if hint != "" && view >= r.view {
		target := r.addLocked(hint)
		// The leader we lost, named by a follower that has not noticed yet, is not followed.
		stale := target == r.gone && view <= r.goneView && !target.healthy.Load()
		if target != from && !stale && (view > r.view || r.leader == nil) {
			r.leader = target
			r.view = view
		}
	}
	l := r.leader
	r.mu.Unlock()
	if from != l {
		from.role.Store(roleFollower)
	}
	r.changed(old, l)
	return l
}

// lost forgets n as leader after it stopped answering.
func (r *cluster) lost(n *node) {
	r.mu.Lock()
	if r.leader != n {
		r.mu.Unlock()
		return
	}
	r.leader = nil
	r.gone, r.goneView = n, r.view
	r.mu.Unlock()
	n.role.Store(roleUnknown)
}

// connLost is called when n lost its last connection to a failure. If n led, it is dialed again
// at once: when it cannot be reached (it died, and followers will name it until their election
// timeout), it is forgotten as leader and one discovery round starts, so the next call looks
// for the new leader instead of redialing n with backoff. A node that answers the dial (say, a
// server that closed an idle connection) stays the leader, and one that refuses the handshake
// (TLS, authentication) is left for the calls to report. One round, not a search: every idle
// client of a cluster sees its leader's connection break at the same moment.
func (r *cluster) connLost(n *node) {
	if l, _ := r.currentLeader(); l != n {
		return
	}
	r.c.spawn(func() {
		ctx, cancel := context.WithTimeout(r.c.life, r.c.cfg.ConnectTimeout)
		defer cancel()
		cn, err := n.acquireForProbe(ctx)
		if err == nil {
			n.release(cn)
			return
		}
		if e, ok := err.(*Error); ok && e.Kind == KindConnection {
			r.lost(n)
			r.startDiscovery()
		}
	})
}

// sawTerm records a term a node reported.
func (r *cluster) sawTerm(t uint64) {
	r.mu.Lock()
	if t > r.termSeen {
		r.termSeen = t
	}
	r.mu.Unlock()
}

func (r *cluster) highestTerm() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.termSeen
}

// changed applies a leader change: roles, the counter, and dropping the deposed leader's
// connections so no further call goes to it. A leader lost and later found again through
// discovery counts as a change only if a different node leads.
func (r *cluster) changed(old, now *node) {
	if now != nil {
		now.role.Store(roleLeader)
	}
	if old == now {
		return
	}
	if old != nil {
		old.role.Store(roleFollower)
		old.drain()
	}
	if now == nil {
		return
	}
	r.mu.Lock()
	r.gone = nil
	prev := r.lastLeader
	r.lastLeader = now
	view := r.view
	r.mu.Unlock()
	if prev != now {
		prevAddr := ""
		if prev != nil {
			prevAddr = prev.addr
		}
		r.logLeaderChanged(prevAddr, now.addr, view)
	}
	if prev != nil && prev != now {
		r.c.stats.leaderChanges.Add(1)
		if prev != old {
			prev.role.Store(roleFollower)
			prev.drain()
		}
	}
}

// startDiscovery probes every node once, unless a discovery is already running, and returns
// the one running. The probes run on their own, bounded by ConnectTimeout, so a caller may stop
// waiting.
func (r *cluster) startDiscovery() *discovery { return r.discover(false) }

// discover returns the discovery in progress or starts one: a search when search is set.
func (r *cluster) discover(search bool) *discovery {
	r.mu.Lock()
	if d := r.discovery; d != nil {
		r.mu.Unlock()
		return d
	}
	d := &discovery{done: make(chan struct{}), search: search}
	r.discovery = d
	r.mu.Unlock()
	finish := func() {
		r.mu.Lock()
		r.discovery = nil
		r.mu.Unlock()
		close(d.done)
	}
	if !r.c.spawn(func() { defer finish(); r.run(d) }) {
		finish()
	}
	return d
}

// run performs d: rounds of probes until a leader is known, a round in which no node answered,
// or (a search) searchWindow. Between rounds of a search it pauses, so that one client polls a
// cluster in election at most once per searchPauseMin however many calls wait.
func (r *cluster) run(d *discovery) {
	until := time.Now().Add(searchWindow)
	pause := searchPauseMin
	term := r.highestTerm()
	for {
		answered, pending := r.probeRound()
		if l, _ := r.currentLeader(); l != nil || !d.search || (!answered && !pending) || time.Now().After(until) {
			return
		}
		if t := r.highestTerm(); t > term {
			term, pause = t, searchPauseMin
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-r.c.shutdown:
			t.Stop()
			return
		case <-r.c.life.Done():
			t.Stop()
			return
		}
		pause = min(pause*3/2, searchPauseMax)
	}
}

// probeRound probes, in parallel, every node that no earlier round is still probing, and waits
// until a leader is known, every probe ended, or roundSlack after the first answer (a hung node
// does not hold up the others' news; its probe goes on and is not repeated until it ends). It
// reports whether a node answered and whether a node was left out because its probe was still
// running.
func (r *cluster) probeRound() (answered, pending bool) {
	nodes := r.all()
	results := make(chan bool, len(nodes))
	started := 0
	for _, n := range nodes {
		if !n.seeking.CompareAndSwap(false, true) {
			pending = true
			continue
		}
		if r.c.spawn(func() { defer n.seeking.Store(false); results <- r.c.probe(n) }) {
			started++
		} else {
			n.seeking.Store(false)
		}
	}
	var slack <-chan time.Time
	for i := 0; i < started; i++ {
		select {
		case ok := <-results:
			if ok && !answered {
				answered = true
				t := time.NewTimer(roundSlack)
				defer t.Stop()
				slack = t.C
			}
		case <-slack:
			return answered, true
		case <-r.c.shutdown:
			return answered, false
		}
		if l, _ := r.currentLeader(); l != nil {
			return true, false
		}
	}
	return answered, pending
}

// leaderNode returns the leader, discovering it when unknown: while nodes answer but none leads
// (an election), it waits for one, up to searchWindow. It fails with KindClusterUnavailable
// when no node names a leader by then, or no node answers.
func (r *cluster) leaderNode(ctx context.Context) (*node, error) {
	for joined := 0; ; joined++ {
		if l, _ := r.currentLeader(); l != nil {
			return l, nil
		}
		d := r.discover(true)
		select {
		case <-d.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.c.shutdown:
			return nil, errClosed()
		}
		if l, _ := r.currentLeader(); l != nil {
			return l, nil
		}
		// A single round that someone else started may have ended before the election did:
		// then search once more.
		if d.search || joined >= 1 {
			return nil, &Error{Kind: KindClusterUnavailable, Message: "no leader is known and no node claims to lead",
				LastDialErr: r.lastDialErr()}
		}
	}
}

// anyNode picks the healthy node with the fewest calls in flight, or nil.
func (r *cluster) anyNode() *node {
	var best *node
	var bestInf int32
	for _, n := range r.all() {
		if !n.healthy.Load() {
			continue
		}
		inf := n.totalInFlight()
		if best == nil || inf < bestInf {
			best, bestInf = n, inf
		}
	}
	return best
}

// probe asks n (dialing if needed) for its role with GetServerInfo, or with Sync when its
// server does not report one, and learns from the answer: n leads, or names the leader, or
// knows none; no answer marks n unhealthy. It reports
// whether n answered.
func (c *Client) probe(n *node) bool {
	n.lastPing.Store(nowNano())
	// A dial with its handshake gets ConnectTimeout, and so does the probe's round trip.
	ctx, cancel := context.WithTimeout(c.life, 2*c.cfg.ConnectTimeout)
	defer cancel()
	started := nowNano()
	cn, err := n.acquireForProbe(ctx)
	if err != nil && ctx.Err() != nil && c.life.Err() == nil && n.lastHeard.Load() > started {
		return true // every slot busy with calls the node keeps answering: busy, not down
	}
	if err != nil {
		n.logHealthCheck("unreachable", err)
		n.setHealthy(false, "health check: "+err.Error())
		c.cluster.lost(n)
		return false
	}
	// GetServerInfo first: a server that reports its role answers it without writing anything.
	// One that does not (Kimberlite 0.8) is asked with Sync.
	p, _, _, err := cn.roundTrip(ctx, c.infoBody)
	role, hasRole := serverInfoRole(p)
	if err == nil && !hasRole {
		if _, isInfo := p.(wire.ServerInfoResponse); isInfo {
			p, _, _, err = cn.roundTrip(ctx, c.syncBody)
		}
	}
	unread := err != nil && ctx.Err() != nil && cn.bytesWaiting()
	n.release(cn)
	if unread {
		// The node answered, but this process has not read it yet (its threads were starved:
		// a stopped debugger, valgrind, a machine out of CPU): not a hung node.
		return true
	}
	if err != nil && ctx.Err() != nil && c.life.Err() == nil && n.lastHeard.Load() > started {
		// No answer to the probe in time, yet the node kept answering other requests: it is
		// busy (the probe waits behind a backlog), not hung. Breaking its connections would
		// turn overload into failures and a false "no leader".
		return true
	}
	if err != nil {
		n.logHealthCheck("no answer", err)
		n.setHealthy(false, "health check: "+err.Error())
		c.cluster.lost(n)
		if ctx.Err() != nil && c.life.Err() == nil {
			// No answer in time: the node is hung or black-holed. Break its connections so the
			// calls waiting on them fail now and go elsewhere.
			n.breakAll(&Error{Kind: KindConnection, Message: "node stopped answering health checks"})
		}
		return false
	}
	n.setHealthy(true, "")
	if hasRole {
		if role.leads {
			n.logHealthCheck("leader", nil)
		} else {
			n.logHealthCheck("follower", nil)
		}
		c.cluster.learnRole(n, role)
		return true
	}
	switch p := p.(type) {
	case wire.SyncResponse:
		n.logHealthCheck("leader", nil)
		c.cluster.confirmed(n)
	case wire.ErrorResponse:
		if p.Code == wire.ErrNotLeader {
			n.logHealthCheck("follower", nil)
			if view, hint, ok := wire.ParseNotLeader(p.Message); ok {
				c.cluster.notLeader(n, view, hint)
			} else {
				c.cluster.notLeader(n, 0, "")
			}
			break
		}
		n.logHealthCheck("refused", nil)
		// Refused for another reason (say, a token for another tenant): the answer says
		// nothing about leadership. Use the node while no leader is known, so calls reach a
		// server and get its real answer; a follower would redirect them.
		c.cluster.tentative(n)
	}
	return true
}
