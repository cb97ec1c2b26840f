package pool

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/kimberlite/libkimberlite/internal/ratelimit"
)

// What the client logs, and at which level:
//
//	WARN   dial failed, node down, append outcome unknown
//	INFO   node up, leader changed (with the view and the previous leader)
//	DEBUG  health-check verdicts, retries, redirects, connections opened and closed
//
// Records of one kind about one node are rate-limited: a burst of logBurst, then one per
// logRefill; the next record let through carries "suppressed=N". So a node that stays down
// produces a bounded number of lines per minute however often it is dialled.
const (
	logBurst  = 5
	logRefill = 10 * time.Second
)

// maxLogKeys bounds the limiter's buckets; keys are kinds × nodes, so this only guards a leak.
const maxLogKeys = 4096

func newLogLimiter() *ratelimit.Limiter { return ratelimit.New(logBurst, logRefill, maxLogKeys) }

// log queues one record for Config.Logger, rate-limited by key (kind and node).
func (o *observer) log(level slog.Level, key, msg string, attrs ...slog.Attr) {
	if o == nil || o.logger == nil || !o.logger.Enabled(context.Background(), level) {
		return
	}
	now := time.Now()
	ok, suppressed := o.limiter.Allow(key, now)
	if !ok {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:]) // the core's function that logged
	r := slog.NewRecord(now, level, msg, pcs[0])
	r.AddAttrs(attrs...)
	if suppressed > 0 {
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	o.put(observed{rec: &r})
}

func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.String("err", "")
	}
	return slog.String("err", err.Error())
}

// The hooks below are what the core calls at the places that matter, one line each.

// logDialFailed: a dial or handshake to n failed for the k-th time in a row.
func (n *node) logDialFailed(err error, k int) {
	n.client.obs.log(slog.LevelWarn, "dial "+n.addr, "kimberlite: dial failed",
		slog.String("node", n.addr), errAttr(err), slog.Int("consecutive", k))
}

// setHealthy records n's health and, on a change, logs it and emits EventNodeUp/EventNodeDown.
// reason says why n is down ("" when it is up).
func (n *node) setHealthy(up bool, reason string) {
	was := n.healthy.Swap(up)
	if n.client.life != nil && n.client.life.Err() != nil {
		return // the client is closing: failures now are its own doing
	}
	if up {
		wasDown := n.down.Swap(false)
		if !was || wasDown {
			n.client.obs.log(slog.LevelInfo, "up "+n.addr, "kimberlite: node up", slog.String("node", n.addr))
			n.client.obs.event(ClusterEvent{Kind: EventNodeUp, Time: time.Now(), Node: n.addr})
		}
		return
	}
	if !n.down.Swap(true) {
		n.client.obs.log(slog.LevelWarn, "down "+n.addr, "kimberlite: node down",
			slog.String("node", n.addr), slog.String("reason", reason))
		n.client.obs.event(ClusterEvent{Kind: EventNodeDown, Time: time.Now(), Node: n.addr, Reason: reason})
	}
}

// logLeaderChanged: now leads in view, after prev ("" if none was known).
func (r *cluster) logLeaderChanged(prev, now string, view uint64) {
	r.c.obs.log(slog.LevelInfo, "leader", "kimberlite: leader changed",
		slog.String("leader", now), slog.String("previous", prev), slog.Uint64("view", view))
	r.c.obs.event(ClusterEvent{Kind: EventLeaderChanged, Time: time.Now(), Node: now, Previous: prev, View: view})
}

// logHealthCheck: the verdict of one health check of n ("leader", "follower", "refused",
// "unreachable" or "no answer").
func (n *node) logHealthCheck(verdict string, err error) {
	attrs := []slog.Attr{slog.String("node", n.addr), slog.String("verdict", verdict)}
	if err != nil {
		attrs = append(attrs, errAttr(err))
	}
	n.client.obs.log(slog.LevelDebug, "health "+n.addr, "kimberlite: health check", attrs...)
}

// logRetry: a call pauses for d before attempt number attempt+1.
func (c *Client) logRetry(st *callState, d time.Duration) {
	c.obs.log(slog.LevelDebug, "retry "+st.node, "kimberlite: retrying",
		slog.String("node", st.node), slog.Int("attempt", st.attempts), slog.Duration("backoff", d))
}

// logRedirect: from answered NotLeader naming hint in view.
func (c *Client) logRedirect(from, hint string, view uint64) {
	c.obs.log(slog.LevelDebug, "redirect "+from, "kimberlite: redirected",
		slog.String("from", from), slog.String("to", hint), slog.Uint64("view", view))
}

// logAppendResult warns about an append whose outcome is unknown.
func (c *Client) logAppendResult(streamID uint64, err error) {
	e, ok := err.(*Error)
	if !ok || !e.OutcomeUnknown {
		return
	}
	c.obs.log(slog.LevelWarn, "unknown", "kimberlite: append outcome unknown",
		slog.Uint64("stream", streamID), slog.String("node", e.Node), errAttr(err))
}

// connOpened and connClosed log and emit the connection events of n.
func (n *node) connOpened() {
	n.client.obs.log(slog.LevelDebug, "open "+n.addr, "kimberlite: connection opened", slog.String("node", n.addr))
	n.client.obs.event(ClusterEvent{Kind: EventConnOpened, Time: time.Now(), Node: n.addr})
}

func (n *node) connClosed(reason string) {
	n.client.obs.log(slog.LevelDebug, "close "+n.addr, "kimberlite: connection closed",
		slog.String("node", n.addr), slog.String("reason", reason))
	n.client.obs.event(ClusterEvent{Kind: EventConnClosed, Time: time.Now(), Node: n.addr, Reason: reason})
}

// connRemoved: c left n's pool with left connections (and dials) remaining. A connection lost
// to a failure, with none left, means the node is down until a dial or health check says
// otherwise.
func (n *node) connRemoved(c *conn, left int) {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	reason := "closed"
	if err != nil {
		reason = err.Error()
	}
	ours := false
	if e, ok := err.(*Error); ok {
		ours = e.Kind == KindClosed || e.Message == poolClosedMessage
	}
	n.connClosed(reason)
	if !ours && left == 0 {
		n.setHealthy(false, reason)
	}
}
