package pool

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Node roles as Stats reports them.
const (
	roleUnknown int32 = iota
	roleLeader
	roleFollower
)

var roleNames = [...]string{"unknown", "leader", "follower"}

// node is the connection pool of one server address: least-in-flight choice among its
// connections (most recently used first on ties, so spare connections go idle and are reaped),
// at most MaxDialsPerNode dials at once, and a growing pause between failed dials so a dead node
// cannot cause a reconnect storm.
type node struct {
	client  *Client
	addr    string
	aliases []string // other spellings of addr (resolved IPs), for matching leader hints

	mu          sync.Mutex
	conns       []*conn
	dialing     int
	changed     chan struct{} // closed and replaced when a waiter should look again
	lastDialErr error
	dialFails   int       // consecutive failed dials
	nextDialAt  time.Time // no new dial before this after a failure
	dialFailGen uint64    // counts failed dials, so waiters notice one happened

	waiters      atomic.Int32
	healthy      atomic.Bool
	down         atomic.Bool // failed its last check or dial, or lost every connection: Stats says "down"
	role         atomic.Int32
	pinging      atomic.Bool
	seeking      atomic.Bool  // a discovery round is probing it
	lastPing     atomic.Int64 // unix nanoseconds of the last health check start
	lastHeard    atomic.Int64 // unix nanoseconds of the last frame read from any of its connections
	dials        atomic.Int64
	dialFailures atomic.Int64
}

func newNode(c *Client, addr string) *node {
	return &node{client: c, addr: addr, changed: make(chan struct{})}
}

// growAt is the in-flight count on the least busy connection at which another connection is
// opened in the background: pipelining carries the load until then.
func (n *node) growAt() int32 {
	g := n.client.cfg.MaxInFlightPerConn / 8
	if g < 1 {
		g = 1
	}
	return int32(g)
}

// acquire returns a connection with an in-flight slot held for the caller, who must release it.
func (n *node) acquire(ctx context.Context) (*conn, error) {
	return n.acquireSlot(ctx, int32(n.client.cfg.MaxInFlightPerConn))
}

// acquireForProbe is acquire for health checks and leader discovery: it takes the least busy
// connection even when every slot is in use, so that a leader busy with the application's calls
// still answers its health check instead of being declared dead. Probes are few (a health check
// and a discovery round at most per node at a time), so this exceeds the limit by two at most.
func (n *node) acquireForProbe(ctx context.Context) (*conn, error) {
	return n.acquireSlot(ctx, math.MaxInt32)
}

func (n *node) acquireSlot(ctx context.Context, limit int32) (*conn, error) {
	// Registered as a waiter for the whole call, before the first look at the slots: a release
	// that frees a slot after that look then sees the waiter and wakes it. (Registering only
	// before sleeping would let a release slip in between and be missed.)
	n.waiters.Add(1)
	defer n.waiters.Add(-1)
	for {
		n.mu.Lock()
		if n.client.isShutdown() {
			n.mu.Unlock()
			return nil, errClosed()
		}
		best, stale := n.pickLocked()
		if best != nil {
			inf := best.inFlight.Load()
			if inf >= n.growAt() {
				n.startDialLocked()
			}
			if inf < limit {
				best.inFlight.Add(1)
				n.mu.Unlock()
				closeAll(stale)
				return best, nil
			}
		} else if n.dialing == 0 {
			if n.lastDialErr != nil && time.Now().Before(n.nextDialAt) {
				err := n.lastDialErr
				n.mu.Unlock()
				closeAll(stale)
				return nil, dialFailed(err)
			}
			n.startDialLocked()
		}
		gen := n.dialFailGen
		ch := n.changed
		n.mu.Unlock()
		closeAll(stale)

		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.client.shutdown:
			return nil, errClosed()
		}
		n.mu.Lock()
		if best == nil && n.dialFailGen != gen && n.usableLocked() == 0 && n.dialing == 0 {
			err := n.lastDialErr
			n.mu.Unlock()
			return nil, dialFailed(err)
		}
		n.mu.Unlock()
	}
}

// acquireIdle takes a slot on a connection with nothing in flight, without waiting or
// dialing: nil when there is none (a loop call then goes the usual way, see loop.go).
func (n *node) acquireIdle() *conn {
	if n.client.isShutdown() {
		return nil
	}
	n.mu.Lock()
	best, stale := n.pickLocked()
	if best != nil && !best.inFlight.CompareAndSwap(0, 1) {
		best = nil
	}
	n.mu.Unlock()
	closeAll(stale)
	return best
}

// dialFailed wraps a dial or handshake failure. A refused handshake is the server's answer.
func dialFailed(err error) error {
	if te := tlsFailure(err); te != nil {
		return &Error{Kind: KindTLS, Message: te.Message, LastDialErr: err, Err: te.Err}
	}
	var he *handshakeError
	if errors.As(err, &he) {
		return &Error{Kind: KindServer, ServerCode: he.resp.Code, Message: he.resp.Message, LastDialErr: err}
	}
	return &Error{Kind: KindConnection, Message: "cannot connect", LastDialErr: err, Err: err}
}

// pickLocked chooses the least busy usable connection, most recently used first on ties. It also
// returns expired idle connections, to be closed by the caller outside the lock.
func (n *node) pickLocked() (best *conn, stale []*conn) {
	now := time.Now()
	var bestInf int32
	var bestUsed int64
	for _, c := range n.conns {
		if c.draining.Load() {
			continue
		}
		inf := c.inFlight.Load()
		if !c.expires.IsZero() && now.After(c.expires) {
			c.draining.Store(true)
			if inf == 0 {
				stale = append(stale, c)
			}
			continue
		}
		used := c.lastUsed.Load()
		if best == nil || inf < bestInf || (inf == bestInf && used > bestUsed) {
			best, bestInf, bestUsed = c, inf, used
		}
	}
	return best, stale
}

func (n *node) usableLocked() int {
	k := 0
	for _, c := range n.conns {
		if !c.draining.Load() {
			k++
		}
	}
	return k
}

func closeAll(cs []*conn) {
	for _, c := range cs {
		c.closeIdle()
	}
}

// startDialLocked opens one more connection in the background, within MaxConnsPerNode and
// MaxDialsPerNode and not before the pause after a failed dial.
func (n *node) startDialLocked() bool {
	cfg := &n.client.cfg
	if n.client.isShutdown() || n.dialing >= cfg.MaxDialsPerNode ||
		n.usableLocked()+n.dialing >= cfg.MaxConnsPerNode || time.Now().Before(n.nextDialAt) {
		return false
	}
	n.dialing++
	if !n.client.spawn(n.dial) {
		n.dialing--
		return false
	}
	return true
}

func (n *node) dial() {
	cfg := &n.client.cfg
	n.dials.Add(1)
	ctx, cancel := context.WithTimeout(n.client.life, cfg.ConnectTimeout)
	c, err := dialConn(ctx, n)
	cancel()
	n.mu.Lock()
	n.dialing--
	if err != nil {
		n.dialFailures.Add(1)
		n.lastDialErr = err
		n.dialFails++
		n.nextDialAt = time.Now().Add(dialPause(n.dialFails))
		n.dialFailGen++
		n.client.noteDialErr(err)
	} else {
		n.dialFails = 0
		n.nextDialAt = time.Time{}
		if !n.client.isShutdown() {
			n.conns = append(n.conns, c)
			c = nil
		}
	}
	fails := n.dialFails
	n.notifyLocked()
	n.mu.Unlock()
	if err != nil {
		n.logDialFailed(err, fails)
		n.setHealthy(false, "dial failed: "+err.Error())
	} else {
		n.setHealthy(true, "")
		if c == nil {
			n.connOpened()
		}
	}
	if c != nil { // the client closed while we dialed
		c.fail(errClosed())
	}
}

// dialPause is the pause after the k-th consecutive failed dial: 10ms doubling up to 1s, with
// jitter so that many clients do not redial a recovering node at the same instant.
func dialPause(k int) time.Duration {
	d := 10 * time.Millisecond << min(k-1, 7)
	if d > time.Second {
		d = time.Second
	}
	return d/2 + time.Duration(randInt63n(int64(d/2)+1))
}

func (n *node) notifyLocked() {
	if n.waiters.Load() > 0 {
		close(n.changed)
		n.changed = make(chan struct{})
	}
}

// release returns the caller's in-flight slot on c.
func (n *node) release(c *conn) {
	inf := c.inFlight.Add(-1)
	c.lastUsed.Store(time.Now().UnixNano())
	if inf == 0 && c.draining.Load() {
		c.closeIdle()
	}
	if n.waiters.Load() > 0 {
		n.mu.Lock()
		n.notifyLocked()
		n.mu.Unlock()
	}
}

// removeConn forgets a broken connection and waits for nothing: its goroutines end on their own.
func (n *node) removeConn(c *conn) {
	n.mu.Lock()
	for i, x := range n.conns {
		if x == c {
			n.conns = append(n.conns[:i], n.conns[i+1:]...)
			break
		}
	}
	left := n.usableLocked() + n.dialing
	n.notifyLocked()
	n.mu.Unlock()
	n.connRemoved(c, left)
	if left == 0 && brokenByFailure(c) && !n.client.isShutdown() {
		n.client.cluster.connLost(n)
	}
}

// brokenByFailure reports whether c ended in a failure rather than being closed by the pool.
func brokenByFailure(c *conn) bool {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	e, ok := err.(*Error)
	return ok && e.Kind != KindClosed && e.Message != poolClosedMessage
}

// drain stops new calls on every connection of n and closes each once it is idle.
func (n *node) drain() {
	n.mu.Lock()
	var idle []*conn
	for _, c := range n.conns {
		c.draining.Store(true)
		if c.inFlight.Load() == 0 {
			idle = append(idle, c)
		}
	}
	n.mu.Unlock()
	closeAll(idle)
}

// breakAll fails every connection of n at once (a node that stopped answering).
func (n *node) breakAll(err error) {
	n.mu.Lock()
	cs := append([]*conn(nil), n.conns...)
	n.mu.Unlock()
	for _, c := range cs {
		c.fail(err)
	}
}

// reap closes expired idle connections and those idle longer than MaxConnIdleTime beyond keep
// (the least recently used first), and opens connections up to keep.
func (n *node) reap(keep int) {
	cfg := &n.client.cfg
	now := time.Now()
	n.mu.Lock()
	var victims, idle []*conn
	live := 0
	for _, c := range n.conns {
		if c.draining.Load() {
			continue
		}
		live++
		if c.inFlight.Load() != 0 {
			continue
		}
		if !c.expires.IsZero() && now.After(c.expires) {
			c.draining.Store(true)
			victims = append(victims, c)
			live--
			continue
		}
		if cfg.MaxConnIdleTime > 0 && now.Sub(time.Unix(0, c.lastUsed.Load())) > cfg.MaxConnIdleTime && !c.subs.active() {
			idle = append(idle, c)
		}
	}
	slices.SortFunc(idle, func(a, b *conn) int { return cmp.Compare(a.lastUsed.Load(), b.lastUsed.Load()) })
	for _, c := range idle {
		if live <= keep {
			break
		}
		c.draining.Store(true)
		victims = append(victims, c)
		live--
	}
	for live+n.dialing < keep && n.startDialLocked() {
	}
	n.mu.Unlock()
	closeAll(victims)
}

// counts returns open, idle and in-flight totals for Stats.
func (n *node) counts() (open, idle, inFlight int32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		open++
		inf := c.inFlight.Load()
		if inf == 0 {
			idle++
		}
		inFlight += inf
	}
	return open, idle, inFlight
}

func (n *node) totalInFlight() int32 {
	_, _, inf := n.counts()
	return inf
}

// matches reports whether addr names this node.
func (n *node) matches(addr string) bool {
	if addr == n.addr {
		return true
	}
	for _, a := range n.aliases {
		if a == addr {
			return true
		}
	}
	return false
}
