package main

/*
#include "ffi.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// A client's async patience (kmb_client_set_async_patience_us) lets a lone quick _async call
// wait for its answer on the calling thread, as a waiter's patience does: an event loop that
// awaits one call at a time then pays one wake-up per call instead of three (a library thread
// to send, the network poller's, its own). Only calls that change nothing qualify (read, stream
// length, ping, server info: leaving the thread makes them again), and only while no other
// _async call of the client is in flight, so that calls in flight together are never waited
// for one by one.
//
// A call that does not end within the patience leaves the thread, and the following lone
// calls skip the wait, twice as many after each further miss (up to maxInlineSkip): a distant
// or slow server turns it off by itself, at the cost of one patience every maxInlineSkip calls.

// maxAsyncPatience mirrors KMB_MAX_ASYNC_PATIENCE_US.
const maxAsyncPatience = 1000 * time.Microsecond

// maxInlineSkip bounds the lone calls skipped after consecutive misses.
const maxInlineSkip = 1024

// inlineGate is the patience of a client's lone quick calls and how they fared (under
// clientHandle.mu).
type inlineGate struct {
	patience time.Duration
	skip     int // lone quick calls left to make without waiting
	missRun  int // the skip after the next miss

	waits, misses int64 // calls that waited, and of them those that left (stats: async_waits...)
}

// patienceFor is the patience of an _async call that lone (no other _async call in flight)
// and quick (it changes nothing) describe; 0: it runs in the background.
func (g *inlineGate) patienceFor(lone, quick bool) time.Duration {
	if !lone || !quick || g.patience <= 0 {
		return 0
	}
	if g.skip > 0 {
		g.skip--
		return 0
	}
	return g.patience
}

// note records whether a call that waited on its thread ended there.
func (g *inlineGate) note(ended bool) {
	g.waits++
	if ended {
		g.missRun = 0
		return
	}
	g.misses++
	g.missRun = min(2*g.missRun+1, maxInlineSkip)
	g.skip = g.missRun
}

// asyncWaits returns how many calls waited with the client's patience, and how many of them
// left for the background.
func (h *clientHandle) asyncWaits() (waits, misses int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inline.waits, h.inline.misses
}

//export kmbgo_client_set_async_patience_us
func kmbgo_client_set_async_patience_us(p unsafe.Pointer, us C.uint32_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	d := time.Duration(us) * time.Microsecond
	if d > maxAsyncPatience {
		return fail(C.KMB_ERR_INVALID_ARGUMENT, "kmb_client_set_async_patience_us: %d µs is over the limit of %d (KMB_MAX_ASYNC_PATIENCE_US)", us, maxAsyncPatience/time.Microsecond)
	}
	h, _, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	h.mu.Lock()
	h.inline.patience = d // what the misses taught is kept: a binding may switch it call by call
	h.mu.Unlock()
	return C.KMB_OK
}
