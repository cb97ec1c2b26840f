package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// conn is one client connection. Its reader goroutine decodes requests in arrival order and
// hands writes to the backend at once. A request whose answer is known at once (a read of
// durable data, stream info, server info, a handshake) is answered by the reader itself, with
// one write, when no earlier answer is still owed; every other request gets a slot in a FIFO,
// reads that must wait run in goroutines of their own, and the writer goroutine sends the
// slots' answers in that order. Either way answers leave in request order: the reader writes
// only when the FIFO is empty, and both write under one lock.
type conn struct {
	s      *Server
	nc     net.Conn
	log    *slog.Logger
	ctx    context.Context // ends when the connection is torn down
	cancel context.CancelFunc

	slots    chan *slot
	owed     atomic.Int32 // slots handed to the writer whose answer is not yet written
	inFlight int          // bytes this connection holds of the server's budget, under budget.mu
	addr     string       // client IP, for the per-address limit
	stopping atomic.Bool  // no new requests: the server is shutting down
	aborted  atomic.Bool  // answers are no longer sent

	// Owned by the reader goroutine.
	authed       bool
	tenant       uint64
	greeted      bool      // authenticated, or (without auth) sent a first request
	hsDeadline   time.Time // when an ungreeted connection is closed; zero: never
	authFailures int
	lastWrite    *engine.Pending // the latest write handed to the backend
	in           *bufio.Reader   // the requests read from nc and not decoded yet
	readDL       time.Time       // the read deadline set on nc
	idleDL       time.Time       // the idle part of it, renewed only when it gets near

	out outbox // what goes to the client, shared by the reader and the writer

	subs connSubs // subscriptions (subscribe.go)
}

// outbox is the sending side of a connection: answers and pushes are encoded and buffered
// under mu, by the writer goroutine or by the reader answering at once.
type outbox struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	frame   []byte
	failed  bool
	writeDL time.Time // the write deadline set on nc
}

// slot is one request's place in the answer order. done is closed when the answer is known:
// either resp is set, or pend (a write) has completed.
type slot struct {
	id    uint64
	size  int
	done  <-chan struct{}
	resp  wire.ResponsePayload
	pend  *engine.Pending
	write uint32 // for a write: wire.ReqCreateStream or wire.ReqAppendEvents
	count uint32 // for an append: number of events

	after   func()    // run by the writer once the answer is written (a subscription may then push)
	closes  *push     // written right after the answer (Unsubscribe's SubscriptionClosed)
	op      string    // for Options.Metrics: the operation's name
	started time.Time // when the request was read
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func newConn(s *Server, nc net.Conn, addr string) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c := &conn{
		s:     s,
		nc:    nc,
		log:   s.log.With("remote", nc.RemoteAddr().String()),
		slots: make(chan *slot, s.opts.MaxInFlight),
		addr:  addr,
	}
	if t := s.opts.HandshakeTimeout; t > 0 {
		c.hsDeadline = time.Now().Add(t)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.subs.pushes = make(chan *push)
	c.out.bw = bufio.NewWriterSize(nc, 64<<10)
	return c
}

func (c *conn) serve() {
	defer c.s.removeConn(c)
	c.s.opts.Metrics.connOpened()
	defer c.s.opts.Metrics.connClosed()
	c.log.Debug("connection opened")
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop()
	close(c.slots)
	<-writerDone
	c.cancel()
	_ = c.nc.Close()
	c.log.Debug("connection closed")
}

// stopReading makes the reader stop before its next request; requests already read are still
// answered. Used by Shutdown.
func (c *conn) stopReading() {
	c.stopping.Store(true)
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
}

// abort drops the connection at once: answers not yet sent are discarded.
func (c *conn) abort() {
	c.aborted.Store(true)
	c.cancel()
	_ = c.nc.Close()
}

var (
	errStopping     = errors.New("server: shutting down")
	errPreAuthFrame = errors.New("server: frame too large")
)

// Read implements io.Reader for the frame reader. The idle timeout counts from the last
// incoming data: before each read the idle deadline is at least IdleTimeout away, and at most
// deadlineSlack more, so it is set again only about once per slack, not per request.
func (c *conn) Read(p []byte) (int, error) {
	var deadline time.Time
	if t := c.s.opts.IdleTimeout; t > 0 && !c.holdsSubscriptions() {
		now := time.Now()
		if c.idleDL.Sub(now) < t {
			c.idleDL = now.Add(t + deadlineSlack(t))
		}
		deadline = c.idleDL
	}
	if !c.greeted && !c.hsDeadline.IsZero() && (deadline.IsZero() || c.hsDeadline.Before(deadline)) {
		deadline = c.hsDeadline
	}
	if !deadline.Equal(c.readDL) {
		_ = c.nc.SetReadDeadline(deadline)
		c.readDL = deadline
	}
	// Checked after setting the deadline, so a concurrent stopReading is never overridden (it
	// stores stopping before it sets its own deadline).
	if c.stopping.Load() {
		return 0, errStopping
	}
	n, err := c.nc.Read(p)
	c.s.opts.Metrics.received(n)
	return n, err
}

// deadlineSlack is how much later than its timeout an idle or write deadline may fire, so
// that it need not be set again before every read and write.
func deadlineSlack(t time.Duration) time.Duration { return min(t/8, time.Second) }

func (c *conn) readLoop() {
	br := bufio.NewReaderSize(c, 64<<10)
	c.in = br
	var buf []byte
	auth := len(c.s.opts.AuthTokens) > 0
	for {
		limit := wire.MaxPayloadSize
		if auth && !c.authed {
			limit = c.s.opts.MaxPreAuthFrame
		}
		payload, err := readFrame(br, buf, limit)
		if err != nil {
			c.readFailed(err)
			return
		}
		msg, err := wire.DecodeMessageLimited(payload, c.s.opts.MaxEventsPerAppend)
		var tooMany *wire.TooManyEventsError
		if errors.As(err, &tooMany) {
			// The frame was sound: answer this request and keep the connection.
			size := wire.HeaderSize + len(payload)
			c.s.budget.acquire(c, size)
			c.dispatch(&slot{id: tooMany.RequestID, size: size, done: closedChan, resp: wire.ErrorResponse{
				Code: wire.ErrInvalidRequest,
				Message: fmt.Sprintf("append carries %d events; the server accepts at most %d events per append (max-events-per-append)",
					tooMany.Count, tooMany.Max)}})
			buf = nil
			continue
		}
		if err != nil {
			c.log.Warn("closing connection: undecodable message", "err", err)
			c.abort()
			return
		}
		req, ok := msg.(*wire.Request)
		if !ok {
			c.log.Warn("closing connection: client sent a message that is not a request", "type", typeName(msg))
			c.abort()
			return
		}
		// Keep a small buffer for the next frame, but do not pin a big one to the connection.
		if cap(payload) <= 1<<20 {
			buf = payload[:0]
		} else {
			buf = nil
		}
		if !auth {
			c.greeted = true
		}
		size := wire.HeaderSize + len(payload) + answerCost(req.Payload)
		c.s.budget.acquire(c, size)
		c.dispatch(c.handle(req, size))
		if c.authFailures >= c.s.opts.MaxAuthFailures {
			c.log.Warn("closing connection: too many failed handshakes", "failures", c.authFailures)
			return // answer what was read, then close
		}
	}
}

// perEventCost is what one appended event costs the server beyond its bytes (slice headers,
// batching and log records), counted against the memory budgets.
const perEventCost = 256

// answerCost is the memory a request may take beyond its own frame until it is answered.
func answerCost(p wire.RequestPayload) int {
	switch p := p.(type) {
	case wire.ReadEventsRequest:
		// The events read and the encoded answer are both held until it is sent.
		return 2 * int(min(p.MaxBytes, wire.MaxPayloadSize))
	case wire.AppendEventsRequest:
		return perEventCost * len(p.Events)
	}
	return 0
}

// readFrame reads one frame like wire.ReadFrame, but grows the payload buffer as bytes arrive
// instead of allocating what the header announces: a client that announces 16 MiB and sends
// nothing more costs the server almost no memory.
func readFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	var h [wire.HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n, sum, err := wire.CheckHeader(h[:])
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w: %d bytes before authentication, the limit is %d", errPreAuthFrame, n, limit)
	}
	const step = 1 << 20
	payload := buf[:0]
	for len(payload) < n {
		want := min(n, len(payload)+step)
		if cap(payload) < want {
			payload = append(payload[:cap(payload)], make([]byte, want-cap(payload))...)[:len(payload)]
		}
		m, err := io.ReadFull(r, payload[len(payload):want])
		payload = payload[:len(payload)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if got := wire.Checksum(payload); got != sum {
		return nil, fmt.Errorf("%w: header says %#08x, payload has %#08x", wire.ErrChecksum, sum, got)
	}
	return payload, nil
}

func (c *conn) readFailed(err error) {
	var he *tlsHandshakeError
	if errors.As(err, &he) && he.reason() != "" {
		c.s.opts.Metrics.tlsHandshakeFailed(he.reason()) // logged where it failed (tls.go)
	}
	var ne net.Error
	switch {
	case errors.Is(err, errStopping) || (c.stopping.Load() && errors.As(err, &ne) && ne.Timeout()):
		// Shutdown: answer what was read, then close.
	case errors.Is(err, io.EOF):
		// The client closed its side: answer what was read, then close.
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.greeted && !c.hsDeadline.IsZero() && !time.Now().Before(c.hsDeadline):
		c.log.Warn("closing connection: no handshake in time", "handshake_timeout", c.s.opts.HandshakeTimeout)
		c.abort()
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Debug("closing idle connection", "idle_timeout", c.s.opts.IdleTimeout)
		c.abort()
	case errors.Is(err, errPreAuthFrame):
		c.log.Warn("closing connection: frame too large before authentication", "err", err)
		c.abort()
	case errors.Is(err, wire.ErrBadMagic), errors.Is(err, wire.ErrBadVersion),
		errors.Is(err, wire.ErrFrameTooLarge), errors.Is(err, wire.ErrChecksum):
		c.log.Warn("closing connection: malformed frame", "err", err)
		c.abort()
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.log.Debug("connection ended inside a frame")
		c.abort()
	default:
		c.log.Debug("connection read failed", "err", err)
		c.abort()
	}
}

// dispatch sends s's answer now, from the reader, when it is known and no earlier answer is
// owed; otherwise it queues s for the writer goroutine. Only the reader adds to owed, so once
// it reads zero every earlier answer is in the outbox and s's answer goes after them.
func (c *conn) dispatch(s *slot) {
	if s.done == closedChan && c.owed.Load() == 0 {
		o := &c.out
		o.mu.Lock()
		c.writeAnswer(s)
		c.flush()
		o.mu.Unlock()
		c.s.budget.release(c, s.size)
		return
	}
	c.owed.Add(1)
	c.slots <- s
}

// sendable reports whether answers and pushes are still written (under out.mu).
func (c *conn) sendable() bool { return !c.out.failed && !c.aborted.Load() }

// writeFailed drops the connection after a failed write (under out.mu).
func (c *conn) writeFailed(err error) {
	if c.sendable() {
		c.log.Debug("connection write failed", "err", err)
	}
	c.out.failed = true
	c.abort()
}

// write buffers one frame (under out.mu).
func (c *conn) write(frame []byte) {
	o := &c.out
	if o.bw.Available() < len(frame) {
		c.setWriteDeadline()
	}
	if _, err := o.bw.Write(frame); err != nil {
		c.writeFailed(err)
	}
}

// flush sends what is buffered (under out.mu).
func (c *conn) flush() {
	o := &c.out
	if !c.sendable() || o.bw.Buffered() == 0 {
		return
	}
	c.setWriteDeadline()
	if err := o.bw.Flush(); err != nil {
		c.writeFailed(err)
	}
}

// writeAnswer buffers the answer of a completed slot, then what follows it (under out.mu).
func (c *conn) writeAnswer(s *slot) {
	if !c.sendable() {
		return
	}
	o := &c.out
	resp := &wire.Response{RequestID: s.id, Payload: c.answer(s)}
	var err error
	o.frame, err = wire.AppendFrame(o.frame[:0], resp)
	if err != nil {
		c.log.Error("response does not fit in a frame", "request_id", s.id, "err", err)
		o.frame, _ = wire.AppendFrame(o.frame[:0], &wire.Response{RequestID: s.id,
			Payload: wire.ErrorResponse{Code: wire.ErrInternalError, Message: "response exceeds the 16 MiB frame limit"}})
	}
	c.write(o.frame)
	c.s.opts.Metrics.answered(s.op, s.started, resp.Payload, len(o.frame))
	if cap(o.frame) > 1<<20 {
		o.frame = nil
	}
	if s.after != nil {
		s.after()
	}
	if s.closes != nil {
		c.writePush(s.closes)
	}
}

// writePush buffers one subscription push between answers (subscribe.go) and releases its
// budget (under out.mu).
func (c *conn) writePush(p *push) {
	if c.sendable() {
		o := &c.out
		var ok bool
		var err error
		if o.frame, ok, err = encodePush(o.frame, p); ok {
			c.write(o.frame)
		} else if err != nil {
			c.log.Error("push does not fit in a frame", "err", err)
		}
	}
	c.s.budget.release(c, p.size)
}

func (c *conn) writeLoop() {
	o := &c.out
	locked := func(f func()) {
		o.mu.Lock()
		f()
		o.mu.Unlock()
	}
	pushOne := func(p *push) { locked(func() { c.writePush(p) }) }
	pushFlush := func(p *push) {
		locked(func() {
			c.writePush(p)
			c.flush()
		})
	}
	flush := func() { locked(c.flush) }
	for {
		var s *slot
		var ok bool
		select {
		case s, ok = <-c.slots:
		case p := <-c.subs.pushes:
			pushOne(p)
			continue
		default:
			flush()
			select {
			case s, ok = <-c.slots:
			case p := <-c.subs.pushes:
				pushOne(p)
				continue
			}
		}
		if !ok {
			locked(func() {
				if c.stopping.Load() {
					c.endSubscriptions(c.writePush)
				} else {
					c.endSubscriptions(nil)
				}
				c.flush()
			})
			return
		}
		if c.aborted.Load() {
			c.owed.Add(-1)
			c.s.budget.release(c, s.size) // nothing more is sent: drop the slot without waiting
			continue
		}
		select {
		case <-s.done:
		default:
			flush()
		wait:
			for {
				select {
				case <-s.done:
					break wait
				case <-c.ctx.Done(): // aborted while waiting
					break wait
				case p := <-c.subs.pushes:
					pushFlush(p)
				}
			}
		}
		locked(func() {
			c.writeAnswer(s)
			// Under the lock: the reader, seeing nothing owed, writes after this answer.
			c.owed.Add(-1)
		})
		c.s.budget.release(c, s.size)
	}
}

// setWriteDeadline bounds how long a client that stops reading can hold the connection: a
// write gets at least IdleTimeout, and at most deadlineSlack more (under out.mu).
func (c *conn) setWriteDeadline() {
	if t := c.s.opts.IdleTimeout; t > 0 {
		if now := time.Now(); c.out.writeDL.Sub(now) < t {
			c.out.writeDL = now.Add(t + deadlineSlack(t))
			_ = c.nc.SetWriteDeadline(c.out.writeDL)
		}
	}
}

// answer builds the response of a completed slot.
func (c *conn) answer(s *slot) wire.ResponsePayload {
	if s.pend == nil {
		return s.resp
	}
	r := s.pend.Wait(context.Background())
	if r.Err != nil {
		return c.errorResponse(r.Err)
	}
	if s.write == wire.ReqCreateStream {
		return wire.CreateStreamResponse{StreamID: r.StreamID}
	}
	return wire.AppendEventsResponse{FirstOffset: r.FirstOffset, Count: s.count}
}

// budget bounds the memory of requests in flight (see Options.MaxInFlightBytes), per
// connection and server-wide, under one lock so a release anywhere can admit a waiter anywhere.
type budget struct {
	mu      sync.Mutex
	cond    sync.Cond
	used    int // across all connections
	max     int
	perConn int
}

func (b *budget) init(perConn, max int) {
	b.perConn, b.max = perConn, max
	b.cond.L = &b.mu
}

// acquire waits until n more bytes fit both c's budget and the server's; a connection with
// nothing in flight is always let through, so no client is starved by others' answers.
func (b *budget) acquire(c *conn, n int) {
	b.mu.Lock()
	for c.inFlight > 0 && (c.inFlight+n > b.perConn || b.used+n > b.max) {
		b.cond.Wait()
	}
	c.inFlight += n
	b.used += n
	b.mu.Unlock()
}

func (b *budget) release(c *conn, n int) {
	b.mu.Lock()
	c.inFlight -= n
	b.used -= n
	b.cond.Broadcast()
	b.mu.Unlock()
}
