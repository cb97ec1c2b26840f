package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// DefaultSubscribeCredits is the credit window of a subscription that sets none.
const DefaultSubscribeCredits = 128

// SubscribeOptions says where a subscription starts and how much it may buffer.
type SubscribeOptions struct {
	From     uint64 // offset of the first event to deliver
	Credits  uint32 // credit window (events the server may push ahead of Next); 0 means 128
	LowWater uint32 // grant more credits when the balance falls below this; 0 means max(Credits/4, 1)
	Refill   uint32 // credits granted per refill; 0 means back up to Credits
}

// Subscription follows one stream; see Client.Subscribe. Its methods are safe for concurrent
// use, but events come out of Next in order only to one caller at a time.
type Subscription struct {
	c                        *Client
	stream                   uint64
	window, lowWater, refill uint32

	mu       sync.Mutex
	queue    []Event  // received, not yet returned by Next (at most window events)
	next     uint64   // offset after the last event Next returned
	recvNext uint64   // offset after the last event received
	credits  uint32   // the server's balance for the current link, as counted here
	link     *subLink // the current server subscription; nil while (re)subscribing
	lastID   uint64
	reason   string        // close reason; "" while open
	ready    chan struct{} // cap 1: events arrived or the subscription closed
	kick     chan struct{} // cap 1: the manager should check credits or the close
	done     chan struct{} // closed once the subscription is closed
	finished chan struct{} // closed when the manager goroutine has ended
}

// Subscribe follows one stream from opts.From. The subscription belongs to the client, not to a
// connection: on connection loss, node loss or a leader change it resubscribes by itself on a
// healthy node from the offset after the last event it received, with no gap and no duplicate;
// Next never shows those changes. Credits bound what is buffered at both ends: the server
// pushes at most Credits events ahead of what Next has returned. The first subscribe happens
// within ctx (or RequestTimeout); a refusal (another tenant's stream, a server without
// subscriptions) is returned as a KindServer *Error. Close it when done.
func (c *Client) Subscribe(ctx context.Context, streamID uint64, opts SubscribeOptions) (*Subscription, error) {
	if ctx == nil {
		return nil, invalidArg("ctx is nil")
	}
	if err := c.begin(); err != nil {
		return nil, err
	}
	defer c.end()
	s := &Subscription{c: c, stream: streamID, window: opts.Credits, lowWater: opts.LowWater, refill: opts.Refill,
		next: opts.From, recvNext: opts.From,
		ready: make(chan struct{}, 1), kick: make(chan struct{}, 1), done: make(chan struct{}), finished: make(chan struct{})}
	if s.window == 0 {
		s.window = DefaultSubscribeCredits
	}
	if s.lowWater == 0 {
		s.lowWater = max(s.window/4, 1)
	}
	if s.lowWater > s.window {
		return nil, invalidArg(fmt.Sprintf("LowWater (%d) is above Credits (%d)", s.lowWater, s.window))
	}
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	st := callState{}
	for {
		err := s.connect(cctx, &st)
		if err == nil {
			break
		}
		if cctx.Err() != nil || !retryable(err) || !c.pause(cctx, &st) {
			return nil, c.finish(cctx, err, &st)
		}
	}
	c.stats.subscriptions.Add(1)
	if !c.spawn(s.run) {
		c.stats.subscriptions.Add(-1)
		s.shut("ClientClosed")
		close(s.finished)
		return nil, errClosed()
	}
	return s, nil
}

// connect opens a server subscription from recvNext on the node reads go to.
func (s *Subscription) connect(ctx context.Context, st *callState) error {
	c := s.c
	n, err := c.pick(ctx, toReader)
	if err != nil {
		return err
	}
	cn, err := n.acquireForSubscription(ctx)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == KindConnection {
			c.cluster.lost(n)
		}
		return err
	}
	defer n.release(cn)
	st.attempts++
	st.node = n.addr
	r := &cn.subs
	if !r.acquire(ctx, cn.closed) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return connErr("subscribe", errors.New("connection closed"))
	}
	l := &subLink{sub: s, conn: cn, ended: make(chan struct{})}
	s.mu.Lock()
	if s.reason != "" {
		s.mu.Unlock()
		r.releaseToken()
		return nil // closed meanwhile: run sees it
	}
	from := s.recvNext
	credits := s.window - min(uint32(len(s.queue)), s.window)
	s.link, s.credits = l, credits
	s.mu.Unlock()
	r.mu.Lock()
	r.pending = l
	r.noteLive()
	r.mu.Unlock()

	body := encodeBody(c.cfg.TenantID, wire.SubscribeRequest{StreamID: s.stream, FromOffset: from, InitialCredits: credits})
	p, id, sent, err := cn.roundTrip(ctx, body)
	st.reqID = id
	if err == nil {
		if sr, ok := p.(wire.SubscribeResponse); ok {
			r.releaseToken() // the reader registered the link before delivering the answer
			s.mu.Lock()
			s.lastID = sr.SubscriptionID
			s.mu.Unlock()
			return nil
		}
	}
	r.mu.Lock()
	keepToken := false
	if r.pending == l {
		if err != nil && sent && !cn.broken() {
			l.abandoned = true // its answer may still come: the reader cancels it then
			keepToken = true
		} else {
			r.pending = nil
		}
	}
	r.noteLive()
	r.mu.Unlock()
	if !keepToken {
		r.releaseToken()
	}
	s.mu.Lock()
	if s.link == l {
		s.link = nil
	}
	s.mu.Unlock()
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == KindConnection {
			n.setHealthy(false, e.Error()) // as a call's failure does: logged, and a node_down event
			c.cluster.lost(n)
		}
		return err
	}
	if er, ok := p.(wire.ErrorResponse); ok {
		if er.Code == wire.ErrRateLimited && strings.Contains(er.Message, "max-subscriptions-per-conn") {
			// This connection is full on the server: the retry goes to another one.
			r.mu.Lock()
			r.full = true
			r.mu.Unlock()
		}
		return &Error{Kind: KindServer, ServerCode: er.Code, Message: er.Message}
	}
	return unexpected(p, "Subscribe")
}

// deliver takes a push for link l (on the connection's reader). Events below what was already
// received are dropped; an event beyond it (a gap, which a correct server never causes)
// breaks the link so that it resubscribes from the right offset.
func (s *Subscription) deliver(l *subLink, ev wire.SubscriptionEvents) {
	s.mu.Lock()
	if s.link != l || s.reason != "" {
		s.mu.Unlock()
		return
	}
	s.credits -= min(s.credits, uint32(len(ev.Events)))
	got := false
	for i, data := range ev.Events {
		off := ev.StartOffset + uint64(i)
		if off < s.recvNext {
			continue
		}
		if off > s.recvNext {
			s.mu.Unlock()
			l.abandon("ProtocolError")
			return
		}
		s.queue = append(s.queue, Event{Offset: off, Data: data})
		s.recvNext++
		got = true
	}
	low := s.credits < s.lowWater
	s.mu.Unlock()
	if got {
		signal(s.ready)
	}
	if low {
		signal(s.kick)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Next returns the next batch: at least one event, in offset order, offsets consecutive.
// When ctx ends first it returns an *Error of KindTimeout and the subscription stays usable.
// After Close, or when the server ends it for good (stream deleted, another tenant's stream...),
// it returns an *Error of KindSubscriptionClosed whose Message names CloseReason().
func (s *Subscription) Next(ctx context.Context) ([]Event, error) {
	if ctx == nil {
		return nil, invalidArg("ctx is nil")
	}
	for {
		s.mu.Lock()
		if s.reason != "" {
			reason := s.reason
			s.mu.Unlock()
			return nil, subscriptionClosed(reason)
		}
		if len(s.queue) > 0 {
			batch := s.queue
			s.queue = nil
			s.next = batch[len(batch)-1].Offset + 1
			s.mu.Unlock()
			signal(s.kick) // room in the window: credits may be granted
			return batch, nil
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-s.done:
		case <-ctx.Done():
			msg := "no event before the deadline"
			if errors.Is(ctx.Err(), context.Canceled) {
				msg = "wait for events cancelled"
			}
			return nil, &Error{Kind: KindTimeout, Message: msg + "; the subscription stays open", Err: ctx.Err()}
		}
	}
}

func subscriptionClosed(reason string) *Error {
	return &Error{Kind: KindSubscriptionClosed, Message: "subscription closed: " + reason}
}

// ID is the server's id of the current underlying subscription (it changes when the
// subscription moves to another connection or node).
func (s *Subscription) ID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Credits is the number of events the server may still push before it waits for more credits.
func (s *Subscription) Credits() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credits
}

// NextOffset is the offset after the last event Next delivered: where the subscription goes on.
func (s *Subscription) NextOffset() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// CloseReason is "" while the subscription is open; once closed, why: "ClientCancelled" after
// Close, "ClientClosed" after the client closed, or the server's reason ("StreamDeleted", ...).
func (s *Subscription) CloseReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// GrantCredits lets the server push n more events on the current server subscription beyond the
// automatic refill (which then waits until the balance falls below LowWater again). After a
// resubscribe the window is Credits again.
func (s *Subscription) GrantCredits(n uint32) error {
	if n == 0 {
		return invalidArg("GrantCredits of 0")
	}
	s.mu.Lock()
	if s.reason != "" {
		reason := s.reason
		s.mu.Unlock()
		return subscriptionClosed(reason)
	}
	l := s.link
	if l == nil || l.id.Load() == 0 {
		s.mu.Unlock()
		return nil // resubscribing: the new subscription starts with a full window
	}
	s.credits = uint32(min(uint64(s.credits)+uint64(n), uint64(^uint32(0))))
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.c.life, s.c.cfg.RequestTimeout)
	defer cancel()
	err := s.grant(ctx, l, n)
	var e *Error
	if err != nil && errors.As(err, &e) && e.Kind == KindConnection {
		return nil // the link broke: the resubscribe restores the window
	}
	return err
}

// grant sends SubscribeCredit for link l.
func (s *Subscription) grant(ctx context.Context, l *subLink, n uint32) error {
	cn := l.conn
	cn.inFlight.Add(1)
	defer cn.node.release(cn)
	p, _, _, err := cn.roundTrip(ctx, encodeBody(s.c.cfg.TenantID, wire.SubscribeCreditRequest{SubscriptionID: l.id.Load(), AdditionalCredits: n}))
	if err != nil {
		return err
	}
	switch p := p.(type) {
	case wire.SubscriptionAckResponse:
		return nil
	case wire.ErrorResponse:
		if p.Code == wire.ErrSubscriptionNotFound {
			return nil // the server closed it meanwhile; its SubscriptionClosed says why
		}
		return &Error{Kind: KindServer, ServerCode: p.Code, Message: p.Message}
	}
	return unexpected(p, "SubscribeCredit")
}

// Close ends the subscription: it unsubscribes on the server and wakes a blocked Next, which
// then returns KindSubscriptionClosed. It is idempotent and always returns nil today.
func (s *Subscription) Close() error {
	s.shut("ClientCancelled")
	signal(s.kick)
	select {
	case <-s.finished:
	case <-time.After(s.c.cfg.RequestTimeout):
	}
	return nil
}

// shut marks the subscription closed with reason (the first reason wins).
func (s *Subscription) shut(reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason != "" {
		return false
	}
	s.reason = reason
	s.queue = nil
	close(s.done)
	return true
}

// run keeps the subscription alive: it refills credits, follows the stream to another
// connection or node when the current one is lost, and unsubscribes on Close.
func (s *Subscription) run() {
	defer close(s.finished)
	defer s.c.stats.subscriptions.Add(-1)
	var backoff time.Duration
	// Whether the subscription sits on the right node is checked as often as nodes are, but at
	// most once a second: a lost connection moves it at once anyway.
	placement := time.NewTicker(max(s.c.cfg.HealthCheckPeriod, time.Second))
	defer placement.Stop()
	for {
		s.mu.Lock()
		l, closed := s.link, s.reason != ""
		s.mu.Unlock()
		if closed {
			if l != nil {
				l.conn.subs.forget(l)
				if id := l.id.Load(); id != 0 && !l.conn.broken() {
					l.conn.unsubscribe(id)
				}
			}
			return
		}
		if l == nil {
			if !s.resubscribe(&backoff) {
				s.shut("ClientClosed")
				signal(s.ready)
			}
			continue
		}
		select {
		case <-s.kick:
			s.topUp(l)
		case <-l.ended:
			l.conn.subs.forget(l)
			if l.local && !l.conn.broken() {
				// Given up here while the server still pushes: cancel it there.
				id, cn := l.id.Load(), l.conn
				s.c.spawn(func() { cn.unsubscribe(id) })
			}
			if l.final {
				s.shut(l.reason)
			}
			s.dropLink(l)
		case <-l.conn.closed:
			l.conn.subs.forget(l)
			l.end("ConnectionLost", false)
			if !s.c.isShutdown() && !l.conn.closedByPool() {
				l.conn.node.setHealthy(false, "the connection serving a subscription was lost")
				s.c.cluster.lost(l.conn.node)
			}
			s.dropLink(l)
		case <-placement.C:
			if s.misplaced(l) {
				// Move: the new subscription starts after the last event received, and
				// anything the old one still pushes is dropped.
				l.abandon("Moved")
			}
		case <-s.c.shutdown:
			s.shut("ClientClosed")
		}
	}
}

// misplaced reports whether the subscription should move: reads go to the leader and another
// node leads now (an old leader cut off from the cluster would get no new commits), or its node
// is no longer healthy.
func (s *Subscription) misplaced(l *subLink) bool {
	n := l.conn.node
	if !n.healthy.Load() && s.c.cluster.anyNode() != nil {
		return true
	}
	if s.c.cfg.ReadFrom != ReadLeader {
		return false
	}
	leader, _ := s.c.cluster.currentLeader()
	return leader != nil && leader != n && leader.healthy.Load()
}

func (s *Subscription) dropLink(l *subLink) {
	s.mu.Lock()
	if s.link == l {
		s.link = nil
	}
	s.mu.Unlock()
}

// resubscribe opens a new server subscription, retrying with backoff until it succeeds, the
// server refuses for good, or the client closes. It reports false when the client closed.
func (s *Subscription) resubscribe(backoff *time.Duration) bool {
	c := s.c
	for {
		if c.isShutdown() {
			return false
		}
		if *backoff > 0 && !c.sleep(c.life, *backoff) {
			return false
		}
		*backoff = min(max(2**backoff, c.cfg.RetryInitialBackoff), c.cfg.RetryMaxBackoff)
		ctx, cancel := context.WithTimeout(c.life, c.cfg.RequestTimeout)
		stopOnClose := s.cancelOnClose(ctx, cancel)
		st := callState{}
		err := s.connect(ctx, &st)
		stopOnClose()
		cancel()
		if s.CloseReason() != "" {
			return true
		}
		if err == nil {
			*backoff = 0
			c.stats.resubscribes.Add(1)
			return true
		}
		var e *Error
		if errors.As(err, &e) && e.Kind == KindServer && !retryableCodes[e.ServerCode] {
			// The stream is no longer ours to follow (or the node cannot serve subscriptions).
			s.shut(e.ServerCode.String())
			signal(s.ready)
			return true
		}
	}
}

// topUp grants credits when the server's balance fell below the low-water mark and the window
// has room: what Next has not taken yet counts against the window.
func (s *Subscription) topUp(l *subLink) {
	s.mu.Lock()
	if s.link != l || l.id.Load() == 0 || s.credits >= s.lowWater {
		s.mu.Unlock()
		return
	}
	room := int64(s.window) - int64(len(s.queue)) - int64(s.credits)
	if s.refill > 0 {
		room = min(room, int64(s.refill))
	}
	// A small grant while Next still has events to take would split the flow into small pushes:
	// wait for Next, which checks again once it took them.
	if room <= 0 || (room < int64(s.lowWater) && len(s.queue) > 0) {
		s.mu.Unlock()
		return
	}
	s.credits += uint32(room)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.c.life, s.c.cfg.RequestTimeout)
	defer cancel()
	if err := s.grant(ctx, l, uint32(room)); err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindConnection {
			l.abandon("ProtocolError") // resubscribe: the new one starts with a full window
		}
	}
}

// cancelOnClose cancels ctx when the subscription is closed, so a Close does not wait for a
// resubscribe to a cluster that does not answer. The returned func stops the watch.
func (s *Subscription) cancelOnClose(ctx context.Context, cancel context.CancelFunc) func() {
	stop := make(chan struct{})
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		case <-stop:
		}
	}()
	return func() { close(stop) }
}

// Node is the address of the node serving the subscription now, or "" while it resubscribes.
func (s *Subscription) Node() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.link == nil || s.link.id.Load() == 0 {
		return ""
	}
	return s.link.conn.node.addr
}
