package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kimberlite/libkimberlite/wire"
)

// A Loop lets an event loop (libuv, asyncio) drive the client's quick calls itself, so that a
// call costs what a hand-written socket client on that loop pays: one wake-up of the loop's
// thread when the answer arrives. A call started through the Loop sends its request from the
// calling thread and returns at once; its connection's socket is watched by the Loop's epoll
// descriptor (FD), which the event loop watches in turn, and Ready, run by the loop when FD is
// readable, reads the answer on the loop's thread and runs the call's done function there.
// Nothing blocks: the loop is never held for a round trip.
//
// Only calls that change nothing (read, stream length, ping, server info) go this way, and only
// on a connection with nothing in flight, whose read side is free and which carries no
// subscription; otherwise a start reports false and the caller makes the call the usual way.
// The Loop holds the connection's read side weakly (loopCall): another call on the same
// connection, a failure, the call's deadline or Stop hands it back to the reader goroutine,
// and the call is finished on a goroutine instead. A call whose answer asks for another attempt
// (a NotLeader answer, a broken connection) goes on on a goroutine with the client's retries.
type Loop struct {
	c    *Client
	epfd int

	mu      sync.Mutex
	calls   map[uint32]*loopCall // by epoll token
	token   uint32
	stopped atomic.Bool

	evs [32]unix.EpollEvent // Ready's, on the loop's thread

	started, settled atomic.Int64 // calls the loop took, and of them those answered in Ready

	answerAvg atomic.Int64  // ns from a call's start to its answer in Ready, averaged (Idle)
	idleSpins atomic.Uint64 // Idle calls that spun (read by tests)
}

// NewLoop opens a Loop for the client's quick calls. Close it after the client.
func (c *Client) NewLoop() (*Loop, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot open an epoll descriptor", Err: err}
	}
	return &Loop{c: c, epfd: fd, calls: map[uint32]*loopCall{}}, nil
}

// FD is the descriptor the event loop watches for readability; it belongs to the Loop.
func (l *Loop) FD() int { return l.epfd }

// Counts returns how many calls went through the loop, and how many of them Ready answered
// (the others were handed to a goroutine: another call came, a retry, the deadline, Stop).
func (l *Loop) Counts() (started, settled int64) { return l.started.Load(), l.settled.Load() }

// Stop ends the loop's part: calls it holds go on on goroutines, and new calls are refused.
// The event loop may stop watching FD after it. Safe on any thread, and more than once.
func (l *Loop) Stop() {
	l.stopped.Store(true)
	l.mu.Lock()
	held := make([]*loopCall, 0, len(l.calls))
	for _, lc := range l.calls {
		held = append(held, lc)
	}
	l.mu.Unlock()
	for _, lc := range held {
		lc.letGo()
	}
}

// Close stops the Loop and closes FD; the event loop must have stopped watching it.
func (l *Loop) Close() error {
	l.Stop()
	return unix.Close(l.epfd)
}

// Ready reads the answers that have arrived and runs their calls' done functions, on the
// calling thread (the event loop's, whenever FD is readable). It never waits.
func (l *Loop) Ready() {
	if l.stopped.Load() {
		return
	}
	n, err := unix.EpollWait(l.epfd, l.evs[:], 0)
	for i := 0; err == nil && i < n; i++ {
		l.mu.Lock()
		lc := l.calls[uint32(l.evs[i].Fd)]
		l.mu.Unlock()
		if lc != nil {
			lc.drain()
		}
	}
}

// forget drops lc's token: a late event for it finds nothing.
func (l *Loop) forget(lc *loopCall) {
	l.mu.Lock()
	delete(l.calls, lc.token)
	l.mu.Unlock()
}

// loopCall is one call the Loop holds: its request is on the wire, its answer not read yet.
type loopCall struct {
	l      *Loop
	op     opKind
	body   []byte
	rt     route
	n      *node
	cn     *conn
	id     uint64
	cl     *call
	token  uint32
	start  time.Time
	ctx    context.Context // the call's, with its deadline
	cancel context.CancelFunc
	stop   func() bool // the deadline's context.AfterFunc
	st     callState
	done   func(wire.ResponsePayload, error)

	draining bool // under cn.mu: Ready is reading for it on the loop's thread
}

// start begins a call of kind op with request body through the loop. It reports false, having
// done nothing, when the call cannot go this way; otherwise done runs exactly once: in Ready,
// or on a goroutine.
func (l *Loop) start(op opKind, body []byte, rt route, done func(wire.ResponsePayload, error)) bool {
	c := l.c
	if l.stopped.Load() || c.begin() != nil {
		return false
	}
	n := c.pickNow(rt)
	var cn *conn
	if n != nil {
		cn = n.acquireIdle()
	}
	if cn == nil {
		c.end()
		return false
	}
	lc := &loopCall{l: l, op: op, body: body, rt: rt, n: n, cn: cn, start: time.Now(), done: done}
	lc.ctx, lc.cancel = c.callCtx(context.Background())
	lc.st.attempts = 1
	// Everything the call's end uses is set before the request leaves: it may end at once.
	lc.stop = context.AfterFunc(lc.ctx, lc.expire)
	l.started.Add(1)
	if !cn.sendForLoop(lc) {
		l.started.Add(-1)
		lc.stop()
		n.release(cn)
		lc.cancel()
		c.end()
		return false
	}
	c.budget.deposit()
	return true
}

// sendForLoop sends lc's request and gives lc the read side, when it is free and nothing else
// is in flight or queued, and registers the socket with the loop.
func (c *conn) sendForLoop(lc *loopCall) bool {
	if c.rc == nil || c.subs.active() {
		return false
	}
	c.mu.Lock()
	if c.err != nil || c.reading || len(c.pending) > 0 || len(c.cur) > 0 || len(c.wq) > 0 || c.partial != nil || !c.wmu.TryLock() {
		if c.reading && c.bgOwns.Load() {
			c.soloWanted = true // the reader goroutine lets go of the read side once idle
		}
		c.mu.Unlock()
		return false
	}
	lc.cl = callPool.Get().(*call)
	lc.id = c.nextID
	c.nextID++
	c.pending[lc.id] = lc.cl
	c.reading, c.soloSeen, c.loopHold = true, true, lc
	l := lc.l
	l.mu.Lock()
	l.token++
	lc.token = l.token
	l.calls[lc.token] = lc
	l.mu.Unlock()
	c.mu.Unlock()
	_, err := c.writeNow(lc.ctx, lc.id, lc.body)
	c.wmu.Unlock()
	if err != nil {
		c.fail(connErr("write", err)) // hands the call off: it retries on a goroutine
		return true
	}
	if c.armLoop(lc) != nil {
		lc.letGo()
	}
	return true
}

// armLoop (re)registers the socket with the loop's epoll descriptor, for one readiness event.
func (c *conn) armLoop(lc *loopCall) error {
	var err error
	cerr := c.rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(lc.token)}
		err = unix.EpollCtl(lc.l.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
		if errors.Is(err, unix.ENOENT) {
			err = unix.EpollCtl(lc.l.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// releaseLoopLocked gives the read side a loop call held to the reader goroutine (under mu).
// No whole frame is buffered: Ready hands out every one it reads.
func (c *conn) releaseLoopLocked() {
	c.loopHold = nil
	c.bgOwns.Store(true)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// fillNow reads what the socket holds, without waiting: errSlice when it holds nothing.
func (c *conn) fillNow(p []byte) (int, error) {
	var n int
	var err error
	cerr := c.rc.Control(func(fd uintptr) {
		// syscall.Read, as in soloIO: the race detector's happens-before edge from the peer.
		n, err = readResult(syscall.Read(int(fd), p))
	})
	switch {
	case cerr != nil:
		return 0, cerr
	case n == 0 && err == nil: // EAGAIN or EINTR: nothing now; the loop is woken again
		return 0, errSlice
	}
	return n, err
}

// drain reads, on the loop's thread, what lc's socket has: its answer finishes the call there;
// without it the call stays with the loop, unless others now wait on the connection, it is past
// its deadline or the loop stopped: then it is handed off.
func (lc *loopCall) drain() {
	c := lc.cn
	c.mu.Lock()
	if c.loopHold != lc {
		c.mu.Unlock()
		return // handed off meanwhile
	}
	lc.draining = true
	c.mu.Unlock()
	for {
		payload, err := c.fr.next(c.fillNow)
		if err == nil {
			resp, ok := c.handleFrame(payload, lc.id)
			if !ok {
				break
			}
			if resp != nil {
				c.mu.Lock()
				lc.draining, c.loopHold = false, nil
				c.mu.Unlock()
				lc.l.forget(lc)
				c.leaveReadSide()
				lc.l.settled.Add(1)
				lc.l.noteAnswer(time.Since(lc.start))
				lc.answered(resp.Payload, nil)
				return
			}
			continue
		}
		if err != errSlice {
			c.readFailed(err)
			break
		}
		c.mu.Lock()
		lc.draining = false
		if c.err != nil {
			c.mu.Unlock()
			break
		}
		switch {
		case lc.ctx.Err() != nil:
			delete(c.pending, lc.id)
			c.loopHold = nil
			c.mu.Unlock()
			lc.l.forget(lc)
			c.leaveReadSide()
			lc.answered(nil, lc.ctx.Err())
			return
		case len(c.pending) > 1 || lc.l.stopped.Load():
			c.releaseLoopLocked()
			c.mu.Unlock()
			lc.handOff()
			return
		default:
			c.mu.Unlock()
			if c.armLoop(lc) != nil { // the connection is closing: fail may have handed lc off
				lc.letGo()
			}
			return
		}
	}
	// The connection failed: fail gave the call its error.
	c.mu.Lock()
	lc.draining = false
	if c.loopHold == lc {
		c.loopHold = nil
	}
	c.mu.Unlock()
	lc.l.forget(lc)
	r := <-lc.cl.ch
	lc.answered(r.payload, r.err)
}

// letGo hands lc off, unless it was handed off or answered already, or Ready reads for it.
func (lc *loopCall) letGo() {
	c := lc.cn
	c.mu.Lock()
	mine := c.loopHold == lc && !lc.draining
	if mine {
		c.releaseLoopLocked()
	}
	c.mu.Unlock()
	if mine {
		lc.handOff()
	}
}

// handOff finishes lc on a goroutine, whose wait takes the answer from whoever reads it now.
// The caller took lc's hold on the read side away.
func (lc *loopCall) handOff() {
	lc.l.forget(lc)
	go func() {
		p, err := lc.cn.awaitAnswer(lc.ctx, lc.id, lc.cl)
		lc.answered(p, err)
	}()
}

// expire ends a call still held by the loop at its deadline (the context's AfterFunc).
func (lc *loopCall) expire() {
	c := lc.cn
	c.mu.Lock()
	if c.loopHold != lc || lc.draining { // handed off, answered, or Ready sees the deadline
		c.mu.Unlock()
		return
	}
	c.loopHold = nil
	_, waiting := c.pending[lc.id]
	delete(c.pending, lc.id)
	c.mu.Unlock()
	lc.l.forget(lc)
	if !waiting { // failed meanwhile: the error is in cl.ch
		r := <-lc.cl.ch
		lc.answered(r.payload, r.err)
		return
	}
	c.leaveReadSide()
	lc.answered(nil, lc.ctx.Err())
}

// answered takes the round trip's outcome as attempt does; a call that needs another attempt
// goes on on a goroutine, through exec.
func (lc *loopCall) answered(p wire.ResponsePayload, err error) {
	c := lc.l.c
	lc.n.release(lc.cn)
	callPool.Put(lc.cl)
	lc.cl = nil
	p, next, err := c.settleTrip(lc.n, lc.cn, p, lc.id, true, err, &lc.st)
	switch {
	case err == nil:
		lc.finish(p, nil)
	case next == nil && (lc.ctx.Err() != nil || !retryable(err)):
		lc.finish(nil, c.finish(lc.ctx, err, &lc.st))
	default:
		go func() {
			if next == nil && !c.pause(lc.ctx, &lc.st) {
				lc.finish(nil, c.finish(lc.ctx, err, &lc.st))
				return
			}
			p, err := c.exec(lc.ctx, lc.body, lc.rt, &lc.st)
			lc.finish(p, err)
		}()
	}
}

// finish records the call and runs its done function.
func (lc *loopCall) finish(p wire.ResponsePayload, err error) {
	lc.stop()
	lc.cancel()
	lc.l.c.stats.record(lc.op, time.Since(lc.start), err)
	lc.l.c.end()
	lc.done(p, err)
}

// The quick calls, through the loop. Each reports false, having done nothing, when the call
// must be made the usual way (see Loop); otherwise done runs exactly once.

// Read is Client.Read through the loop.
func (l *Loop) Read(streamID, fromOffset, maxBytes uint64, done func(ReadResult, error)) bool {
	if maxBytes == 0 || maxBytes > wire.MaxPayloadSize {
		return false // the usual call reports it
	}
	return l.start(opRead, l.c.readBody(streamID, fromOffset, maxBytes), toReader, func(p wire.ResponsePayload, err error) {
		done(readAnswer(fromOffset, p, err))
	})
}

// StreamLength is Client.StreamLength through the loop.
func (l *Loop) StreamLength(streamID uint64, done func(uint64, error)) bool {
	return l.start(opStreamLength, l.c.lengthBody(streamID), toReader, func(p wire.ResponsePayload, err error) {
		done(lengthAnswer(p, err))
	})
}

// Ping is Client.Ping through the loop.
func (l *Loop) Ping(done func(error)) bool {
	return l.start(opPing, l.c.infoBody, toAnyNode, func(p wire.ResponsePayload, err error) {
		done(pingAnswer(p, err))
	})
}

// ServerInfo is Client.ServerInfo through the loop.
func (l *Loop) ServerInfo(done func(ServerInfo, error)) bool {
	return l.start(opServerInfo, l.c.infoBody, toAnyNode, func(p wire.ResponsePayload, err error) {
		done(infoAnswer(p, err))
	})
}
