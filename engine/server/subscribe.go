package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// Subscriber is what a Backend offers to serve subscriptions; *engine.DB and *cluster.Node
// implement it. A backend without it answers Subscribe with InvalidRequest and does not
// announce the capability.
type Subscriber interface {
	// ReadCommitted returns up to maxEvents committed events from offset from (at least one when
	// any exists and maxBytes > 0). In a cluster this is what the node applied, which is only
	// ever committed entries. Another tenant's stream is StreamNotFound.
	ReadCommitted(ctx context.Context, tenant, streamID, from, maxBytes uint64, maxEvents int) ([][]byte, error)
	// StreamChanged is closed once an append to streamID made after the call is committed.
	StreamChanged(streamID uint64) <-chan struct{}
}

// CapabilitySubscribe is announced when the server serves Subscribe, SubscribeCredit and
// Unsubscribe with committed-only pushes and credit flow control.
const CapabilitySubscribe = "subscribe"

const (
	// pushBatchBytes bounds the event bytes of one push (one event more when it alone is larger).
	pushBatchBytes = 256 << 10
	// pushBatchEvents bounds the events of one push.
	pushBatchEvents = 4096
	// pollWithoutWatch is how often a subscription looks for new events when its backend cannot
	// say when a stream changed.
	pollWithoutWatch = 50 * time.Millisecond
)

// serverSub is one subscription of one connection. Its pump goroutine pushes committed events
// while it has credits; the connection's writer sends what the pump hands over.
type serverSub struct {
	id, tenant, stream uint64

	mu      sync.Mutex
	credits uint32
	next    uint64 // offset of the next event to push
	ended   bool   // nothing more is pushed (unsubscribed, closed by the server, connection gone)

	wake    chan struct{} // cap 1: credits were added
	started chan struct{} // closed once the Subscribe answer was written: pushes may follow it
	stop    chan struct{} // closed when the subscription ends
}

// end marks the subscription ended and stops its pump; it reports whether this call ended it.
func (s *serverSub) end() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.ended = true
	close(s.stop)
	return true
}

func (s *serverSub) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// push is one frame for the writer: SubscriptionEvents (size bytes of budget held until sent)
// or SubscriptionClosed.
type push struct {
	sub     *serverSub
	payload wire.PushPayload
	size    int
}

// connSubs is a connection's subscriptions.
type connSubs struct {
	mu     sync.Mutex
	m      map[uint64]*serverSub
	open   atomic.Int32
	pushes chan *push // pumps to the writer; unbuffered, so a slow socket holds pumps back
}

// subCounter gives subscription ids and counts subscriptions server-wide.
type subCounter struct {
	lastID atomic.Uint64
	open   atomic.Int64
}

func (c *conn) subscriber() (Subscriber, bool) {
	sb, ok := c.s.backend.(Subscriber)
	return sb, ok
}

// holdsSubscriptions reports whether the connection has open subscriptions: the client is
// listening, so silence from it is not idleness.
func (c *conn) holdsSubscriptions() bool { return c.subs.open.Load() > 0 }

// withSubscribe adds the subscribe capability when the backend serves subscriptions.
func (c *conn) withSubscribe(caps []string) []string {
	if _, ok := c.subscriber(); !ok {
		return caps
	}
	return append(caps[:len(caps):len(caps)], CapabilitySubscribe)
}

// handleSubscription answers Subscribe, SubscribeCredit and Unsubscribe; it reports false for
// any other request. It runs on the reader goroutine.
func (c *conn) handleSubscription(req *wire.Request, s *slot) bool {
	switch p := req.Payload.(type) {
	case wire.SubscribeRequest:
		s.resp = c.subscribe(req.TenantID, p, s)
	case wire.SubscribeCreditRequest:
		s.resp = c.grantCredits(p)
	case wire.UnsubscribeRequest:
		s.resp = c.unsubscribe(p, s)
	default:
		return false
	}
	return true
}

func (c *conn) subscribe(tenant uint64, p wire.SubscribeRequest, s *slot) wire.ResponsePayload {
	sb, ok := c.subscriber()
	if !ok {
		return wire.ErrorResponse{Code: wire.ErrInvalidRequest, Message: "unsupported operation: Subscribe (this backend cannot serve subscriptions)"}
	}
	if p.ConsumerGroup != nil {
		return wire.ErrorResponse{Code: wire.ErrInvalidRequest,
			Message: fmt.Sprintf("consumer groups are not implemented (consumer_group %q): subscribe without one", *p.ConsumerGroup)}
	}
	// A zero-event read checks the stream belongs to the tenant. A stream of the tenant that does
	// not exist yet is accepted: a node that lags may not have applied its creation.
	if _, err := sb.ReadCommitted(c.ctx, tenant, p.StreamID, p.FromOffset, 0, 0); err != nil {
		return c.errorResponse(err)
	}
	if max := c.s.opts.MaxSubscriptionsPerConn; int(c.subs.open.Load()) >= max {
		return wire.ErrorResponse{Code: wire.ErrRateLimited, Message: fmt.Sprintf(
			"this connection has %d subscriptions, the most the server allows per connection (max-subscriptions-per-conn); unsubscribe one or use another connection", max)}
	}
	if max := c.s.opts.MaxSubscriptions; c.s.subs.open.Add(1) > int64(max) {
		c.s.subs.open.Add(-1)
		return wire.ErrorResponse{Code: wire.ErrRateLimited, Message: fmt.Sprintf(
			"the server has %d subscriptions open, its limit (max-subscriptions); try again later", max)}
	}
	sub := &serverSub{
		id: c.s.subs.lastID.Add(1), tenant: tenant, stream: p.StreamID,
		credits: p.InitialCredits, next: p.FromOffset,
		wake: make(chan struct{}, 1), started: make(chan struct{}), stop: make(chan struct{}),
	}
	c.subs.mu.Lock()
	if c.subs.m == nil {
		c.subs.m = make(map[uint64]*serverSub)
	}
	c.subs.m[sub.id] = sub
	c.subs.open.Add(1)
	c.subs.mu.Unlock()
	s.after = func() { close(sub.started) }
	go c.pump(sb, sub)
	return wire.SubscribeResponse{SubscriptionID: sub.id, StartOffset: p.FromOffset, Credits: p.InitialCredits}
}

func (c *conn) lookupSub(id uint64) *serverSub {
	c.subs.mu.Lock()
	defer c.subs.mu.Unlock()
	return c.subs.m[id]
}

// forget removes an ended subscription from the connection and the server's count.
func (c *conn) forget(sub *serverSub) {
	c.subs.mu.Lock()
	defer c.subs.mu.Unlock()
	if c.subs.m[sub.id] == sub {
		delete(c.subs.m, sub.id)
		c.subs.open.Add(-1)
		c.s.subs.open.Add(-1)
	}
}

func subNotFound(id uint64) wire.ErrorResponse {
	return wire.ErrorResponse{Code: wire.ErrSubscriptionNotFound, Message: fmt.Sprintf("subscription %d not found", id)}
}

func (c *conn) grantCredits(p wire.SubscribeCreditRequest) wire.ResponsePayload {
	sub := c.lookupSub(p.SubscriptionID)
	if sub == nil {
		return subNotFound(p.SubscriptionID)
	}
	sub.mu.Lock()
	if sub.ended {
		sub.mu.Unlock()
		return subNotFound(p.SubscriptionID)
	}
	sum := uint64(sub.credits) + uint64(p.AdditionalCredits)
	sub.credits = uint32(min(sum, uint64(^uint32(0))))
	balance := sub.credits
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
	return wire.SubscriptionAckResponse{SubscriptionID: sub.id, CreditsRemaining: balance}
}

// unsubscribe ends the subscription at once; the answer is followed by SubscriptionClosed
// {ClientCancelled}, and no event is pushed after the answer.
func (c *conn) unsubscribe(p wire.UnsubscribeRequest, s *slot) wire.ResponsePayload {
	sub := c.lookupSub(p.SubscriptionID)
	if sub == nil || !sub.end() {
		return subNotFound(p.SubscriptionID)
	}
	c.forget(sub)
	s.closes = &push{sub: sub, payload: wire.SubscriptionClosed{SubscriptionID: sub.id, Reason: wire.CloseClientCancelled}}
	return wire.SubscriptionAckResponse{SubscriptionID: sub.id, CreditsRemaining: 0}
}

// pump pushes sub's committed events while it has credits, waiting for commits at the end of
// the stream. Each batch holds budget until the writer has sent it, and the writer takes one
// batch at a time, so a client that stops reading costs at most one batch per subscription
// beyond the socket buffers.
func (c *conn) pump(sb Subscriber, sub *serverSub) {
	select {
	case <-sub.started:
	case <-sub.stop:
		return
	case <-c.ctx.Done():
		return
	}
	for {
		sub.mu.Lock()
		credits, next, ended := sub.credits, sub.next, sub.ended
		sub.mu.Unlock()
		if ended {
			return
		}
		if credits == 0 {
			select {
			case <-sub.wake:
			case <-sub.stop:
				return
			case <-c.ctx.Done():
				return
			}
			continue
		}
		changed := sb.StreamChanged(sub.stream)
		reserved := 2 * pushBatchBytes
		c.s.budget.acquire(c, reserved)
		events, err := sb.ReadCommitted(c.ctx, sub.tenant, sub.stream, next, pushBatchBytes, batchEvents(credits))
		if err != nil {
			c.s.budget.release(c, reserved)
			c.pumpFailed(sub, err)
			return
		}
		if len(events) == 0 {
			c.s.budget.release(c, reserved)
			if !c.waitForEvents(sub, changed) {
				return
			}
			continue
		}
		size := pushCost(events)
		if size > reserved {
			c.s.budget.acquire(c, size-reserved)
		} else {
			c.s.budget.release(c, reserved-size)
		}
		sub.mu.Lock()
		if sub.ended {
			sub.mu.Unlock()
			c.s.budget.release(c, size)
			return
		}
		// Credits only grow while the pump reads, so the batch fits the balance.
		sub.credits -= uint32(len(events))
		p := &push{sub: sub, size: size, payload: wire.SubscriptionEvents{SubscriptionID: sub.id,
			StartOffset: next, Events: events, CreditsRemaining: sub.credits}}
		sub.next = next + uint64(len(events))
		sub.mu.Unlock()
		select {
		case c.subs.pushes <- p:
		case <-sub.stop:
			c.s.budget.release(c, size)
			return
		case <-c.ctx.Done():
			c.s.budget.release(c, size)
			return
		}
	}
}

// batchEvents is how many events the next push may carry with credits left: half of them (at
// least 64, or all when fewer), so that a client granting more at its low-water mark gets the
// grant to the server before the balance runs out, and pushes keep flowing.
func batchEvents(credits uint32) int {
	return int(min(pushBatchEvents, max(credits/2, min(credits, 64))))
}

// waitForEvents waits for a commit to sub's stream (or more credits, or the end); false: stop.
func (c *conn) waitForEvents(sub *serverSub, changed <-chan struct{}) bool {
	var poll <-chan time.Time
	if changed == nil {
		t := time.NewTimer(pollWithoutWatch)
		defer t.Stop()
		poll = t.C
	}
	select {
	case <-changed:
	case <-poll:
	case <-sub.wake:
	case <-sub.stop:
		return false
	case <-c.ctx.Done():
		return false
	}
	return true
}

// pumpFailed ends a subscription whose stream can no longer be read.
func (c *conn) pumpFailed(sub *serverSub, err error) {
	if c.ctx.Err() != nil {
		return // the connection is going away
	}
	reason := wire.CloseStreamDeleted
	if errors.Is(err, engine.ErrClosed) {
		reason = wire.CloseServerShutdown
	} else {
		c.log.Warn("subscription closed: reading its stream failed", "subscription_id", sub.id, "stream_id", sub.stream, "err", err)
	}
	if !sub.end() {
		return
	}
	c.forget(sub)
	select {
	case c.subs.pushes <- &push{sub: sub, payload: wire.SubscriptionClosed{SubscriptionID: sub.id, Reason: reason}}:
	case <-c.ctx.Done():
	}
}

// pushCost is the budget a batch takes until it is sent: its events and their encoded frame.
func pushCost(events [][]byte) int {
	n := 64
	for _, e := range events {
		n += 2 * (len(e) + 8)
	}
	return n
}

// encodePush appends p's frame to frame, or reports false when p must not be sent: events of
// a subscription that has ended since the pump handed them over.
func encodePush(frame []byte, p *push) ([]byte, bool, error) {
	if _, ok := p.payload.(wire.SubscriptionEvents); ok && p.sub.isEnded() {
		return frame, false, nil
	}
	out, err := wire.AppendFrame(frame[:0], &wire.Push{Payload: p.payload})
	return out, err == nil, err
}

// endSubscriptions ends every subscription of a connection that is closing. On shutdown each
// open one is told ServerShutdown through send; otherwise send is nil.
func (c *conn) endSubscriptions(send func(*push)) {
	c.subs.mu.Lock()
	subs := make([]*serverSub, 0, len(c.subs.m))
	for _, sub := range c.subs.m {
		subs = append(subs, sub)
	}
	c.subs.mu.Unlock()
	for _, sub := range subs {
		if sub.end() && send != nil {
			send(&push{sub: sub, payload: wire.SubscriptionClosed{SubscriptionID: sub.id, Reason: wire.CloseServerShutdown}})
		}
		c.forget(sub)
	}
}
