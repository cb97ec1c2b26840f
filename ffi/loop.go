package main

/*
#include "ffi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
)

// A client's event loop (kmb_client_loop_fd, pool.Loop) lets an event loop that watches a
// descriptor (libuv's uv_poll, asyncio's add_reader) make its quick _async calls without any
// library thread: the request leaves from the calling thread, and kmb_client_loop_ready, run by
// the loop when the descriptor is readable, reads the answer and runs the callback there. The
// loop's thread is never held: nothing waits for an answer. Calls go through the loop only once
// kmb_client_loop_ready has run: a caller that could not start watching the descriptor has
// lost nothing.

//export kmbgo_client_loop_fd
func kmbgo_client_loop_fd(p unsafe.Pointer, fd *C.int) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if fd == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_client_loop_fd: fd is NULL")
	}
	h, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fail(C.KMB_ERR_INVALID_HANDLE, "client %p was closed", p)
	}
	if h.loop == nil {
		l, err := c.NewLoop()
		if err != nil {
			return failErr(err)
		}
		h.loop = l
	}
	*fd = C.int(h.loop.FD())
	return C.KMB_OK
}

//export kmbgo_client_loop_ready
func kmbgo_client_loop_ready(p unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	h, _, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	h.mu.Lock()
	l := h.loop
	h.loopOn = l != nil
	h.mu.Unlock()
	if l == nil {
		return fail(C.KMB_ERR_INVALID_ARGUMENT, "kmb_client_loop_ready: the client has no event loop (kmb_client_loop_fd)")
	}
	l.Ready()
	return C.KMB_OK
}

// loopStart starts a quick call through the client's event loop; false: it must go the usual
// way. done runs exactly once with the call's error, after its result was stored.
type loopStart func(l *pool.Loop, done func(error)) bool

// loopOf is the client's event loop, nil when it has none.
func (h *clientHandle) loopOf() *pool.Loop {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.loop
}

// loopCounts is what kmb_client_stats_json reports of the event loop.
func (h *clientHandle) loopCounts() (started, settled, idleSpins int64) {
	if l := h.loopOf(); l != nil {
		started, settled = l.Counts()
		return started, settled, int64(l.IdleSpins())
	}
	return 0, 0, 0
}

//export kmbgo_client_loop_idle
func kmbgo_client_loop_idle(p unsafe.Pointer, fd C.int) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if fd < 0 {
		return fail(C.KMB_ERR_INVALID_ARGUMENT, "kmb_client_loop_idle: fd %d is not a descriptor", int(fd))
	}
	h, _, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	l := h.loopOf()
	if l == nil {
		return fail(C.KMB_ERR_INVALID_ARGUMENT, "kmb_client_loop_idle: the client has no event loop (kmb_client_loop_fd)")
	}
	l.Idle(int(fd))
	return C.KMB_OK
}
