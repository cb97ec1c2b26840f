package main

/*
#include "ffi.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	pointer "github.com/mattn/go-pointer"

	"github.com/kimberlite/libkimberlite/pool"
)

// Handles given to C are go-pointer keys: one malloc'd byte each, looked up in a table and never
// dereferenced, so a foreign pointer is simply not found. A handle stays in the table after it is
// freed or closed, as a tombstone holding nothing but its state: its address is therefore never
// handed out again, and a stale handle is always recognised (KMB_ERR_INVALID_HANDLE) instead of
// aliasing a newer object.

// configHandle is the Go side of a kmb_config_t. The mutex only keeps misuse from two threads
// memory-safe; the API says a config belongs to one thread at a time.
type configHandle struct {
	mu  sync.Mutex
	cfg *pool.Config // nil once freed
}

// clientHandle is the Go side of a kmb_client_t.
type clientHandle struct {
	client         atomic.Pointer[pool.Client] // nil once closed: new calls are refused
	requestTimeout time.Duration               // bounds Close's wait for calls in flight

	mu      sync.Mutex
	closed  bool
	pending int        // _async calls whose callback has not returned yet
	idle    *sync.Cond // signalled when pending drops to 0
	inline  inlineGate // kmb_client_set_async_patience_us (patience.go)
	loop    *pool.Loop // kmb_client_loop_fd (loop.go); set once
	loopOn  bool       // kmb_client_loop_ready was called: quick calls may go through loop
}

// maxPendingAsync mirrors KMB_MAX_PENDING_ASYNC.
const maxPendingAsync = 65536

func newClientHandle(c *pool.Client, requestTimeout time.Duration) *clientHandle {
	h := &clientHandle{requestTimeout: requestTimeout}
	h.idle = sync.NewCond(&h.mu)
	h.client.Store(c)
	return h
}

func saveHandle(v any) unsafe.Pointer { return pointer.Save(v) }

// lookupConfig finds a live config.
func lookupConfig(p unsafe.Pointer) (*configHandle, *callError) {
	if p == nil {
		return nil, errorf(C.KMB_ERR_INVALID_HANDLE, "config handle is NULL")
	}
	h, ok := pointer.Restore(p).(*configHandle)
	if !ok {
		return nil, errorf(C.KMB_ERR_INVALID_HANDLE, "%p is not a kmb_config_t of this library", p)
	}
	return h, nil
}

// lookupClient finds an open client.
func lookupClient(p unsafe.Pointer) (*clientHandle, *pool.Client, *callError) {
	if p == nil {
		return nil, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "client handle is NULL")
	}
	h, ok := pointer.Restore(p).(*clientHandle)
	if !ok {
		return nil, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "%p is not a kmb_client_t of this library", p)
	}
	c := h.client.Load()
	if c == nil {
		return nil, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "client %p was closed", p)
	}
	return h, c, nil
}

// beginAsync registers one pending _async call, so Close waits for its callback, and returns
// the patience it gets from the client (patience.go; quick: the call changes nothing) and the
// client's event loop, if any (loop.go).
func (h *clientHandle) beginAsync(quick bool) (time.Duration, *pool.Loop, *callError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "client was closed")
	}
	if h.pending >= maxPendingAsync {
		return 0, nil, errorf(C.KMB_ERR_BUSY, "%d async calls already pending on this client", h.pending)
	}
	h.pending++
	var loop *pool.Loop
	if h.loopOn {
		loop = h.loop
	}
	return h.inline.patienceFor(h.pending == 1, quick), loop, nil
}

// noteInline records whether a call that waited on its thread with the client's patience
// ended there.
func (h *clientHandle) noteInline(ended bool) {
	h.mu.Lock()
	h.inline.note(ended)
	h.mu.Unlock()
}

// endAsync is called after an _async call's callback returned.
func (h *clientHandle) endAsync() {
	h.mu.Lock()
	h.pending--
	if h.pending == 0 {
		h.idle.Broadcast()
	}
	h.mu.Unlock()
}

// markClosed makes the handle refuse new calls; false if it already was closed.
func (h *clientHandle) markClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.closed = true
	return true
}

// waitAsync blocks until every pending callback has returned.
func (h *clientHandle) waitAsync() {
	h.mu.Lock()
	for h.pending > 0 {
		h.idle.Wait()
	}
	h.mu.Unlock()
}
