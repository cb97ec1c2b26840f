package main

/*
#include "ffi.h"
*/
import "C"

import (
	"context"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// Calls pass a context without deadline: the core applies the config's RequestTimeout to it.

//export kmbgo_client_connect
func kmbgo_client_connect(cfgp unsafe.Pointer, out *unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_client_connect: out is NULL")
	}
	*out = nil
	h, cerr := lookupConfig(cfgp)
	if cerr != nil {
		return cerr.record()
	}
	h.mu.Lock()
	if h.cfg == nil {
		h.mu.Unlock()
		return fail(C.KMB_ERR_INVALID_HANDLE, "kmb_client_connect: config %p was freed", cfgp)
	}
	cfg := h.cfg.Copy()
	h.mu.Unlock()
	c, err := pool.Connect(context.Background(), cfg)
	if err != nil {
		return failErr(err)
	}
	*out = saveHandle(newClientHandle(c, cfg.RequestTimeout))
	return C.KMB_OK
}

//export kmbgo_client_close
func kmbgo_client_close(p, inCallbackOf unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	h, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	if inCallbackOf != nil {
		if !closeWaits.enter(inCallbackOf, p) {
			return fail(C.KMB_ERR_INVALID_ARGUMENT, "kmb_client_close from a callback of client %p: a callback of client %p is closing that client, so each close would wait for the other for ever; nothing was closed, close it from another thread", inCallbackOf, p)
		}
		defer closeWaits.leave(inCallbackOf, p)
	}
	if !h.markClosed() {
		return fail(C.KMB_ERR_INVALID_HANDLE, "client %p was closed", p)
	}
	h.client.Store(nil)
	loop := h.loopOf()
	if loop != nil {
		loop.Stop() // its calls go on on goroutines: the event loop may be gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.requestTimeout)
	defer cancel()
	err := c.Close(ctx)
	h.waitAsync()
	if loop != nil {
		_ = loop.Close()
	}
	if err != nil {
		return failErr(err)
	}
	return C.KMB_OK
}

// dataClass checks a KMB_DATA_CLASS_* value.
func dataClass(v C.int32_t) (wire.DataClass, *callError) {
	if v < 0 || int(v) >= wire.DataClassCount {
		return 0, errorf(C.KMB_ERR_INVALID_ARGUMENT, "data_class (%d) must be a KMB_DATA_CLASS_* value (0..%d)", int32(v), wire.DataClassCount-1)
	}
	return wire.DataClass(v), nil
}

// readMaxBytes maps 0 to the default page size.
func readMaxBytes(v C.uint64_t) uint64 {
	if v == 0 {
		return pool.DefaultReadMaxBytes
	}
	return uint64(v)
}

// expectedOffset reads the optional expected offset.
func expectedOffset(p *C.uint64_t) pool.AppendOptions {
	if p == nil {
		return pool.AppendOptions{}
	}
	v := uint64(*p)
	return pool.AppendOptions{ExpectedOffset: &v}
}

//export kmbgo_create_stream
func kmbgo_create_stream(p unsafe.Pointer, name *C.char, dc C.int32_t, out *C.uint64_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_create_stream: stream_id_out is NULL")
	}
	s, cerr := goString(name, "name")
	if cerr != nil {
		return cerr.record()
	}
	class, cerr := dataClass(dc)
	if cerr != nil {
		return cerr.record()
	}
	id, err := c.CreateStream(threadCtx, s, class, wire.PlacementGlobal)
	if err != nil {
		return failErr(err)
	}
	*out = C.uint64_t(id)
	return C.KMB_OK
}

//export kmbgo_append
func kmbgo_append(p unsafe.Pointer, streamID C.uint64_t, events **C.uint8_t, lengths *C.size_t, count C.size_t, expected *C.uint64_t, out *C.uint64_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	evs, cerr := copyEvents(events, lengths, count)
	if cerr != nil {
		return cerr.record()
	}
	first, err := c.Append(threadCtx, uint64(streamID), evs, expectedOffset(expected))
	if err != nil {
		return failErr(err)
	}
	if out != nil {
		*out = C.uint64_t(first)
	}
	return C.KMB_OK
}

//export kmbgo_read
func kmbgo_read(p unsafe.Pointer, streamID, from, maxBytes C.uint64_t, out **C.kmb_events_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_read: out is NULL")
	}
	*out = nil
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	res, err := c.Read(threadCtx, uint64(streamID), uint64(from), readMaxBytes(maxBytes))
	if err != nil {
		return failErr(err)
	}
	ev, cerr := newEvents(res)
	if cerr != nil {
		return cerr.record()
	}
	*out = ev
	return C.KMB_OK
}

//export kmbgo_stream_length
func kmbgo_stream_length(p unsafe.Pointer, streamID C.uint64_t, out *C.uint64_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_stream_length: length_out is NULL")
	}
	n, err := c.StreamLength(threadCtx, uint64(streamID))
	if err != nil {
		return failErr(err)
	}
	*out = C.uint64_t(n)
	return C.KMB_OK
}

//export kmbgo_sync
func kmbgo_sync(p unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	if err := c.Sync(threadCtx); err != nil {
		return failErr(err)
	}
	return C.KMB_OK
}

//export kmbgo_ping
func kmbgo_ping(p unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	if err := c.Ping(threadCtx); err != nil {
		return failErr(err)
	}
	return C.KMB_OK
}

//export kmbgo_server_info
func kmbgo_server_info(p unsafe.Pointer, out **C.kmb_server_info_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_server_info: out is NULL")
	}
	*out = nil
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	si, err := c.ServerInfo(threadCtx)
	if err != nil {
		return failErr(err)
	}
	info, cerr := newServerInfo(si)
	if cerr != nil {
		return cerr.record()
	}
	*out = info
	return C.KMB_OK
}

//export kmbgo_client_stats_json
func kmbgo_client_stats_json(p unsafe.Pointer, out **C.char) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_client_stats_json: json_out is NULL")
	}
	*out = nil
	h, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	waits, misses := h.asyncWaits()
	loopCalls, loopSettled, loopSpins := h.loopCounts()
	s, cerr := newStatsJSON(clientStats{Stats: c.Stats(), AsyncWaits: waits, AsyncWaitMisses: misses,
		LoopCalls: loopCalls, LoopSettled: loopSettled, LoopIdleSpins: loopSpins})
	if cerr != nil {
		return cerr.record()
	}
	*out = s
	return C.KMB_OK
}
