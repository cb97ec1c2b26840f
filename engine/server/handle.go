package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// Capabilities name only what this server serves; a client may rely on every entry.
// idempotent-append: an AppendEvents carrying AuditMetadata.idempotency_key is applied at most
// once within the idempotency window, and a repeat gets the original answer.
var (
	handshakeCapabilities  = []string{"append", "idempotent-append"}
	serverInfoCapabilities = []string{"append", "idempotent-append", "server_info.v1"}
	// Without idempotent appends (Options.WithoutIdempotentAppend).
	legacyHandshakeCapabilities  = []string{"append"}
	legacyServerInfoCapabilities = []string{"append", "server_info.v1"}
)

func (c *conn) capabilities() (handshake, serverInfo []string) {
	if c.s.opts.WithoutIdempotentAppend {
		return c.withSubscribe(legacyHandshakeCapabilities), c.withSubscribe(legacyServerInfoCapabilities)
	}
	return c.withSubscribe(handshakeCapabilities), c.withSubscribe(serverInfoCapabilities)
}

// handle turns one request into its slot. It runs on the reader goroutine, in arrival order:
// session state (auth) changes in that order, and writes reach the backend in that order.
func (c *conn) handle(req *wire.Request, size int) *slot {
	s := &slot{id: req.ID, size: size, done: closedChan}
	if c.s.opts.Metrics != nil {
		s.op, s.started = opName(req.Payload), time.Now()
	}
	if hs, ok := req.Payload.(wire.HandshakeRequest); ok {
		s.resp = c.handshake(hs)
		return s
	}
	if e := c.authorize(req); e != nil {
		s.resp = *e
		return s
	}
	if c.handleSubscription(req, s) {
		return s
	}
	b := c.s.backend
	switch p := req.Payload.(type) {
	case wire.CreateStreamRequest:
		c.submit(s, engine.Op{Kind: engine.OpCreateStream, Tenant: req.TenantID, Name: p.Name,
			DataClass: p.DataClass, Placement: p.Placement})
		s.write = wire.ReqCreateStream
	case wire.AppendEventsRequest:
		if len(p.Events) == 0 {
			s.resp = wire.ErrorResponse{Code: wire.ErrInvalidRequest,
				Message: fmt.Sprintf("append to stream %d carries no events", p.StreamID)}
			return s
		}
		op := engine.Op{Kind: engine.OpAppend, Tenant: req.TenantID, StreamID: p.StreamID,
			Events: p.Events, Expected: p.ExpectedOffset}
		if req.Audit != nil && req.Audit.IdempotencyKey != nil && *req.Audit.IdempotencyKey != "" && !c.s.opts.WithoutIdempotentAppend {
			c.s.opts.IdempotencyWindow.Stamp(&op, *req.Audit.IdempotencyKey, time.Now())
		}
		c.submit(s, op)
		s.write = wire.ReqAppendEvents
		s.count = uint32(len(p.Events))
	case wire.ReadEventsRequest:
		if nw, ok := c.noWait(); ok {
			events, next, wait, err := nw.ReadNoWait(c.ctx, req.TenantID, p.StreamID, p.FromOffset, p.MaxBytes)
			c.answerWhenDurable(s, readAnswer(c, events, next, err), wait)
			return s
		}
		c.afterWrites(s, func(ctx context.Context) wire.ResponsePayload {
			events, next, err := b.Read(ctx, req.TenantID, p.StreamID, p.FromOffset, p.MaxBytes)
			return readAnswer(c, events, next, err)
		})
	case wire.StreamInfoRequest:
		if nw, ok := c.noWait(); ok {
			n, wait, err := nw.StreamLengthNoWait(c.ctx, req.TenantID, p.StreamID)
			c.answerWhenDurable(s, lengthAnswer(c, n, err), wait)
			return s
		}
		c.afterWrites(s, func(ctx context.Context) wire.ResponsePayload {
			n, err := b.StreamLength(ctx, req.TenantID, p.StreamID)
			return lengthAnswer(c, n, err)
		})
	case wire.SyncRequest:
		if nw, ok := c.noWait(); ok {
			wait, err := nw.SyncNoWait(c.ctx)
			c.answerWhenDurable(s, syncAnswer(c, err), wait)
			return s
		}
		c.afterWrites(s, func(ctx context.Context) wire.ResponsePayload {
			return syncAnswer(c, b.Sync(ctx))
		})
	case wire.GetServerInfoRequest:
		c.serverInfo(s)
	default:
		// Every variant outside the subset.
		s.resp = wire.ErrorResponse{Code: wire.ErrInvalidRequest,
			Message: fmt.Sprintf("unsupported operation: %s", wire.RequestName(req.Payload.RequestIndex()))}
	}
	return s
}

// submit hands a write to the backend at once; its answer is ready when it is durable. A
// local database's write is made durable on the reader instead when the database has no other
// write in progress and the client has sent nothing more yet: the reader then answers it
// without waking another goroutine, and a client that pipelines still gets its writes grouped.
// Only the database itself does so, not a Backend that wraps it and changes Submit.
func (c *conn) submit(s *slot, op engine.Op) {
	if db, ok := c.s.backend.(*engine.DB); ok && c.in.Buffered() == 0 {
		if r, done := db.WriteNow(op); done {
			p := engine.NewPending()
			p.Complete(r)
			c.lastWrite, s.pend, s.done = p, p, closedChan
			return
		}
	}
	p := c.s.backend.Submit(op)
	c.lastWrite = p
	s.pend = p
	s.done = p.Done()
}

func readAnswer(c *conn, events [][]byte, next *uint64, err error) wire.ResponsePayload {
	if err != nil {
		return c.errorResponse(err)
	}
	return wire.ReadEventsResponse{Events: events, NextOffset: next}
}

func lengthAnswer(c *conn, n uint64, err error) wire.ResponsePayload {
	if err != nil {
		return c.errorResponse(err)
	}
	return wire.StreamInfoResponse{Length: n}
}

func syncAnswer(c *conn, err error) wire.ResponsePayload {
	if err != nil {
		return c.errorResponse(err)
	}
	return wire.SyncResponse{Success: true}
}

// noWait returns the backend's non-blocking reads when a read may run now, on the reader: every
// earlier write of this connection has completed, so the read sees them.
func (c *conn) noWait() (NoWaitBackend, bool) {
	nw, ok := c.s.backend.(NoWaitBackend)
	if !ok {
		return nil, false
	}
	if c.lastWrite != nil {
		select {
		case <-c.lastWrite.Done():
			c.lastWrite = nil
		default:
			return nil, false
		}
	}
	return nw, true
}

// answerWhenDurable gives s the answer resp, at once when wait is nil, else in a goroutine of
// its own once wait returns (an error from wait becomes the answer).
func (c *conn) answerWhenDurable(s *slot, resp wire.ResponsePayload, wait func() error) {
	if wait == nil {
		s.resp = resp
		return
	}
	done := make(chan struct{})
	s.done = done
	go func() {
		defer close(done)
		if err := wait(); err != nil {
			resp = c.errorResponse(err)
		}
		s.resp = resp
	}()
}

// afterWrites runs fn in its own goroutine once every earlier write of this connection has
// completed, so a read sees the connection's own writes, while later requests keep flowing.
func (c *conn) afterWrites(s *slot, fn func(ctx context.Context) wire.ResponsePayload) {
	prev := c.lastWrite
	done := make(chan struct{})
	s.done = done
	go func() {
		defer close(done)
		if prev != nil {
			select {
			case <-prev.Done():
			case <-c.ctx.Done():
				s.resp = c.errorResponse(c.ctx.Err())
				return
			}
		}
		s.resp = fn(c.ctx)
	}()
}

func (c *conn) handshake(p wire.HandshakeRequest) wire.ResponsePayload {
	if p.ClientVersion != wire.Version {
		return wire.ErrorResponse{Code: wire.ErrInvalidRequest,
			Message: fmt.Sprintf("unsupported client version: %d, server is %d", p.ClientVersion, wire.Version)}
	}
	caps, _ := c.capabilities()
	ok := wire.HandshakeResponse{ServerVersion: wire.Version, Authenticated: true, Capabilities: caps}
	if len(c.s.opts.AuthTokens) == 0 {
		return ok
	}
	if c.authed {
		// A connection's identity is fixed once established: a handshake that would change or
		// drop it is refused, and the session keeps acting for its tenant.
		if p.AuthToken != nil {
			if tenant, found := c.s.lookupToken(*p.AuthToken); found && tenant == c.tenant {
				return ok
			}
		}
		return wire.ErrorResponse{Code: wire.ErrAuthenticationFailed, Message: fmt.Sprintf(
			"already authenticated for tenant %d: a connection's identity cannot change; open a new connection for another token", c.tenant)}
	}
	if p.AuthToken == nil {
		// As the reference server: no token is not an error, but the session stays anonymous.
		ok.Authenticated = false
		return ok
	}
	tenant, found := c.s.lookupToken(*p.AuthToken)
	if !found {
		c.authFailures++
		c.throttleAuthFailure()
		return wire.ErrorResponse{Code: wire.ErrAuthenticationFailed,
			Message: "authentication failed: unauthorized: invalid API key"}
	}
	c.authed, c.tenant, c.greeted = true, tenant, true
	return ok
}

// throttleAuthFailure holds the reader back before a failed handshake is answered, so one
// connection cannot try tokens at speed (and MaxAuthFailures then closes it).
func (c *conn) throttleAuthFailure() {
	d := c.s.opts.AuthFailureDelay
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}

// lookupToken compares the token with every configured one in constant time, so response
// timing does not reveal how much of a token was right.
func (s *Server) lookupToken(token string) (uint64, bool) {
	var tenant uint64
	found := 0
	for t, tn := range s.opts.AuthTokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			tenant, found = tn, 1
		}
	}
	return tenant, found == 1
}

// authorize checks a non-handshake request against the session when authentication is on.
func (c *conn) authorize(req *wire.Request) *wire.ErrorResponse {
	if len(c.s.opts.AuthTokens) == 0 {
		return nil
	}
	if !c.authed {
		return &wire.ErrorResponse{Code: wire.ErrAuthenticationFailed, Message: "must authenticate via Handshake first"}
	}
	if req.TenantID != c.tenant {
		return &wire.ErrorResponse{Code: wire.ErrAuthenticationFailed,
			Message: fmt.Sprintf("tenant ID mismatch: token is for tenant %d, request targets tenant %d", c.tenant, req.TenantID)}
	}
	return nil
}

// errorResponse maps a backend error to the wire: an *engine.Error keeps its code and text;
// anything else is an InternalError, logged here.
func (c *conn) errorResponse(err error) wire.ErrorResponse {
	var e *engine.Error
	if errors.As(err, &e) {
		return wire.ErrorResponse{Code: e.Code, Message: e.Message}
	}
	if !errors.Is(err, context.Canceled) {
		c.log.Error("request failed", "err", err)
	}
	return wire.ErrorResponse{Code: wire.ErrInternalError, Message: "internal error: " + err.Error()}
}

func typeName(m wire.Message) string {
	switch m.(type) {
	case *wire.Response:
		return "Response"
	case *wire.Push:
		return "Push"
	default:
		return fmt.Sprintf("%T", m)
	}
}
