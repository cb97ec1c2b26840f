package pool

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/kimberlite/libkimberlite/wire"
)

// retryBudget is a token bucket that caps retries at a share of recent calls: every call
// deposits ratio tokens, RetryBudgetMinPerSec tokens flow in per second, and every retry takes
// one. During an outage calls fail instead of multiplying the load on a cluster that is already
// struggling.
type retryBudget struct {
	mu        sync.Mutex
	tokens    float64
	max       float64
	ratio     float64
	minPerSec float64
	last      time.Time
}

func newRetryBudget(ratio float64, minPerSec int) *retryBudget {
	m := float64(minPerSec)
	return &retryBudget{tokens: m, max: 100 + 10*m, ratio: ratio, minPerSec: m, last: time.Now()}
}

func (b *retryBudget) refillLocked() {
	now := time.Now()
	b.tokens += now.Sub(b.last).Seconds() * b.minPerSec
	b.last = now
	if b.tokens > b.max {
		b.tokens = b.max
	}
}

// deposit records one call.
func (b *retryBudget) deposit() {
	b.mu.Lock()
	b.tokens += b.ratio
	if b.tokens > b.max {
		b.tokens = b.max
	}
	b.mu.Unlock()
}

// take spends one retry, reporting false when the budget is exhausted.
func (b *retryBudget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// route says which node a request goes to.
type route int

const (
	toLeader  route = iota // writes, and reads under ReadLeader
	toReader               // reads: the leader or any healthy node, per ReadFrom
	toAnyNode              // ping: the leader, or any node when none is known
)

// callState is what one call saw, for its error: attempts, last node and request id, last dial
// error, and whether a request may have reached a server.
type callState struct {
	attempts    int
	node        string
	reqID       uint64
	lastDialErr error
	sent        bool // the last attempt's request was queued for the wire
	// redirectedSent: in the last attempt, a request that was sent came back NotLeader and was
	// redirected. A leader that loses its term while committing answers NotLeader too, so that
	// send may still be applied.
	redirectedSent bool
	// unkeyedSend: some request of this call went through a connection whose server does not
	// announce idempotent-append, so a re-send is not known to be applied at most once.
	unkeyedSend bool
	// contended counts the attempts of an append that lost the stream's tail to another writer:
	// they are not failures and do not use up RetryMaxAttempts.
	contended int
	bo        *backoff.ExponentialBackOff
}

// attempt sends body once to the node route selects, following NotLeader hints at once up to
// MaxRedirects times. A server Error comes back as a KindServer *Error.
func (c *Client) attempt(ctx context.Context, body []byte, rt route, st *callState) (wire.ResponsePayload, error) {
	st.sent, st.redirectedSent = false, false
	for redirects := 0; ; redirects++ {
		n, err := c.pick(ctx, rt)
		if err != nil {
			return nil, err
		}
		cn, err := n.acquire(ctx)
		if err != nil {
			st.node = n.addr
			var e *Error
			if errors.As(err, &e) && e.LastDialErr != nil {
				st.lastDialErr = e.LastDialErr
			}
			if e != nil && e.Kind == KindConnection {
				// The chosen node cannot be reached: forget it as leader so the next attempt
				// looks for the leader elsewhere.
				c.cluster.lost(n)
			}
			return nil, err
		}
		st.attempts++
		p, id, sent, err := cn.roundTrip(ctx, body)
		n.release(cn)
		p, next, err := c.settleTrip(n, cn, p, id, sent, err, st)
		if !isNotLeader(err) {
			return p, err
		}
		if redirects >= c.cfg.MaxRedirects || next == nil || next == n {
			return nil, err
		}
		st.redirectedSent = st.redirectedSent || sent
	}
}

// settleTrip records in st what one round trip to n over cn saw, and turns a server's Error
// answer into a KindServer *Error. A NotLeader answer updates the leader the cluster knows;
// next is the node it now points to (nil: none).
func (c *Client) settleTrip(n *node, cn *conn, p wire.ResponsePayload, id uint64, sent bool, err error, st *callState) (_ wire.ResponsePayload, next *node, _ error) {
	st.node, st.reqID = n.addr, id
	st.sent = st.sent || sent
	st.unkeyedSend = st.unkeyedSend || (sent && !cn.idempotentAppend)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == KindConnection && !c.isShutdown() {
			// The node dropped the connection: look for the leader again and keep reads
			// away from it until a health check finds it well.
			n.setHealthy(false, e.Error())
			c.cluster.lost(n)
		}
		return nil, nil, err
	}
	er, ok := p.(wire.ErrorResponse)
	if !ok {
		return p, nil, nil
	}
	serr := &Error{Kind: KindServer, ServerCode: er.Code, Message: er.Message}
	if er.Code != wire.ErrNotLeader {
		return nil, nil, serr
	}
	c.stats.redirects.Add(1)
	view, hint, okHint := wire.ParseNotLeader(er.Message)
	if !okHint {
		view, hint = 0, ""
	}
	c.logRedirect(n.addr, hint, view)
	return nil, c.cluster.notLeader(n, view, hint), serr
}

// isNotLeader reports whether err is a server's NotLeader answer.
func isNotLeader(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindServer && e.ServerCode == wire.ErrNotLeader
}

// pick chooses the node for one attempt, waiting for leader discovery when no leader is known.
func (c *Client) pick(ctx context.Context, rt route) (*node, error) {
	if n := c.pickNow(rt); n != nil {
		return n, nil
	}
	return c.cluster.leaderNode(ctx)
}

// pickNow is pick without waiting: nil when the choice needs a leader and none is known.
func (c *Client) pickNow(rt route) *node {
	switch {
	case rt == toReader && c.cfg.ReadFrom == ReadAnyHealthy:
		if n := c.cluster.anyNode(); n != nil {
			return n
		}
	case rt == toAnyNode:
		if l, _ := c.cluster.currentLeader(); l != nil {
			return l
		}
		if n := c.cluster.anyNode(); n != nil {
			return n
		}
	}
	l, _ := c.cluster.currentLeader()
	return l
}

// retryable reports whether another attempt may help after err.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
	}
	switch e.Kind {
	case KindConnection, KindClusterUnavailable:
		return true
	case KindServer:
		return retryableCodes[e.ServerCode]
	}
	return false
}

// pause waits before the next attempt: exponential backoff with full jitter (a uniform draw
// between zero and the current ceiling). It reports false if the call must stop: no retry budget
// left, attempts used up, deadline too close, or the client closing.
func (c *Client) pause(ctx context.Context, st *callState) bool {
	if failed := st.attempts - st.contended; failed >= c.cfg.RetryMaxAttempts && failed > 0 {
		return false
	}
	if !c.budget.take() {
		return false
	}
	if st.bo == nil {
		st.bo = &backoff.ExponentialBackOff{
			InitialInterval:     c.cfg.RetryInitialBackoff,
			RandomizationFactor: 0,
			Multiplier:          2,
			MaxInterval:         c.cfg.RetryMaxBackoff,
			MaxElapsedTime:      0,
			Stop:                backoff.Stop,
			Clock:               backoff.SystemClock,
		}
		st.bo.Reset()
	}
	ceiling := st.bo.NextBackOff()
	d := time.Duration(randInt63n(int64(ceiling) + 1))
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	c.stats.retries.Add(1)
	c.logRetry(st, d)
	return c.sleep(ctx, d)
}

// sleep waits for d, reporting false if ctx ends or the client shuts down first.
func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-c.shutdown:
		return false
	}
}

// exec runs one idempotent request to completion: attempts, redirects and retries under the
// call's single deadline.
func (c *Client) exec(ctx context.Context, body []byte, rt route, st *callState) (wire.ResponsePayload, error) {
	for {
		p, err := c.attempt(ctx, body, rt, st)
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil || !retryable(err) || !c.pause(ctx, st) {
			return nil, c.finish(ctx, err, st)
		}
	}
}

// finish turns what went wrong into the *Error the caller gets, filled with what the call saw.
func (c *Client) finish(ctx context.Context, err error, st *callState) *Error {
	var e *Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			e = &Error{Kind: KindTimeout, Message: "deadline exceeded", Err: err}
			if errors.Is(err, context.Canceled) {
				e.Message = "call cancelled"
			}
		default:
			e = &Error{Kind: KindInternal, Message: err.Error(), Err: err}
		}
	} else {
		cp := *e
		e = &cp
	}
	if ctx.Err() != nil && e.Kind != KindServer && e.Kind != KindTimeout {
		e = &Error{Kind: KindTimeout, Message: "deadline exceeded after: " + e.Error(), Err: ctx.Err(),
			LastDialErr: e.LastDialErr}
	}
	if c.closing.Load() && e.Kind != KindServer && e.Kind != KindInvalidArgument {
		select {
		case <-c.shutdown:
			e.Kind = KindClosed
			e.Message = "the client was closed during the call"
		default:
		}
	}
	if e.Node == "" {
		e.Node = st.node
	}
	if e.RequestID == 0 {
		e.RequestID = st.reqID
	}
	e.Attempts = st.attempts
	if e.LastDialErr == nil {
		e.LastDialErr = st.lastDialErr
	}
	return e
}
