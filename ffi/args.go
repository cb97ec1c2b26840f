package main

/*
#include "ffi.h"
*/
import "C"

import (
	"unicode/utf8"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
)

// The header's KMB_MAX_BATCH_EVENTS is the core's limit (one source of truth).
const _ = uint(C.KMB_MAX_BATCH_EVENTS-pool.MaxAppendEvents) + uint(pool.MaxAppendEvents-C.KMB_MAX_BATCH_EVENTS)

// maxBatchBytes mirrors KMB_MAX_BATCH_BYTES: no append larger than one frame can be sent.
const maxBatchBytes = 16 << 20

// goString copies a NUL-terminated C string and checks that it is UTF-8; param names the argument
// in the error.
func goString(p *C.char, param string) (string, *callError) {
	if p == nil {
		return "", errorf(C.KMB_ERR_NULL_ARGUMENT, "%s is NULL", param)
	}
	s := C.GoString(p)
	if !utf8.ValidString(s) {
		return "", errorf(C.KMB_ERR_INVALID_UTF8, "%s is not valid UTF-8", param)
	}
	return s, nil
}

// copyEvents copies an append batch out of C memory, once, into one Go buffer. Sizes are checked
// before anything is allocated, so an absurd count or length is refused rather than attempted.
func copyEvents(events **C.uint8_t, lengths *C.size_t, count C.size_t) ([][]byte, *callError) {
	if count == 0 {
		return nil, errorf(C.KMB_ERR_INVALID_ARGUMENT, "count is 0: an append needs at least one event")
	}
	if events == nil || lengths == nil {
		return nil, errorf(C.KMB_ERR_NULL_ARGUMENT, "events or lengths is NULL with count %d", uint64(count))
	}
	if uint64(count) > pool.MaxAppendEvents {
		return nil, errorf(C.KMB_ERR_INVALID_ARGUMENT, "count %d: at most %d events in one append (KMB_MAX_BATCH_EVENTS); split them into several appends", uint64(count), pool.MaxAppendEvents)
	}
	ptrs := unsafe.Slice(events, int(count))
	cl := unsafe.Slice(lengths, int(count))
	lens := make([]uint64, len(cl)) // read each length once: C may not change them under us
	var total uint64
	for i := range cl {
		n := uint64(cl[i])
		if ptrs[i] == nil && n > 0 {
			return nil, errorf(C.KMB_ERR_NULL_ARGUMENT, "events[%d] is NULL but lengths[%d] is %d", i, i, n)
		}
		if n > maxBatchBytes || total+n > maxBatchBytes {
			return nil, errorf(C.KMB_ERR_INVALID_ARGUMENT, "batch of %d events exceeds %d bytes (KMB_MAX_BATCH_BYTES)", uint64(count), maxBatchBytes)
		}
		lens[i] = n
		total += n
	}
	buf := make([]byte, total)
	out := make([][]byte, len(lens))
	var at uint64
	for i, n := range lens {
		ev := buf[at : at+n : at+n]
		if n > 0 {
			copy(ev, unsafe.Slice((*byte)(unsafe.Pointer(ptrs[i])), int(n)))
		}
		out[i] = ev
		at += n
	}
	return out, nil
}
