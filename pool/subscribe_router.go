package pool

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/kimberlite/libkimberlite/wire"
)

// subRouter hands a connection's pushes to the subscriptions open on it. Subscribes on one
// connection go one at a time (token), so the SubscribeResponse the reader sees belongs to the
// pending link: the link is registered under its id before the next frame is read, and no push
// of it can be missed.
type subRouter struct {
	once  sync.Once
	token chan struct{} // holds one token while no Subscribe is in flight on the connection

	mu      sync.Mutex
	pending *subLink // the Subscribe in flight, waiting for its answer
	full    bool     // the server refused a subscription for this connection's cap
	links   map[uint64]*subLink
	live    atomic.Bool // links or pending, for active without the lock (set under mu by noteLive)
}

// subLink is one server subscription: a Subscription's current home on one connection.
type subLink struct {
	sub  *Subscription
	conn *conn
	id   atomic.Uint64 // set by the reader when the SubscribeResponse arrives; 0 before

	// abandoned: the Subscribe call gave up (deadline) after sending; when its answer comes the
	// server subscription is cancelled at once.
	abandoned bool

	endOnce sync.Once
	ended   chan struct{} // closed when the server closed the subscription, or it broke
	reason  string        // why, once ended
	final   bool          // the server ended it for good (stream deleted, ...): no resubscribe
	local   bool          // ended here, not by the server: it must still be cancelled there
}

// end records that the server closed the subscription (final: for good).
func (l *subLink) end(reason string, final bool) {
	l.endOnce.Do(func() {
		l.reason, l.final = reason, final
		close(l.ended)
	})
}

// abandon gives the link up here while the server may still push on it: the manager cancels it
// there and resubscribes.
func (l *subLink) abandon(reason string) {
	l.endOnce.Do(func() {
		l.reason, l.local = reason, true
		close(l.ended)
	})
}

func (r *subRouter) init() {
	r.once.Do(func() {
		r.token = make(chan struct{}, 1)
		r.token <- struct{}{}
	})
}

// active reports whether subscriptions live on the connection (it must not be reaped as idle).
// Every call asks it, so it reads an atomic rather than taking the lock.
func (r *subRouter) active() bool { return r.live.Load() }

// noteLive updates live after links or pending changed (under mu).
func (r *subRouter) noteLive() { r.live.Store(len(r.links) > 0 || r.pending != nil) }

// acquire takes the right to send a Subscribe on this connection.
func (r *subRouter) acquire(ctx context.Context, closed <-chan struct{}) bool {
	r.init()
	select {
	case <-r.token:
		return true
	case <-ctx.Done():
	case <-closed:
	}
	return false
}

func (r *subRouter) releaseToken() { r.token <- struct{}{} }

// route takes the frames that belong to subscriptions. It runs on the connection's reader and
// reports true for a push (consumed); a response is only looked at and goes on to its caller.
func (r *subRouter) route(c *conn, m wire.Message) bool {
	switch m := m.(type) {
	case *wire.Push:
		r.routePush(m)
		return true
	case *wire.Response:
		if sr, ok := m.Payload.(wire.SubscribeResponse); ok {
			r.accepted(c, sr)
		}
	}
	return false
}

func (r *subRouter) accepted(c *conn, sr wire.SubscribeResponse) {
	r.mu.Lock()
	l := r.pending
	if l == nil {
		r.mu.Unlock()
		return
	}
	r.pending = nil
	l.id.Store(sr.SubscriptionID)
	if l.abandoned {
		r.noteLive()
		r.mu.Unlock()
		r.releaseToken()
		// Nobody waits for it: cancel it on the server, off the reader goroutine.
		c.node.client.spawn(func() { c.unsubscribe(sr.SubscriptionID) })
		return
	}
	if r.links == nil {
		r.links = make(map[uint64]*subLink)
	}
	r.links[sr.SubscriptionID] = l
	r.noteLive()
	r.mu.Unlock()
}

func (r *subRouter) routePush(p *wire.Push) {
	switch ev := p.Payload.(type) {
	case wire.SubscriptionEvents:
		r.mu.Lock()
		l := r.links[ev.SubscriptionID]
		r.mu.Unlock()
		if l != nil {
			l.sub.deliver(l, ev)
		}
	case wire.SubscriptionClosed:
		r.mu.Lock()
		l := r.links[ev.SubscriptionID]
		delete(r.links, ev.SubscriptionID)
		r.noteLive()
		r.mu.Unlock()
		if l != nil {
			// ServerShutdown and BackpressureTimeout are about the node, not the stream: follow
			// the stream elsewhere. The others end the subscription.
			final := ev.Reason != wire.CloseServerShutdown && ev.Reason != wire.CloseBackpressureTimeout
			l.end(closeReasonName(ev.Reason), final)
		}
	}
}

// forget drops a link the subscription no longer uses.
func (r *subRouter) forget(l *subLink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id := l.id.Load(); r.links[id] == l {
		delete(r.links, id)
		r.full = false
	}
	if r.pending == l {
		r.pending = nil
	}
	r.noteLive()
}

// unsubscribe cancels a server subscription nobody follows; failures do not matter (the
// connection closing ends it too).
func (c *conn) unsubscribe(id uint64) {
	cfg := &c.node.client.cfg
	ctx, cancel := context.WithTimeout(c.node.client.life, cfg.RequestTimeout)
	defer cancel()
	c.inFlight.Add(1)
	defer c.node.release(c)
	_, _, _, _ = c.roundTrip(ctx, encodeBody(cfg.TenantID, wire.UnsubscribeRequest{SubscriptionID: id}))
}

func closeReasonName(r wire.SubscriptionCloseReason) string {
	switch r {
	case wire.CloseClientCancelled:
		return "ClientCancelled"
	case wire.CloseServerShutdown:
		return "ServerShutdown"
	case wire.CloseStreamDeleted:
		return "StreamDeleted"
	case wire.CloseBackpressureTimeout:
		return "BackpressureTimeout"
	case wire.CloseProtocolError:
		return "ProtocolError"
	}
	return "Unknown"
}
