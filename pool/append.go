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
// own first offset, in call order.
//
// An append is never sent twice blindly. When its outcome is unknown (the connection or the
// leader was lost after sending, or the deadline passed), the client reads the stream at the
// offset it used and compares: its own events there mean success; the offset is only retried
// while it still stands free, so no retry can duplicate events. If the outcome cannot be learned
// before the deadline, the error has OutcomeUnknown set (errors.Is(err, ErrOutcomeUnknown)): the
// events may or may not be in the stream.
func (c *Client) Append(ctx context.Context, streamID uint64, events [][]byte, opts AppendOptions) (uint64, error) {
	if ctx == nil {
		return 0, invalidArg("ctx is nil")
	}
	if len(events) == 0 {
		return 0, invalidArg("events is empty: give at least one event")
	}
	size := appendBodyLen(c.cfg.TenantID, streamID, events)
	if !bodyFits(size) {
		return 0, invalidArg(fmt.Sprintf("events encode to %d bytes, over the %d-byte frame limit", size+maxIDPrefix, wire.MaxPayloadSize))
	}
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.end()
	start := time.Now()
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	c.budget.deposit()
	ss := c.stream(streamID)
	var first uint64
	var err error
	if opts.ExpectedOffset != nil {
		st := callState{}
		exp := *opts.ExpectedOffset
		first, err = c.appendEvents(cctx, ss, events, &exp, &st)
	} else {
		first, err = c.appendQueued(cctx, ss, events, size)
	}
	c.stats.record(opAppend, time.Since(start), err)
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
	for {
		c.streamsMu.Lock()
		if len(ss.queue) == 0 {
			ss.flushing = false
			c.streamsMu.Unlock()
			return
		}
		var batch []*appendWaiter
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
// offset. If the server refuses the batch for a reason that may be one caller's (anything but a
// stream-wide or cluster-wide error), each caller's events are sent on their own so that only
// the culprit fails.
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
	if err != nil && len(batch) > 1 && callerSpecific(err) {
		for _, w := range batch {
			wctx, wcancel := context.WithDeadline(c.life, w.deadline)
			wst := callState{}
			f, werr := c.appendEvents(wctx, ss, w.events, nil, &wst)
			wcancel()
			w.done <- appendResult{first: f, err: werr}
		}
		return
	}
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

// callerSpecific reports whether a refused batch may be one caller's fault.
func callerSpecific(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindServer {
		return false
	}
	switch e.ServerCode {
	case wire.ErrStreamNotFound, wire.ErrAuthenticationFailed, wire.ErrNotLeader, wire.ErrOffsetMismatch,
		wire.ErrRateLimited, wire.ErrProjectionLag, wire.ErrTenantNotFound:
		return false
	}
	return true
}

// appendEvents appends events to ss. With expected set the append is conditional on it;
// otherwise it goes at the tail. It returns *Error on failure.
func (c *Client) appendEvents(ctx context.Context, ss *streamState, events [][]byte, expected *uint64, st *callState) (uint64, error) {
	base := encodeBody(c.cfg.TenantID, wire.AppendEventsRequest{StreamID: ss.id, Events: events})
	base = base[:len(base)-1] // drop expected_offset (0 encodes as one byte); added per attempt
	var body []byte
	var bodyExp uint64
	unknown, unknownAt := false, uint64(0) // an attempt at unknownAt may have been applied
	mismatches := 0
	for {
		var exp uint64
		switch {
		case unknown:
			exp = unknownAt
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
		if e != nil && e.Kind == KindServer && e.ServerCode == wire.ErrOffsetMismatch {
			if unknown {
				// An earlier attempt at unknownAt may be what took the offset.
				ours, _, verr := c.verifyAppend(ctx, ss, events, unknownAt, st)
				if verr != nil {
					return 0, c.unknownOutcome(ctx, verr, st)
				}
				if ours {
					c.setTail(ss, unknownAt+uint64(len(events)))
					return unknownAt, nil
				}
				// Not there: other events hold the offset, or (with an expected offset past
				// the end) the stream has not reached it. Either way ours were not applied.
				unknown = false
			}
			if expected != nil {
				return 0, c.finish(ctx, err, st)
			}
			if actual, ok := parseActual(e.Message); ok {
				c.resetTail(ss, actual)
			} else {
				c.forgetTail(ss)
			}
			mismatches++
			if mismatches > 4*c.cfg.RetryMaxAttempts {
				return 0, c.finish(ctx, err, st)
			}
			continue
		}
		if st.sent && (e == nil || e.Kind != KindServer || e.ServerCode == wire.ErrNotLeader) {
			// Sent, and no answer that says it was refused: it may have been applied. (A
			// NotLeader may come from a leader that lost its term while committing.)
			if !unknown {
				unknown, unknownAt = true, exp
			}
		}
		if ctx.Err() != nil || !retryable(err) || !c.pause(ctx, st) {
			if unknown {
				return 0, c.unknownOutcome(ctx, err, st)
			}
			return 0, c.finish(ctx, err, st)
		}
		if unknown {
			ours, free, verr := c.verifyAppend(ctx, ss, events, unknownAt, st)
			switch {
			case verr != nil:
				if ctx.Err() != nil || !retryable(verr) {
					return 0, c.unknownOutcome(ctx, verr, st)
				}
				// Could not learn it yet; the next attempt reuses unknownAt, which is safe:
				// it can only succeed if the offset is still free.
			case ours:
				c.setTail(ss, unknownAt+uint64(len(events)))
				return unknownAt, nil
			case !free:
				unknown = false // other events hold the offset: ours were not applied there
				c.forgetTail(ss)
			}
		}
	}
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
