package pool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// AppendOptions tune one Append.
type AppendOptions struct {
	// ExpectedOffset, when set, makes the append conditional: it succeeds only if the stream's
	// length equals it, and OffsetMismatch is returned to the caller otherwise (optimistic
	// concurrency). When nil the events go at the end of the stream: the client fills in the
	// offset from its cached tail and refreshes it when another writer got there first.
	ExpectedOffset *uint64
}

// Append appends events to streamID and returns the offset of the first one. Concurrent appends
// to one stream without ExpectedOffset are coalesced into one request; each caller still gets its
// own first offset, in call order. Appends at the end (no ExpectedOffset) never fail with
// OffsetMismatch because other writers share the stream: the client retries at the new tail
// until the call's deadline.
//
// Exactly once: an append that was acknowledged is in the stream once, and no retry of the
// client writes it twice. Every request carries an idempotency key (AuditMetadata), the same on
// every re-send. When the outcome of a send is unknown (the connection or the leader was lost
// after sending, NotLeader or RateLimited from a leader that may have committed it, a server
// error, the deadline), the client re-sends the same request at the same expected offset: a
// server that announces the idempotent-append capability answers a repeat with the original
// result. Against a server without it (Kimberlite 0.8), the client reads the stream at that
// offset and compares bytes instead; that check cannot tell our events from identical bytes
// appended by another writer at the same offset, so with such a server make events unique (an
// id or timestamp in each) where exactly-once matters. If the outcome cannot be learned before
// the deadline, the error has OutcomeUnknown set (errors.Is(err, ErrOutcomeUnknown)): the events
// may or may not be in the stream.
func (c *Client) Append(ctx context.Context, streamID uint64, events [][]byte, opts AppendOptions) (uint64, error) {
	if ctx == nil {
		return 0, invalidArg("ctx is nil")
	}
	if len(events) == 0 {
		return 0, invalidArg("events is empty: give at least one event")
	}
	if len(events) > MaxAppendEvents {
		return 0, invalidArg(fmt.Sprintf("%d events in one append: at most %d (the server's limit); split them into several appends", len(events), MaxAppendEvents))
	}
	size := appendBodyLen(c.cfg.TenantID, streamID, events)
	if !bodyFits(size) {
		return 0, invalidArg(fmt.Sprintf("events encode to %d bytes, over the %d-byte frame limit", size+maxIDPrefix, wire.MaxPayloadSize))
	}
	resume := resumedRun(ctx).appendLeft()
	if err := c.begin(); err != nil {
		return 0, resume.closedError(err)
	}
	defer c.end()
	start := time.Now()
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	c.budget.deposit()
	ss := c.stream(streamID)
	var first uint64
	var err error
	switch {
	case resume != nil && resume.waiter != nil: // its batch is being sent: wait for it
		first, err = c.awaitQueued(cctx, ss, resume.waiter)
	case opts.ExpectedOffset != nil || resume != nil:
		// Resumed, it goes on with its own key, outside the stream's queue (whose batches
		// have keys of their own).
		st := callState{}
		var exp *uint64
		if opts.ExpectedOffset != nil {
			v := *opts.ExpectedOffset
			exp = &v
		}
		first, err = c.appendEvents(cctx, ss, events, exp, &st)
	default:
		first, err = c.appendQueued(cctx, ss, events, size)
	}
	if !leaving(ctx, err) { // a run that leaves its thread is not the call's outcome
		c.stats.record(opAppend, time.Since(start), err)
		c.logAppendResult(streamID, err)
	}
	if err != nil {
		return 0, err
	}
	return first, nil
}

// streamState is what the client keeps per stream: the cached tail and the queue of appends
// waiting to be coalesced.
type streamState struct {
	id        uint64
	tail      uint64
	tailKnown bool
	queue     []*appendWaiter
	flushing  bool
}

// appendWaiter is one caller's events in the append queue.
type appendWaiter struct {
	events   [][]byte
	size     int
	deadline time.Time
	taken    bool // in a batch being sent: it can no longer be withdrawn
	done     chan appendResult
}

type appendResult struct {
	first uint64
	err   error
}

// maxStreams bounds the per-stream state kept; past it, idle streams are forgotten (their tail
// is asked again on their next append).
const maxStreams = 1 << 16

func (c *Client) stream(id uint64) *streamState {
	c.streamsMu.Lock()
	defer c.streamsMu.Unlock()
	ss := c.streams[id]
	if ss == nil {
		if len(c.streams) >= maxStreams {
			for k, v := range c.streams {
				if !v.flushing && len(v.queue) == 0 {
					delete(c.streams, k)
				}
				if len(c.streams) < maxStreams/2 {
					break
				}
			}
		}
		ss = &streamState{id: id}
		c.streams[id] = ss
	}
	return ss
}

// appendQueued appends events at the tail of ss. A caller that finds the stream idle sends its
// own events from its own goroutine, under its own deadline. Callers that arrive while a request
// for the stream is in flight queue up, and one flusher goroutine per busy stream sends them as
// batches, one at a time, in queue order.
func (c *Client) appendQueued(ctx context.Context, ss *streamState, events [][]byte, size int) (uint64, error) {
	c.streamsMu.Lock()
	if !ss.flushing && len(ss.queue) == 0 {
		ss.flushing = true
		c.streamsMu.Unlock()
		st := callState{}
		first, err := c.appendEvents(ctx, ss, events, nil, &st)
		c.streamsMu.Lock()
		more := len(ss.queue) > 0
		if !more {
			ss.flushing = false
		}
		c.streamsMu.Unlock()
		if more && !c.spawn(func() { c.flush(ss) }) {
			c.failQueue(ss, errClosed())
		}
		return first, err
	}
	dl, _ := ctx.Deadline()
	w := &appendWaiter{events: events, size: size, deadline: dl, done: make(chan appendResult, 1)}
	ss.queue = append(ss.queue, w)
	start := !ss.flushing
	ss.flushing = true
	c.streamsMu.Unlock()
	if start && !c.spawn(func() { c.flush(ss) }) {
		c.failQueue(ss, errClosed())
	}
	first, err := c.awaitQueued(ctx, ss, w)
	if d := firstRun(ctx); d != nil && d.Left(err) {
		var e *Error
		if errors.As(err, &e) && e.OutcomeUnknown { // taken into a batch: the second run waits for it
			d.leaveAppend(&appendResume{waiter: w})
		}
	}
	return first, err
}

// awaitQueued waits for the outcome of w, queued on ss, until ctx ends; then it withdraws w
// unless a batch took it.
func (c *Client) awaitQueued(ctx context.Context, ss *streamState, w *appendWaiter) (uint64, error) {
	select {
	case r := <-w.done:
		return r.first, r.err
	case <-ctx.Done():
	}
	c.streamsMu.Lock()
	taken := w.taken
	if !taken {
		for i, x := range ss.queue {
			if x == w {
				ss.queue = append(ss.queue[:i], ss.queue[i+1:]...)
				break
			}
		}
	}
	c.streamsMu.Unlock()
	select { // the result may have arrived at the same moment
	case r := <-w.done:
		return r.first, r.err
	default:
	}
	e := &Error{Kind: KindTimeout, Message: "deadline exceeded before the append was sent", Err: ctx.Err()}
	if taken {
		e.Message = "deadline exceeded while the append was in flight"
		e.OutcomeUnknown = true
	}
	return 0, e
}

// failQueue fails every waiter queued on ss and stops its flushing.
func (c *Client) failQueue(ss *streamState, err error) {
	c.streamsMu.Lock()
	q := ss.queue
	ss.queue = nil
	ss.flushing = false
	for _, w := range q {
		w.taken = true
	}
	c.streamsMu.Unlock()
	for _, w := range q {
		w.done <- appendResult{err: err}
	}
}

// flush sends the queue of ss as batches until it is empty. A batch takes waiters in order while
// it stays within AppendBatchMaxEvents and AppendBatchMaxBytes (the first is always taken).
func (c *Client) flush(ss *streamState) {
	var batch []*appendWaiter
	defer func() {
		if r := recover(); r != nil {
			e := panicError("append flusher", r)
			e.OutcomeUnknown = true // the batch may have been sent
			c.notePanic(e)
			for _, w := range batch {
				select { // a waiter may have had its answer already
				case w.done <- appendResult{err: e}:
				default:
				}
			}
			c.failQueue(ss, panicError("append flusher", r))
		}
	}()
	for {
		c.streamsMu.Lock()
		if len(ss.queue) == 0 {
			ss.flushing = false
			c.streamsMu.Unlock()
			return
		}
		batch = batch[:0]
		count, size := 0, 0
		for _, w := range ss.queue {
			if len(batch) > 0 && (count+len(w.events) > c.cfg.AppendBatchMaxEvents ||
				size+w.size > c.cfg.AppendBatchMaxBytes || !bodyFits(size+w.size+binary.MaxVarintLen64)) {
				break
			}
			w.taken = true
			batch = append(batch, w)
			count += len(w.events)
			size += w.size
		}
		ss.queue = append(ss.queue[:0], ss.queue[len(batch):]...)
		c.streamsMu.Unlock()
		c.sendBatch(ss, batch, count)
	}
}

// sendBatch appends the events of every waiter in batch as one request and tells each its
// offset. A batch that was sent is never split: if it fails, every caller in it gets the error
// (with OutcomeUnknown where it applies), since re-sending the callers one by one could write
// events of a batch that was in fact applied a second time.
func (c *Client) sendBatch(ss *streamState, batch []*appendWaiter, count int) {
	var deadline time.Time
	for _, w := range batch {
		if w.deadline.After(deadline) {
			deadline = w.deadline
		}
	}
	ctx, cancel := context.WithDeadline(c.life, deadline)
	defer cancel()
	events := batch[0].events
	if len(batch) > 1 {
		events = make([][]byte, 0, count)
		for _, w := range batch {
			events = append(events, w.events...)
		}
	}
	st := callState{}
	first, err := c.appendEvents(ctx, ss, events, nil, &st)
	off := first
	for _, w := range batch {
		if err != nil {
			cp := *err.(*Error)
			w.done <- appendResult{err: &cp}
			continue
		}
		w.done <- appendResult{first: off}
		off += uint64(len(w.events))
	}
}

// definiteRefusal reports whether a server's answer to an append proves that it wrote nothing:
// the request itself was refused before anything was applied.
func definiteRefusal(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrInvalidRequest, wire.ErrAuthenticationFailed, wire.ErrTenantNotFound, wire.ErrStreamNotFound,
		wire.ErrInvalidOffset, wire.ErrApiKeyNotFound:
		return true
	}
	return false
}

// appendEvents sends one append (events to ss, at expected or at the tail) until its outcome is
// known, and returns *Error on failure. Every send of the call carries the same idempotency key.
//
// Once a request was sent, only a success, an OffsetMismatch that is explained, or a definite
// refusal ends the call. Anything else (connection lost, deadline, NotLeader after sending,
// RateLimited, a server error) leaves the outcome unknown: the request may have been applied.
// It is then resolved by re-sending the same request at the same expected offset: a server
// that announces idempotent-append answers a repeat with the original result, and the expected
// offset makes sure that only one of the sends can ever be applied. Against a server without
// the feature, the stream is read back at that offset and compared instead (which cannot tell
// our events from identical bytes written by another writer).
//
// A first run of a Detach that leaves its thread leaves its state to the second run, which
// goes on from it (detach.go).
func (c *Client) appendEvents(ctx context.Context, ss *streamState, events [][]byte, expected *uint64, st *callState) (first uint64, err error) {
	var base []byte
	maybe, maybeAt := false, uint64(0) // a send at maybeAt may have been applied
	if r := resumedRun(ctx).takeAppend(); r != nil && r.base != nil {
		base, maybe, maybeAt, *st = r.base, r.maybe, r.maybeAt, r.st
	} else {
		base = encodeAppendBase(c.cfg.TenantID, c.nextIdempotencyKey(), ss.id, events)
	}
	if d := firstRun(ctx); d != nil {
		defer func() {
			if d.Left(err) {
				d.leaveAppend(&appendResume{base: base, maybe: maybe, maybeAt: maybeAt, st: *st})
			}
		}()
	}
	var body []byte
	var bodyExp uint64
	for {
		var exp uint64
		switch {
		case maybe:
			exp = maybeAt
		case expected != nil:
			exp = *expected
		default:
			t, err := c.tail(ctx, ss, st)
			if err != nil {
				return 0, c.finish(ctx, err, st)
			}
			exp = t
		}
		if body == nil || exp != bodyExp {
			body = binary.AppendUvarint(append(make([]byte, 0, len(base)+binary.MaxVarintLen64), base...), exp)
			bodyExp = exp
		}
		p, err := c.attempt(ctx, body, toLeader, st)
		if err == nil {
			r, ok := p.(wire.AppendEventsResponse)
			if !ok {
				return 0, c.finish(ctx, unexpected(p, "AppendEvents"), st)
			}
			c.setTail(ss, r.FirstOffset+uint64(len(events)))
			return r.FirstOffset, nil
		}
		var e *Error
		errors.As(err, &e)
		server := e != nil && e.Kind == KindServer
		mismatch := server && e.ServerCode == wire.ErrOffsetMismatch
		refused := server && definiteRefusal(e.ServerCode)
		if !maybe && (st.redirectedSent || (st.sent && !mismatch && !refused)) {
			maybe, maybeAt = true, exp
		}
		switch {
		case refused:
			if maybe && st.unkeyedSend {
				return 0, c.unknownOutcome(ctx, err, st)
			}
			return 0, c.finish(ctx, err, st)
		case mismatch:
			if maybe {
				ours, verr := c.explainMismatch(ctx, ss, events, maybeAt, e, st)
				switch {
				case verr != nil:
					return 0, c.unknownOutcome(ctx, verr, st)
				case ours:
					c.setTail(ss, maybeAt+uint64(len(events)))
					return maybeAt, nil
				}
				maybe = false // no send of ours was applied, and none can be any more
			}
			if expected != nil {
				return 0, c.finish(ctx, err, st)
			}
			// Another writer took the tail: start again from where the stream ends now.
			if actual, ok := parseActual(e.Message); ok {
				c.resetTail(ss, actual)
			} else {
				c.forgetTail(ss)
			}
			st.contended++
			if !c.contentionPause(ctx, st.contended) {
				// The caller asked for "at the end", so losing the tail is never its error:
				// the deadline passed while other appends kept taking it.
				return 0, c.finish(ctx, &Error{Kind: KindTimeout, Err: ctx.Err(),
					Message: "deadline exceeded while other appends kept taking the tail (last answer: " + e.Message + ")"}, st)
			}
			continue
		}
		// Retry what may help; with the outcome unknown, a re-send is also how it is learned.
		if ctx.Err() != nil || !(retryable(err) || maybe) || !c.pause(ctx, st) {
			if maybe {
				return 0, c.unknownOutcome(ctx, err, st)
			}
			return 0, c.finish(ctx, err, st)
		}
		if maybe && st.unkeyedSend {
			// Without idempotent-append, look before re-sending: the events may be there.
			ours, free, verr := c.verifyAppend(ctx, ss, events, maybeAt, st)
			switch {
			case verr != nil:
				if ctx.Err() != nil || !retryable(verr) {
					return 0, c.unknownOutcome(ctx, verr, st)
				}
				// Not learned yet; re-sending at maybeAt is safe: it can only be applied if
				// the offset is still free, that is if the earlier send was not.
			case ours:
				c.setTail(ss, maybeAt+uint64(len(events)))
				return maybeAt, nil
			case !free:
				maybe = false // other events hold the offset: ours were not applied there
				c.forgetTail(ss)
			}
		}
	}
}

// explainMismatch decides, after an earlier send at maybeAt may have been applied, what an
// OffsetMismatch to the re-send at maybeAt means. ours: the events are in the stream at
// maybeAt. Not ours: no send of this call was applied, and none can be later. An error: it
// could not be learned.
func (c *Client) explainMismatch(ctx context.Context, ss *streamState, events [][]byte, maybeAt uint64, e *Error, st *callState) (bool, error) {
	if !st.unkeyedSend {
		// Every send carried the key to a server that checks it before the offset, so a
		// mismatch means the key is not in its window: no send was applied. A stream already
		// past maybeAt can no longer take a late one (it only grows).
		if actual, ok := parseActual(e.Message); ok && actual > maybeAt {
			return false, nil
		}
	}
	ours, _, err := c.verifyAppend(ctx, ss, events, maybeAt, st)
	return ours, err
}

// contentionPause waits before the k-th consecutive retry of an append that lost the tail to
// another writer. The first retry goes at once with the tail the mismatch reported; later ones
// back off with full jitter up to a few milliseconds, so that writers sharing a stream spread
// out instead of colliding again. It reports false when the call must stop.
func (c *Client) contentionPause(ctx context.Context, k int) bool {
	if ctx.Err() != nil {
		return false
	}
	if k <= 1 {
		return true
	}
	ceiling := min(100*time.Microsecond<<min(k-2, 10), 10*time.Millisecond)
	return c.sleep(ctx, time.Duration(randInt63n(int64(ceiling)+1)))
}

// unknownOutcome is the error of an append that may or may not have been applied.
func (c *Client) unknownOutcome(ctx context.Context, err error, st *callState) *Error {
	e := c.finish(ctx, err, st)
	e.OutcomeUnknown = true
	return e
}

// verifyAppend reads ss at offset and compares with events. ours: our events are there. free:
// the stream ends at offset (nothing there yet). Neither: other events hold the offset.
func (c *Client) verifyAppend(ctx context.Context, ss *streamState, events [][]byte, offset uint64, st *callState) (ours, free bool, err error) {
	want := uint64(1)
	for _, e := range events {
		want += uint64(len(e))
	}
	want = min(want, wire.MaxPayloadSize/2)
	from := offset
	i := 0
	for i < len(events) {
		body := encodeBody(c.cfg.TenantID, wire.ReadEventsRequest{StreamID: ss.id, FromOffset: from, MaxBytes: want})
		p, err := c.exec(ctx, body, toLeader, st)
		if err != nil {
			return false, false, err
		}
		r, ok := p.(wire.ReadEventsResponse)
		if !ok {
			return false, false, unexpected(p, "ReadEvents")
		}
		if len(r.Events) == 0 {
			return false, i == 0, nil
		}
		for _, got := range r.Events {
			if i == len(events) {
				break
			}
			if !bytes.Equal(got, events[i]) {
				return false, false, nil
			}
			i++
		}
		from += uint64(len(r.Events))
	}
	return true, false, nil
}

// tail returns the cached tail of ss, asking the server when unknown.
func (c *Client) tail(ctx context.Context, ss *streamState, st *callState) (uint64, error) {
	c.streamsMu.Lock()
	t, ok := ss.tail, ss.tailKnown
	c.streamsMu.Unlock()
	if ok {
		return t, nil
	}
	body := encodeBody(c.cfg.TenantID, wire.StreamInfoRequest{StreamID: ss.id})
	p, err := c.exec(ctx, body, toLeader, st)
	if err != nil {
		return 0, err
	}
	r, ok := p.(wire.StreamInfoResponse)
	if !ok {
		return 0, unexpected(p, "StreamInfo")
	}
	c.setTail(ss, r.Length)
	return r.Length, nil
}

func (c *Client) setTail(ss *streamState, t uint64) {
	c.streamsMu.Lock()
	if !ss.tailKnown || t > ss.tail {
		ss.tail, ss.tailKnown = t, true
	}
	c.streamsMu.Unlock()
}

// resetTail sets the tail to what the server reported, even if lower than the cached one.
func (c *Client) resetTail(ss *streamState, t uint64) {
	c.streamsMu.Lock()
	ss.tail, ss.tailKnown = t, true
	c.streamsMu.Unlock()
}

func (c *Client) forgetTail(ss *streamState) {
	c.streamsMu.Lock()
	ss.tailKnown = false
	c.streamsMu.Unlock()
}

// parseActual reads N out of "... actual N" in an OffsetMismatch message.
func parseActual(msg string) (uint64, bool) {
	i := strings.LastIndex(msg, "actual ")
	if i < 0 {
		return 0, false
	}
	s := msg[i+len("actual "):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	v, err := strconv.ParseUint(s[:j], 10, 64)
	return v, err == nil
}
