package main

/*
#include <stdlib.h>
#include "ffi.h"
*/
import "C"

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// An _async call checks its arguments and copies its inputs on the caller's thread, registers
// itself with the client handle (so kmb_client_close waits for it) and runs on its own goroutine.
// Concurrency is bounded by KMB_MAX_PENDING_ASYNC per client; requests on the wire are bounded by
// the pool (connections x in-flight per connection), and waiting goroutines cost a few KiB each.
//
// The callback is invoked exactly once: deliver runs on every path of the goroutine, including a
// panic in the core, and is guarded by a flag so a panic after it ran cannot invoke it again.

// errorParts unpacks a possibly nil callError for a trampoline. The message is copied to C
// memory (the caller frees it after the trampoline): a callback runs on a library thread that
// switches between Go stacks, and C reading Go memory there is what memory checkers flag.
func errorParts(cerr *callError) (C.kmb_status_t, *C.char, C.size_t, C.int32_t, C.uint64_t) {
	if cerr == nil {
		return C.KMB_OK, nil, 0, -1, 0
	}
	msg := (*C.char)(C.CBytes([]byte(cerr.message)))
	return cerr.status, msg, C.size_t(len(cerr.message)), C.int32_t(cerr.serverCode), C.uint64_t(cerr.requestID)
}

// startAsync runs work for an open client on a new goroutine, and deliver then invokes the C
// callback with work's error (nil on success). On a panic inside work, deliver gets an internal
// error, unless it already ran.
//
// With patience (a waiter's callback, kmb_waiter_set_patience; or the client's async patience
// for a lone quick call, patience.go), work runs first on the calling thread: a call that ends
// within the patience is delivered before the _async function returns, at the cost of one
// wake-up instead of the hand-offs between threads. One that does not leaves the thread
// (pool.Detach) and goes on on a goroutine from where it left. quick: the call changes nothing.
//
// viaLoop, for a quick call, starts it through the client's event loop (loop.go), when the
// client has one and no patience applies; nil: the call is not quick.
func startAsync(p unsafe.Pointer, patience time.Duration, viaLoop loopStart, work func(ctx context.Context, c *pool.Client) error, deliver func(error)) C.kmb_status_t {
	quick := viaLoop != nil
	h, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	// A waiter's patience comes first; only without one does the client's gate decide (and
	// count a skip).
	own, loop, cerr := h.beginAsync(quick && patience == 0)
	if cerr != nil {
		return cerr.record()
	}
	if own == 0 && patience == 0 && quick && loop != nil && viaLoop(loop, func(err error) {
		defer h.endAsync()
		runGuarded(func() error { return err }, deliver, nil)
	}) {
		return C.KMB_OK
	}
	clientPatience := own > 0
	if clientPatience {
		patience = own
	}
	if patience > 0 {
		d := pool.NewDetach(context.Background(), patience)
		ended := runGuarded(func() error { return work(d.Context(), c) }, deliver, d.Left)
		if clientPatience {
			h.noteInline(ended)
		}
		if ended {
			h.endAsync()
			return C.KMB_OK
		}
		// The first run left its thread: its error is not the call's outcome.
		go func() {
			defer h.endAsync()
			ctx, cancel := d.Resume()
			defer cancel()
			runGuarded(func() error { return work(ctx, c) }, deliver, nil)
		}()
		return C.KMB_OK
	}
	go func() {
		defer h.endAsync()
		runGuarded(func() error { return work(context.Background(), c) }, deliver, nil)
	}()
	return C.KMB_OK
}

// runGuarded runs work and delivers its outcome exactly once, a panic (in work or in deliver)
// included, unless left says that work's error means the call is not done yet: done is false
// then, and nothing was delivered.
func runGuarded(work func() error, deliver func(error), left func(error) bool) (done bool) {
	defer func() {
		if r := recover(); r != nil && !done {
			done = true
			deliver(fmt.Errorf("recovered panic: %v", r))
		}
	}()
	err := work()
	if left != nil && left(err) {
		return false
	}
	done = true // before deliver: a panic in it must not lead to a second delivery
	deliver(err)
	return true
}

func errOrNil(err error) *callError {
	if err == nil {
		return nil
	}
	return classify(err)
}

// uint64Async runs an operation that yields one number.
// viaLoop is the operation through the client's event loop, nil when it is not quick.
func uint64Async(p unsafe.Pointer, cb C.kmb_uint64_callback_t, ud C.uintptr_t, viaLoop func(*pool.Loop, func(uint64, error)) bool, op func(context.Context, *pool.Client) (uint64, error)) C.kmb_status_t {
	var v uint64
	var start loopStart
	if viaLoop != nil {
		start = func(l *pool.Loop, done func(error)) bool {
			return viaLoop(l, func(n uint64, err error) {
				v = n
				done(err)
			})
		}
	}
	return startAsync(p, waiterPatience(unsafe.Pointer(cb), ud), start, func(ctx context.Context, c *pool.Client) error {
		var err error
		v, err = op(ctx, c)
		return err
	}, func(err error) {
		cerr := errOrNil(err)
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		if cerr != nil {
			v = 0
		}
		C.kmb__call_uint64_cb(p, cb, ud, st, C.uint64_t(v), msg, n, sc, rid)
	})
}

// statusAsync runs an operation with no result.
// viaLoop is the operation through the client's event loop, nil when it is not quick.
func statusAsync(p unsafe.Pointer, cb C.kmb_status_callback_t, ud C.uintptr_t, viaLoop loopStart, op func(context.Context, *pool.Client) error) C.kmb_status_t {
	return startAsync(p, waiterPatience(unsafe.Pointer(cb), ud), viaLoop, op, func(err error) {
		st, msg, n, sc, rid := errorParts(errOrNil(err))
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_status_cb(p, cb, ud, st, msg, n, sc, rid)
	})
}

// waiterCallbacks are the waiter's own callbacks: only with one of them is user_data a waiter.
var waiterCallbacks = [...]unsafe.Pointer{
	unsafe.Pointer(C.kmb_waiter_status_callback), unsafe.Pointer(C.kmb_waiter_uint64_callback),
	unsafe.Pointer(C.kmb_waiter_events_callback), unsafe.Pointer(C.kmb_waiter_server_info_callback),
}

// waiterPatience is how long an _async call may run on the calling thread: the patience of the
// waiter when cb is a waiter's callback and ud a waiter, else 0 (without a call into C, so
// other callers, Node's among them, pay nothing for it).
func waiterPatience(cb unsafe.Pointer, ud C.uintptr_t) time.Duration {
	for _, w := range waiterCallbacks {
		if cb == w {
			return time.Duration(C.kmb__waiter_patience(ud)) * time.Millisecond
		}
	}
	return 0
}

func nullCallback() C.kmb_status_t {
	return fail(C.KMB_ERR_NULL_ARGUMENT, "callback is NULL")
}

//export kmbgo_create_stream_async
func kmbgo_create_stream_async(p unsafe.Pointer, name *C.char, dc C.int32_t, cb C.kmb_uint64_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	s, cerr := goString(name, "name")
	if cerr != nil {
		return cerr.record()
	}
	class, cerr := dataClass(dc)
	if cerr != nil {
		return cerr.record()
	}
	return uint64Async(p, cb, ud, nil, func(ctx context.Context, c *pool.Client) (uint64, error) {
		return c.CreateStream(ctx, s, class, wire.PlacementGlobal)
	})
}

//export kmbgo_append_async
func kmbgo_append_async(p unsafe.Pointer, streamID C.uint64_t, events **C.uint8_t, lengths *C.size_t, count C.size_t, expected *C.uint64_t, cb C.kmb_uint64_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	evs, cerr := copyEvents(events, lengths, count)
	if cerr != nil {
		return cerr.record()
	}
	opts := expectedOffset(expected)
	return uint64Async(p, cb, ud, nil, func(ctx context.Context, c *pool.Client) (uint64, error) {
		return c.Append(ctx, uint64(streamID), evs, opts)
	})
}

//export kmbgo_read_async
func kmbgo_read_async(p unsafe.Pointer, streamID, from, maxBytes C.uint64_t, cb C.kmb_events_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	var res pool.ReadResult
	viaLoop := func(l *pool.Loop, done func(error)) bool {
		return l.Read(uint64(streamID), uint64(from), readMaxBytes(maxBytes), func(r pool.ReadResult, err error) {
			res = r
			done(err)
		})
	}
	return startAsync(p, waiterPatience(unsafe.Pointer(cb), ud), viaLoop, func(ctx context.Context, c *pool.Client) error {
		var err error
		res, err = c.Read(ctx, uint64(streamID), uint64(from), readMaxBytes(maxBytes))
		return err
	}, func(err error) {
		var ev *C.kmb_events_t
		cerr := errOrNil(err)
		if cerr == nil {
			ev, cerr = newEvents(res)
		}
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_events_cb(p, cb, ud, st, ev, msg, n, sc, rid)
	})
}

//export kmbgo_stream_length_async
func kmbgo_stream_length_async(p unsafe.Pointer, streamID C.uint64_t, cb C.kmb_uint64_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	viaLoop := func(l *pool.Loop, done func(uint64, error)) bool { return l.StreamLength(uint64(streamID), done) }
	return uint64Async(p, cb, ud, viaLoop, func(ctx context.Context, c *pool.Client) (uint64, error) {
		return c.StreamLength(ctx, uint64(streamID))
	})
}

//export kmbgo_sync_async
func kmbgo_sync_async(p unsafe.Pointer, cb C.kmb_status_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	return statusAsync(p, cb, ud, nil, func(ctx context.Context, c *pool.Client) error { return c.Sync(ctx) })
}

//export kmbgo_ping_async
func kmbgo_ping_async(p unsafe.Pointer, cb C.kmb_status_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	viaLoop := func(l *pool.Loop, done func(error)) bool { return l.Ping(done) }
	return statusAsync(p, cb, ud, viaLoop, func(ctx context.Context, c *pool.Client) error { return c.Ping(ctx) })
}

//export kmbgo_server_info_async
func kmbgo_server_info_async(p unsafe.Pointer, cb C.kmb_server_info_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	var si pool.ServerInfo
	viaLoop := func(l *pool.Loop, done func(error)) bool {
		return l.ServerInfo(func(i pool.ServerInfo, err error) {
			si = i
			done(err)
		})
	}
	return startAsync(p, waiterPatience(unsafe.Pointer(cb), ud), viaLoop, func(ctx context.Context, c *pool.Client) error {
		var err error
		si, err = c.ServerInfo(ctx)
		return err
	}, func(err error) {
		var info *C.kmb_server_info_t
		cerr := errOrNil(err)
		if cerr == nil {
			info, cerr = newServerInfo(si)
		}
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_server_info_cb(p, cb, ud, st, info, msg, n, sc, rid)
	})
}
