package pool

import (
	"context"
	"errors"
	"time"
)

// subsPerConn is how many subscriptions a connection takes before the node opens another one
// for the next subscriptions (the server refuses beyond its own per-connection cap, 4096 by
// default), so that many subscriptions spread over a few connections.
const subsPerConn = 1024

// closedByPool reports whether the connection was closed by the pool itself (idle or past its
// lifetime), which says nothing about the node's health.
func (c *conn) closedByPool() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var e *Error
	return errors.As(c.err, &e) && e.Kind == KindConnection && e.Message == "connection closed by the pool"
}

// count is the number of subscriptions open or opening on the connection.
func (r *subRouter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.links)
	if r.pending != nil {
		n++
	}
	if r.full {
		n = max(n, subsPerConn)
	}
	return n
}

// acquireForSubscription returns a connection of n for a new subscription, with an in-flight
// slot held: the usable connection holding the fewest subscriptions while it has room, otherwise
// whatever acquire gives, after starting one more connection for the subscriptions to come.
func (n *node) acquireForSubscription(ctx context.Context) (*conn, error) {
	now := time.Now()
	n.mu.Lock()
	var best *conn
	bestN := 0
	for _, c := range n.conns {
		if c.draining.Load() || (!c.expires.IsZero() && now.After(c.expires)) {
			continue
		}
		if k := c.subs.count(); best == nil || k < bestN {
			best, bestN = c, k
		}
	}
	if best != nil && bestN < subsPerConn {
		best.inFlight.Add(1)
		n.mu.Unlock()
		return best, nil
	}
	if best != nil {
		n.startDialLocked()
	}
	n.mu.Unlock()
	return n.acquire(ctx)
}
