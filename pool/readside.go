package pool

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kimberlite/libkimberlite/wire"
)

// The read side of a connection has one holder at a time, which owns the socket's read end and
// the frameReader:
//
//   - a call whose request is the only one in flight reads its own answer (solo read), so that
//     the round trip costs what a hand-written socket client's does: one wake-up when the answer
//     arrives, instead of two hand-offs (network poller -> reader goroutine -> the caller). The
//     second is the costly one: handing a goroutine to another wakes an idle OS thread to run
//     one of them, and a round trip then crosses CPUs.
//     A call on a thread that entered from C (see OnForeignThread) waits in poll(2) on its own
//     thread, which cannot run other goroutines anyway. A goroutine reads through the network
//     poller, as net.Conn reads do, which only one goroutine can wait in at a time: it reads
//     solo only while the reader goroutine is not waiting there.
//   - otherwise the connection's reader goroutine, which hands each answer to its waiter.
//
// A solo reader that gets its answer while others are in flight hands the read side to the
// reader goroutine; callers that arrive while it is held wait for their answer as before. With
// nothing in flight the read side is free. While solo reads follow one another the reader
// goroutine stands aside; once they stop, it watches the socket, so a connection the server
// closed leaves the pool at once and unsolicited frames are read. Connections without a raw
// socket (TLS) keep the reader goroutine as the only holder.

// soloSlice bounds one poll(2) of a solo reader, so that a cancelled context (one without a
// deadline) is noticed. A deadline wakes it on time, and a failing connection wakes it at once
// (fail shuts the read side down).
const soloSlice = 20 * time.Millisecond

// standDownFor is how long the reader goroutine leaves the socket alone after it found a solo
// reader on it, before it looks again; while callers follow one another it sleeps instead of
// waking at every answer.
const standDownFor = 2 * time.Millisecond

// errSlice: a solo reader's poll ended without data (deadline or slice).
var errSlice = errors.New("no data within the poll slice")

// setupReadSide prepares the read side of a new connection.
func (c *conn) setupReadSide() {
	c.fr = newFrameReader()
	c.netFill = c.nc.Read
	if tc, ok := c.nc.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			c.rc = rc
			c.soloFill = c.fillSolo
			c.soloIOFn = c.soloIO
			c.watchFn = c.watch
			c.wake = make(chan struct{}, 1)
			c.goFill = c.fillGoroutine
			c.interruptFn = c.interruptRead
			c.interrupted = make(chan struct{}, 1)
		}
	}
	// The reader goroutine holds the read side from the start, and keeps it until the first call
	// comes (soloWanted); always without a raw socket (TLS).
	c.reading = true
	c.bgOwns.Store(true)
}

// handleFrame decodes one frame and routes it: an answer to its waiter, or, when it answers
// own, back to the caller reading it. Every path that reads a connection goes through here.
// A false ok means the frame was bad and the connection has failed.
func (c *conn) handleFrame(payload []byte, own uint64) (r *wire.Response, ok bool) {
	c.node.lastHeard.Store(nowNano())
	m, err := wire.DecodeMessage(payload)
	if err != nil {
		c.fail(&Error{Kind: KindProtocol, Message: "undecodable message from server", Err: err})
		return nil, false
	}
	if c.subs.route(c, m) {
		return nil, true // a push, handed to its subscription
	}
	resp, isResp := m.(*wire.Response)
	if !isResp {
		return nil, true
	}
	c.mu.Lock()
	cl := c.pending[resp.RequestID]
	delete(c.pending, resp.RequestID)
	c.mu.Unlock()
	switch {
	case cl == nil:
	case own != 0 && resp.RequestID == own:
		return resp, true
	default:
		c.handoffs.Add(1)
		cl.ch <- result{payload: resp.Payload}
	}
	return nil, true
}

// readFailed fails the connection after a read error.
func (c *conn) readFailed(err error) {
	if isFrameErr(err) {
		c.fail(&Error{Kind: KindProtocol, Message: "bad frame from server", Err: err})
	} else {
		c.fail(connErr("read", err))
	}
}

// readSolo reads frames until the answer to id arrives, the context ends or the connection
// fails; the caller holds the read side and gives it up here. onThread: it waits in poll(2) on
// its own thread; otherwise in the network poller, until its context ends.
func (c *conn) readSolo(ctx context.Context, id uint64, cl *call, onThread bool) (wire.ResponsePayload, error) {
	fill := c.soloFill
	var stopInterrupt func() bool
	if onThread {
		c.soloDeadline, _ = ctx.Deadline()
		c.soloDetach = firstRun(ctx)
		if d := c.soloDetach; d != nil && d.until.Before(c.soloDeadline) {
			c.soloDeadline = d.until // its poll ends when the patience does; ctx.Err() then says so
		}
	} else {
		fill = c.goFill
		// No read deadline per call: the context's own timer ends the wait, through interruptFn.
		stopInterrupt = context.AfterFunc(ctx, c.interruptFn)
	}
	for {
		payload, err := c.fr.next(fill)
		if err == nil {
			resp, ok := c.handleFrame(payload, id)
			if !ok {
				break
			}
			if resp != nil {
				c.endWait(stopInterrupt)
				c.leaveReadSide()
				return resp.Payload, nil
			}
			continue
		}
		if err != errSlice {
			c.readFailed(err)
			break
		}
		if ctx.Err() != nil {
			c.mu.Lock()
			_, waiting := c.pending[id]
			delete(c.pending, id)
			c.mu.Unlock()
			if !waiting { // failed meanwhile: the result is in cl.ch
				break
			}
			c.endWait(stopInterrupt)
			c.leaveReadSide()
			return nil, ctx.Err()
		}
	}
	c.endWait(stopInterrupt)
	r := <-cl.ch // the connection failed; fail delivered the error
	return r.payload, r.err
}

// leaveReadSide gives up a solo reader's hold, after handing out every whole frame already
// buffered (answers to others, and pushes: the server often sends a push in the same segment
// as an answer, and the socket, which the reader goroutine watches, no longer has those
// bytes): to the reader goroutine when others wait for answers, or free.
func (c *conn) leaveReadSide() {
	for {
		c.mu.Lock()
		if c.err != nil {
			c.reading = false
			c.mu.Unlock()
			return
		}
		if !c.fr.complete() {
			if len(c.pending) == 0 {
				c.reading = false
				c.mu.Unlock()
				return
			}
			c.bgOwns.Store(true)
			c.mu.Unlock()
			select {
			case c.wake <- struct{}{}:
			default:
			}
			return
		}
		c.mu.Unlock()
		payload, err := c.fr.next(c.soloFill) // buffered: no read
		if err != nil {
			c.readFailed(err)
			return
		}
		if _, ok := c.handleFrame(payload, 0); !ok {
			return
		}
	}
}

// fillSolo reads into p from the socket on the caller's own thread, waiting in poll(2) for at
// most one slice or until the call's deadline.
func (c *conn) fillSolo(p []byte) (int, error) {
	c.ioBuf, c.ioN, c.ioErr = p, 0, nil
	if err := c.rc.Control(c.soloIOFn); err != nil {
		return 0, err
	}
	c.ioBuf = nil
	return c.ioN, c.ioErr
}

// fillGoroutine reads into p through the network poller; a wait that interruptFn ended reports
// errSlice, so that the solo reader looks at its context.
func (c *conn) fillGoroutine(p []byte) (int, error) {
	n, err := c.nc.Read(p)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, errSlice
	}
	return n, err
}

// endWait undoes what interruptFn did (stop is readSolo's context.AfterFunc, nil on a
// thread's own poll), before the read side passes to anyone else.
func (c *conn) endWait(stop func() bool) {
	if stop != nil && !stop() {
		<-c.interrupted
		_ = c.nc.SetReadDeadline(time.Time{})
	}
}

// interruptRead ends a goroutine solo reader's wait in the network poller (its context ended):
// a read deadline in the past wakes it. The reader clears the deadline again (endWait) once it
// has seen interrupted.
func (c *conn) interruptRead() {
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	c.interrupted <- struct{}{}
}

func (c *conn) soloIO(fd uintptr) {
	wait := soloSlice
	if !c.soloDeadline.IsZero() {
		if left := time.Until(c.soloDeadline); left < wait {
			wait = left
		}
	}
	if wait <= 0 {
		c.ioErr = errSlice
		return
	}
	start := time.Now()
	if c.spin(fd, start) {
		return
	}
	ts := unix.NsecToTimespec(int64(wait))
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Ppoll(fds[:], &ts, nil)
	switch {
	case err == unix.EINTR && c.soloDetach != nil:
		// A signal for this thread (Ctrl-C on Python's main thread): a call that may leave
		// its thread leaves now, so that its caller can run the signal's handler.
		c.soloDetach.Interrupt()
		c.ioErr = errSlice
		return
	case err == unix.EINTR:
		return // nothing read; the frame reader asks again
	case err != nil:
		c.ioErr = err
		return
	case n == 0:
		c.waits.add(time.Since(start))
		c.ioErr = errSlice
		return
	}
	c.waits.add(time.Since(start))
	// syscall.Read, not unix.Read: under the race detector it carries the happens-before edge
	// from the peer's write, as net.Conn reads do.
	c.ioN, c.ioErr = readResult(syscall.Read(int(fd), c.ioBuf))
}

// readLoop is the connection's reader goroutine.
func (c *conn) readLoop() {
	defer c.node.client.bg.Done()
	defer c.recoverLoop("connection reader")
	if c.rc == nil {
		for c.readShared(false) {
		}
		return
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		// A connection carrying subscriptions is always watched: a push must not wait for the
		// next call or the end of a stand-down.
		pushes := c.subs.active()
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		if !c.bgOwns.Load() && c.reading { // a solo reader holds it
			c.mu.Unlock()
			if !c.standDown(t) {
				return
			}
			continue
		}
		if !c.bgOwns.Load() && c.soloSeen && !pushes { // free, and solo reads follow one another
			c.soloSeen = false
			c.mu.Unlock()
			if !c.standDown(t) {
				return
			}
			continue
		}
		if !c.bgOwns.Load() { // free: watch the socket without taking anything
			c.watching = true
			c.mu.Unlock()
			err := c.rc.Read(c.watchFn)
			c.mu.Lock()
			c.watching = false
			c.mu.Unlock()
			if err != nil {
				c.readFailed(err)
				return
			}
			c.mu.Lock()
			if c.err == nil && !c.bgOwns.Load() {
				if c.reading { // a solo reader took it meanwhile
					c.mu.Unlock()
					if !c.standDown(t) {
						return
					}
					continue
				}
				// Bytes with nothing in flight: the server closed, or a late or unsolicited frame.
				c.reading = true
				c.bgOwns.Store(true)
			}
		}
		c.mu.Unlock()
		if !c.readShared(true) {
			return
		}
	}
}

// standDown waits until a solo reader hands over, the standDownFor pause ends or the connection
// closes (false). A wake-up left from a hand-over it already took (while it watched the socket)
// is not one.
func (c *conn) standDown(t *time.Timer) bool {
	t.Reset(standDownFor)
	defer t.Stop()
	for {
		select {
		case <-c.wake:
			if !c.bgOwns.Load() {
				continue
			}
		case <-t.C:
		case <-c.closed:
			return false
		}
		return true
	}
}

// watch is the reader goroutine's readiness check on a free read side: done when the socket
// has bytes (or EOF), or when the read side was handed to it. It takes no bytes.
func (c *conn) watch(fd uintptr) bool {
	if c.bgOwns.Load() {
		return true
	}
	var b [1]byte
	_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return !errors.Is(err, syscall.EAGAIN)
}

// bytesWaiting reports whether the socket holds bytes nobody has read yet (false without a raw
// socket). It takes nothing: any holder of the read side may run meanwhile.
func (c *conn) bytesWaiting() bool {
	if c.rc == nil {
		return false
	}
	waiting := false
	_ = c.rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		waiting = err == nil && n > 0
	})
	return waiting
}

// readShared reads frames as the reader goroutine and hands them out. With release, it gives
// the read side up once nothing is in flight, no whole frame is buffered and calls from
// foreign threads want it. It reports false once the connection has failed.
func (c *conn) readShared(release bool) bool {
	for {
		payload, err := c.fr.next(c.netFill)
		if err != nil {
			c.readFailed(err)
			return false
		}
		if _, ok := c.handleFrame(payload, 0); !ok {
			return false
		}
		if !release {
			continue
		}
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return false
		}
		if c.soloWanted && len(c.pending) == 0 && !c.fr.complete() {
			c.reading = false
			c.bgOwns.Store(false)
			c.soloSeen = true // stand aside, not watch, so that the next call can read solo
			c.mu.Unlock()
			return true
		}
		c.mu.Unlock()
	}
}

type foreignThreadKey struct{}

// OnForeignThread marks ctx for calls made on a thread that entered Go from C (through cgo, as
// every call of the C ABI does). Such a thread cannot run other goroutines while its call waits,
// and a goroutine locked to it that parks must be woken by another thread; so a call marked this
// way that is alone on its connection waits for its answer in the kernel, on its own thread, and
// is woken once, when the answer arrives. Go programs need not use it: a goroutine alone on its
// connection waits in the network poller, which costs the same one wake-up.
func OnForeignThread(ctx context.Context) context.Context {
	return context.WithValue(ctx, foreignThreadKey{}, true)
}

// onForeignThread: ctx is marked, and is not the second run of a Detach (which runs on a
// goroutine whatever its parent context says).
func onForeignThread(ctx context.Context) bool {
	return ctx.Value(foreignThreadKey{}) != nil && resumedRun(ctx) == nil
}
