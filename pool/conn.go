package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// conn is one TCP connection carrying many requests at once. Requests are matched to responses
// by id (ids count from 1 per connection; the handshake is 1). A request on an idle connection
// is written by its caller; under load, frames queue up and a writer goroutine sends all of
// them in one write (writev), so many small requests cost one syscall. A call alone on the
// connection reads its own answer; otherwise a reader goroutine hands each response to its
// waiter (readside.go). A broken connection fails every call in flight on it with a
// connection error and leaves its node's pool.
type conn struct {
	node    *node
	nc      net.Conn
	created time.Time
	expires time.Time // zero: no lifetime limit

	inFlight atomic.Int32 // calls holding this conn (acquired, not yet released)
	lastUsed atomic.Int64 // unix nanoseconds of the last release
	draining atomic.Bool  // take no new calls; close once idle

	// idempotentAppend: the server announced idempotent-append in the handshake, so a re-sent
	// append with the same idempotency key is applied at most once.
	idempotentAppend bool

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*call
	err     error    // set once the conn is broken; every later send fails with it
	partial []byte   // the unwritten rest of a frame cut short; the next writer sends it first
	wq      [][]byte // frames and large bodies waiting for the writer, in order
	cur     []byte   // small frames being coalesced into one buffer
	wsig    chan struct{}

	wmu   sync.Mutex // held while writing to the socket, so frames never interleave
	whead [wire.HeaderSize + maxIDPrefix]byte
	wvec  [2][]byte
	wbufs net.Buffers

	closed chan struct{} // closed by fail: stops the writer

	subs subRouter // subscriptions open on this connection (subscribe_router.go)

	// The read side (readside.go): reading is set, under mu, while someone holds it; bgOwns
	// while that is the reader goroutine. The rest belongs to the holder.
	reading      bool
	soloWanted   bool      // under mu: calls that read their own answers came; free the read side when idle
	watching     bool      // under mu: the reader goroutine waits in the network poller on a free read side
	soloSeen     bool      // under mu: a solo read began since the reader goroutine last looked
	loopHold     *loopCall // under mu: the loop call holding the read side, until handed off (loop.go)
	bgOwns       atomic.Bool
	handoffs     atomic.Int64 // answers handed to a waiting caller rather than read by it
	fr           frameReader
	rc           syscall.RawConn // nil: no solo reads
	wake         chan struct{}   // hands the read side to the reader goroutine
	netFill      func([]byte) (int, error)
	soloFill     func([]byte) (int, error)
	soloIOFn     func(uintptr)
	watchFn      func(uintptr) bool
	soloDeadline time.Time
	soloDetach   *Detach   // the solo reader's, when its call may leave its thread (detach.go)
	waits        soloWaits // how long this thread-side solo reader waits, whether to spin (spin.go)
	goFill       func([]byte) (int, error)
	interruptFn  func()        // ends a goroutine solo reader's wait when its context ends
	interrupted  chan struct{} // interruptFn has set the read deadline
	ioBuf        []byte
	ioN          int
	ioErr        error
}

// call is one request waiting for its response.
type call struct{ ch chan result }

type result struct {
	payload wire.ResponsePayload
	err     error
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan result, 1)} }}

// bodyInline is the size under which a body is copied into the shared write buffer; larger
// bodies are written from where they are (writev), without a copy.
const bodyInline = 16 << 10

// dialConn opens a connection to n, runs the handshake with the auth token and starts its
// goroutines. ctx bounds the dial and the handshake.
func dialConn(ctx context.Context, n *node) (*conn, error) {
	cfg := &n.client.cfg
	d := net.Dialer{KeepAlive: cfg.KeepAlive}
	nc, err := d.DialContext(ctx, "tcp", n.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if nc, err = clientTLS(ctx, nc, n.addr, cfg); err != nil {
		return nil, err
	}
	caps, err := handshake(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		if te := tlsFailure(err); te != nil {
			te.Node = n.addr
			return nil, te
		}
		return nil, err
	}
	c := &conn{
		idempotentAppend: slices.Contains(caps, CapabilityIdempotentAppend),
		node:             n,
		nc:               nc,
		created:          time.Now(),
		nextID:           2,
		pending:          make(map[uint64]*call),
		wsig:             make(chan struct{}, 1),
		closed:           make(chan struct{}),
	}
	if cfg.MaxConnLifetime > 0 {
		life := cfg.MaxConnLifetime
		if cfg.MaxConnLifetimeJitter > 0 {
			life += time.Duration(randInt63n(int64(cfg.MaxConnLifetimeJitter)))
		}
		c.expires = c.created.Add(life)
	}
	c.lastUsed.Store(c.created.UnixNano())
	c.setupReadSide()
	n.client.bg.Add(2) // called from a dial goroutine, which holds bg above zero
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// handshakeError is a handshake the server refused (bad token, wrong version): a server error,
// not a transport failure, so it is not worth redialing for.
type handshakeError struct{ resp wire.ErrorResponse }

func (e *handshakeError) Error() string {
	return fmt.Sprintf("handshake refused: %s: %s", e.resp.Code, e.resp.Message)
}

// CapabilityIdempotentAppend is the handshake capability of a server that applies an append
// carrying an idempotency key at most once (see Client.Append).
const CapabilityIdempotentAppend = "idempotent-append"

// handshake runs the v5 handshake on nc and returns the capabilities the server announced.
func handshake(ctx context.Context, nc net.Conn, cfg *Config) ([]string, error) {
	deadline := time.Now().Add(cfg.ConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = nc.SetDeadline(deadline)
	// A context cancelled mid-handshake (client closing) must not wait for the deadline.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := wire.HandshakeRequest{ClientVersion: wire.Version}
	if cfg.AuthToken != "" {
		tok := cfg.AuthToken
		req.AuthToken = &tok
	}
	frame, err := wire.AppendFrame(nil, &wire.Request{ID: 1, TenantID: cfg.TenantID, Payload: req})
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(frame); err != nil {
		return nil, err
	}
	payload, err := wire.ReadFrame(nc, nil)
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("handshake: server closed the connection: %w", err)
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	m, err := wire.DecodeMessage(payload)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	resp, ok := m.(*wire.Response)
	if !ok || resp.RequestID != 1 {
		return nil, fmt.Errorf("handshake: unexpected reply %T", m)
	}
	switch p := resp.Payload.(type) {
	case wire.HandshakeResponse:
		if p.ServerVersion != wire.Version {
			return nil, fmt.Errorf("handshake: server speaks protocol %d, want %d", p.ServerVersion, wire.Version)
		}
		return p.Capabilities, nc.SetDeadline(time.Time{})
	case wire.ErrorResponse:
		return nil, &handshakeError{resp: p}
	default:
		return nil, fmt.Errorf("handshake: unexpected reply %T", p)
	}
}

// roundTrip sends body and waits for its response or for ctx. sent reports whether the request
// was queued for the wire (so the server may have seen it). The caller holds an in-flight slot.
func (c *conn) roundTrip(ctx context.Context, body []byte) (p wire.ResponsePayload, id uint64, sent bool, err error) {
	cl := callPool.Get().(*call)
	pushes := c.subs.active() // the reader goroutine keeps watching such a connection
	c.mu.Lock()
	if c.err != nil {
		err = c.err
		c.mu.Unlock()
		callPool.Put(cl)
		return nil, 0, false, err
	}
	id = c.nextID
	c.nextID++
	c.pending[id] = cl
	// Alone on a free read side, a call reads its own answer (readside.go): from a foreign thread
	// always, from a goroutine unless the reader goroutine is waiting in the network poller or
	// must watch for pushes; otherwise it hands the read side to the reader goroutine.
	solo, fromC := false, onForeignThread(ctx)
	// A loop call holding the read side lets go of it: its answer, and this one, are read by
	// the reader goroutine now, without waiting for the event loop.
	var stolen *loopCall
	if lh := c.loopHold; lh != nil && !lh.draining {
		stolen = lh
		c.releaseLoopLocked()
	}
	if c.reading && c.rc != nil && (fromC || !pushes) {
		c.soloWanted = true // the reader goroutine lets go of the read side when idle
	} else if !c.reading {
		c.reading = true
		if solo = c.rc != nil && (fromC || !c.watching && !pushes); solo {
			c.soloSeen = true
		} else {
			c.bgOwns.Store(true)
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
	}
	// Fast path: with nothing queued and no write going on, write from this goroutine (one
	// writev, no hand-off). Otherwise queue the frame for the writer goroutine, which sends
	// everything queued in one write: many small requests, one syscall.
	if len(c.cur) == 0 && len(c.wq) == 0 && c.partial == nil && c.wmu.TryLock() {
		c.mu.Unlock()
		written, err := c.writeNow(ctx, id, body)
		c.wmu.Unlock()
		switch {
		case err == nil:
		case written == 0 && errors.Is(err, errCallDeadline):
			// The call's own deadline passed before a byte left: nothing was sent, the
			// connection is as good as before, and only this call times out.
			// ctx may not have noticed yet: the socket's deadline is the same instant.
			c.forget(id)
			if solo {
				c.leaveReadSide()
			}
			if stolen != nil {
				stolen.handOff()
			}
			callPool.Put(cl)
			return nil, id, false, context.DeadlineExceeded
		default:
			c.fail(connErr("write", err))
		}
	} else {
		c.cur = appendFrameHead(c.cur, id, body)
		if len(body) <= bodyInline {
			c.cur = append(c.cur, body...)
		} else {
			c.wq = append(c.wq, c.cur, body)
			c.cur = nil
		}
		c.mu.Unlock()
		select {
		case c.wsig <- struct{}{}:
		default:
		}
	}

	if stolen != nil {
		stolen.handOff()
	}
	if solo {
		p, err = c.readSolo(ctx, id, cl, fromC)
		callPool.Put(cl)
		return p, id, true, err
	}
	p, err = c.awaitAnswer(ctx, id, cl)
	callPool.Put(cl)
	return p, id, true, err
}

// awaitAnswer waits for the answer to request id, which someone else reads, or for ctx.
func (c *conn) awaitAnswer(ctx context.Context, id uint64, cl *call) (wire.ResponsePayload, error) {
	select {
	case r := <-cl.ch:
		return r.payload, r.err
	case <-ctx.Done():
		c.mu.Lock()
		_, waiting := c.pending[id]
		if waiting {
			delete(c.pending, id)
		}
		c.mu.Unlock()
		if !waiting { // the answer is being delivered: take it
			r := <-cl.ch
			return r.payload, r.err
		}
		return nil, ctx.Err()
	}
}

// writeNow writes one frame directly; the caller holds wmu. It blocks no longer than the call's
// deadline. A frame cut short by that deadline is not a broken connection: the unwritten rest
// goes to the front of the writer's queue, which finishes it under the connection's own stall
// limit, so one impatient call never fails the others in flight. written is what left here.
func (c *conn) writeNow(ctx context.Context, id uint64, body []byte) (written int64, err error) {
	h := appendFrameHead(c.whead[:0], id, body)
	stall := time.Now().Add(c.node.client.cfg.RequestTimeout)
	deadline := stall
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetWriteDeadline(deadline)
	// The header and the buffers live in the conn (wmu guards them): no allocation per write.
	c.wvec = [2][]byte{h, body}
	c.wbufs = c.wvec[:]
	defer func() { c.wvec, c.wbufs = [2][]byte{}, nil }()
	written, err = c.wbufs.WriteTo(c.nc)
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || deadline.Equal(stall) {
		return written, err
	}
	if written == 0 {
		return 0, errCallDeadline
	}
	var rest []byte
	for _, b := range c.wbufs {
		rest = append(rest, b...)
	}
	c.mu.Lock()
	c.partial = rest // before wmu is released, so no other frame can go out ahead of it
	c.mu.Unlock()
	select {
	case c.wsig <- struct{}{}:
	default:
	}
	return written, nil
}

// errCallDeadline: a direct write reached its call's deadline before a byte left.
var errCallDeadline = errors.New("call deadline passed before the request was written")

// forget drops the waiter of a request that was never sent.
func (c *conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// writeStalled writes bufs, failing only when for a whole RequestTimeout no byte left and none
// came from the node: a server that reads slowly under load, still answering, is busy, not
// gone. WriteTo consumes what it wrote from bufs.
func (c *conn) writeStalled(bufs *net.Buffers) error {
	limit := c.node.client.cfg.RequestTimeout
	for {
		started := nowNano()
		_ = c.nc.SetWriteDeadline(time.Now().Add(limit))
		n, err := bufs.WriteTo(c.nc)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if n == 0 && c.node.lastHeard.Load() < started {
			return err
		}
	}
}

// recoverLoop ends a connection goroutine that panicked: the connection fails with the panic,
// so its calls get a KindInternal error instead of waiting for their deadline.
func (c *conn) recoverLoop(where string) {
	if r := recover(); r != nil {
		e := panicError(where, r)
		c.node.client.notePanic(e)
		c.fail(e)
	}
}

func (c *conn) writeLoop() {
	defer c.node.client.bg.Done()
	defer c.recoverLoop("connection writer")
	var spare []byte
	var bufs net.Buffers
	for {
		select {
		case <-c.wsig:
		case <-c.closed:
			return
		}
		c.mu.Lock()
		bufs = append(bufs[:0], c.wq...)
		c.wq = c.wq[:0]
		var taken []byte
		if len(c.cur) > 0 {
			taken = c.cur
			bufs = append(bufs, taken)
			c.cur = spare[:0]
		}
		c.mu.Unlock()
		c.wmu.Lock()
		// A frame cut short by a direct write goes before what was taken above.
		c.mu.Lock()
		if c.partial != nil {
			bufs = slices.Insert(bufs, 0, c.partial)
			c.partial = nil
		}
		c.mu.Unlock()
		if len(bufs) == 0 {
			c.wmu.Unlock()
			continue
		}
		toWrite := bufs
		err := c.writeStalled(&toWrite)
		c.wmu.Unlock()
		clear(bufs)
		if err != nil {
			c.fail(connErr("write", err))
			return
		}
		if taken != nil && cap(taken) <= 1<<20 { // reuse a moderate buffer, drop huge ones
			spare = taken[:0]
		} else if taken != nil {
			spare = nil
		}
	}
}

func isFrameErr(err error) bool {
	return errors.Is(err, wire.ErrBadMagic) || errors.Is(err, wire.ErrBadVersion) ||
		errors.Is(err, wire.ErrFrameTooLarge) || errors.Is(err, wire.ErrChecksum)
}

// connErr describes a socket failure during op.
func connErr(op string, err error) *Error {
	msg := op + " failed"
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "connection closed by server"
	}
	return &Error{Kind: KindConnection, Message: msg, Err: err}
}

// fail breaks the connection with err: every call in flight gets err, later sends fail at once,
// the socket is closed and the node forgets the connection. Safe to call more than once.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	lh := c.loopHold
	if lh != nil && lh.draining {
		lh = nil // Ready reads the failure itself
	}
	c.loopHold = nil
	c.wq, c.cur, c.partial = nil, nil, nil
	c.mu.Unlock()
	close(c.closed)
	if tc, ok := c.nc.(*net.TCPConn); ok && c.rc != nil {
		_ = tc.CloseRead() // wakes a solo reader's poll(2) at once
	}
	_ = c.nc.Close()
	for _, cl := range pending {
		cl.ch <- result{err: err}
	}
	if lh != nil {
		lh.handOff()
	}
	c.node.removeConn(c)
}

// poolClosedMessage is the error of a connection the pool closed on purpose (idle, expired,
// drained), which says nothing about the node's health.
const poolClosedMessage = "connection closed by the pool"

// broken reports whether the connection has failed.
func (c *conn) broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

// closeIdle closes a connection that has nothing in flight.
func (c *conn) closeIdle() {
	c.fail(&Error{Kind: KindConnection, Message: poolClosedMessage})
}
