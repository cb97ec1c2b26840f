package main

/*
#include <stdlib.h>
#include "ffi.h"
*/
import "C"

import (
	"context"
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

// startAsync runs work on a new goroutine for an open client. work returns the result's error
// (nil on success); deliver invokes the C callback with it. On a panic inside work, deliver gets
// KMB_ERR_INTERNAL, unless it already ran.
func startAsync(p unsafe.Pointer, work func(c *pool.Client) *callError, deliver func(*callError)) C.kmb_status_t {
	h, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	if cerr := h.beginAsync(); cerr != nil {
		return cerr.record()
	}
	go func() {
		defer h.endAsync()
		delivered := false
		defer func() {
			if r := recover(); r != nil && !delivered {
				delivered = true
				deliver(errorf(C.KMB_ERR_INTERNAL, "internal error (recovered panic): %v", r))
			}
		}()
		res := work(c)
		delivered = true
		deliver(res)
	}()
	return C.KMB_OK
}

func errOrNil(err error) *callError {
	if err == nil {
		return nil
	}
	return classify(err)
}

// uint64Async runs an operation that yields one number.
func uint64Async(p unsafe.Pointer, cb C.kmb_uint64_callback_t, ud C.uintptr_t, op func(*pool.Client) (uint64, error)) C.kmb_status_t {
	var v uint64
	return startAsync(p, func(c *pool.Client) *callError {
		var err error
		v, err = op(c)
		return errOrNil(err)
	}, func(cerr *callError) {
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		if cerr != nil {
			v = 0
		}
		C.kmb__call_uint64_cb(p, cb, ud, st, C.uint64_t(v), msg, n, sc, rid)
	})
}

// statusAsync runs an operation with no result.
func statusAsync(p unsafe.Pointer, cb C.kmb_status_callback_t, ud C.uintptr_t, op func(*pool.Client) error) C.kmb_status_t {
	return startAsync(p, func(c *pool.Client) *callError {
		return errOrNil(op(c))
	}, func(cerr *callError) {
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_status_cb(p, cb, ud, st, msg, n, sc, rid)
	})
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
	return uint64Async(p, cb, ud, func(c *pool.Client) (uint64, error) {
		return c.CreateStream(context.Background(), s, class, wire.PlacementGlobal)
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
	return uint64Async(p, cb, ud, func(c *pool.Client) (uint64, error) {
		return c.Append(context.Background(), uint64(streamID), evs, opts)
	})
}

//export kmbgo_read_async
func kmbgo_read_async(p unsafe.Pointer, streamID, from, maxBytes C.uint64_t, cb C.kmb_events_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	var ev *C.kmb_events_t
	return startAsync(p, func(c *pool.Client) *callError {
		res, err := c.Read(context.Background(), uint64(streamID), uint64(from), readMaxBytes(maxBytes))
		if err != nil {
			return classify(err)
		}
		var cerr *callError
		ev, cerr = newEvents(res)
		return cerr
	}, func(cerr *callError) {
		if cerr != nil && ev != nil {
			C.kmb_events_free(ev)
			ev = nil
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
	return uint64Async(p, cb, ud, func(c *pool.Client) (uint64, error) {
		return c.StreamLength(context.Background(), uint64(streamID))
	})
}

//export kmbgo_sync_async
func kmbgo_sync_async(p unsafe.Pointer, cb C.kmb_status_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	return statusAsync(p, cb, ud, func(c *pool.Client) error { return c.Sync(context.Background()) })
}

//export kmbgo_ping_async
func kmbgo_ping_async(p unsafe.Pointer, cb C.kmb_status_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	return statusAsync(p, cb, ud, func(c *pool.Client) error { return c.Ping(context.Background()) })
}

//export kmbgo_server_info_async
func kmbgo_server_info_async(p unsafe.Pointer, cb C.kmb_server_info_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	var info *C.kmb_server_info_t
	return startAsync(p, func(c *pool.Client) *callError {
		si, err := c.ServerInfo(context.Background())
		if err != nil {
			return classify(err)
		}
		var cerr *callError
		info, cerr = newServerInfo(si)
		return cerr
	}, func(cerr *callError) {
		if cerr != nil && info != nil {
			C.kmb_server_info_free(info)
			info = nil
		}
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_server_info_cb(p, cb, ud, st, info, msg, n, sc, rid)
	})
}
