package main

/*
#include "ffi.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// Results handed to C are single malloc blocks, so that the kmb_*_free functions are plain free()
// calls that also work after fork(). Each block starts with the public struct, followed by its
// arrays and bytes; every part is 8-byte aligned.

const word = 8

func align(n uint64) uint64 { return (n + word - 1) &^ (word - 1) }

var errNoMemory = errorf(C.KMB_ERR_NO_MEMORY, "out of memory allocating a result")

// alloc returns n bytes of C memory, or nil when malloc fails.
func alloc(n uint64) unsafe.Pointer {
	if n != uint64(C.size_t(n)) {
		return nil
	}
	return C.kmb__alloc(C.size_t(n))
}

// newEvents copies a read result into one C block: kmb_events_t, data pointers, lengths, offsets,
// then the bytes.
func newEvents(r pool.ReadResult) (*C.kmb_events_t, *callError) {
	n := uint64(len(r.Events))
	head := align(uint64(unsafe.Sizeof(C.kmb_events_t{})))
	arrays := 3 * word * n
	var payload uint64
	for _, e := range r.Events {
		payload += uint64(len(e.Data))
	}
	base := alloc(head + arrays + payload)
	if base == nil {
		return nil, errNoMemory
	}
	ev := (*C.kmb_events_t)(base)
	*ev = C.kmb_events_t{count: C.size_t(n), next_offset: C.uint64_t(r.NextOffset)}
	if r.HasMore {
		ev.has_more = 1
	}
	if n == 0 {
		return ev, nil
	}
	ptrs := unsafe.Slice((**C.uint8_t)(unsafe.Add(base, head)), n)
	lens := unsafe.Slice((*C.size_t)(unsafe.Add(base, head+word*n)), n)
	offs := unsafe.Slice((*C.uint64_t)(unsafe.Add(base, head+2*word*n)), n)
	data := unsafe.Add(base, head+arrays)
	var at uintptr
	for i, e := range r.Events {
		p := unsafe.Add(data, at)
		copy(unsafe.Slice((*byte)(p), len(e.Data)), e.Data)
		ptrs[i] = (*C.uint8_t)(p)
		lens[i] = C.size_t(len(e.Data))
		offs[i] = C.uint64_t(e.Offset)
		at += uintptr(len(e.Data))
	}
	ev.data = (**C.uint8_t)(unsafe.Pointer(&ptrs[0]))
	ev.lengths = &lens[0]
	ev.offsets = &offs[0]
	return ev, nil
}

// newServerInfo copies a ServerInfo answer into one C block: the struct, the capability pointers,
// then the NUL-terminated strings.
func newServerInfo(si wire.ServerInfoResponse) (*C.kmb_server_info_t, *callError) {
	n := uint64(len(si.Capabilities))
	head := align(uint64(unsafe.Sizeof(C.kmb_server_info_t{})))
	strBytes := uint64(len(si.BuildVersion)) + 1
	for _, c := range si.Capabilities {
		strBytes += uint64(len(c)) + 1
	}
	base := alloc(head + word*n + strBytes)
	if base == nil {
		return nil, errNoMemory
	}
	info := (*C.kmb_server_info_t)(base)
	strs := unsafe.Add(base, head+word*n)
	var at uintptr
	put := func(s string) *C.char {
		p := unsafe.Add(strs, at)
		b := unsafe.Slice((*byte)(p), len(s)+1)
		copy(b, s)
		b[len(s)] = 0
		at += uintptr(len(s) + 1)
		return (*C.char)(p)
	}
	*info = C.kmb_server_info_t{
		build_version:    put(si.BuildVersion),
		protocol_version: C.uint32_t(si.ProtocolVersion),
		capability_count: C.size_t(n),
		uptime_secs:      C.uint64_t(si.UptimeSecs),
		cluster_mode:     C.int32_t(si.ClusterMode),
		tenant_count:     C.uint32_t(si.TenantCount),
	}
	if n > 0 {
		caps := unsafe.Slice((**C.char)(unsafe.Add(base, head)), n)
		for i, c := range si.Capabilities {
			caps[i] = put(c)
		}
		info.capabilities = (**C.char)(unsafe.Pointer(&caps[0]))
	}
	return info, nil
}

// newStatsJSON renders a stats snapshot as a NUL-terminated C string.
// clientStats is what kmb_client_stats_json reports: the pool's counters, and the library's own.
type clientStats struct {
	pool.Stats
	AsyncWaits      int64 `json:"async_waits"`       // calls that waited with the async patience
	AsyncWaitMisses int64 `json:"async_wait_misses"` // of them, those that left for the background
	LoopCalls       int64 `json:"loop_calls"`        // quick calls made through the event loop (kmb_client_loop_fd)
	LoopSettled     int64 `json:"loop_settled"`      // of them, those answered in kmb_client_loop_ready
	LoopIdleSpins   int64 `json:"loop_idle_spins"`   // kmb_client_loop_idle calls that spun
}

func newStatsJSON(s clientStats) (*C.char, *callError) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, errorf(C.KMB_ERR_INTERNAL, "encoding stats: %v", err)
	}
	p := alloc(uint64(len(b)) + 1)
	if p == nil {
		return nil, errNoMemory
	}
	dst := unsafe.Slice((*byte)(p), len(b)+1)
	copy(dst, b)
	dst[len(b)] = 0
	return (*C.char)(p), nil
}
