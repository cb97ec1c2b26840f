package main

/*
#include <stdlib.h>
#include "ffi.h"
*/
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
)

// cLogHandler is a slog.Handler that formats each record as one line, "message key=value ...",
// and hands it to a C log callback. The core calls it on its delivery goroutine, one record at a
// time.
type cLogHandler struct {
	cb       C.kmb_log_callback_t
	userData C.uintptr_t
	min      slog.Level
	attrs    []slog.Attr
}

func (h *cLogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *cLogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		v := a.Value.Resolve().String()
		if v == "" || strings.ContainsAny(v, " \"=\n\t") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	msg := C.CString(b.String())
	defer C.free(unsafe.Pointer(msg))
	C.kmb__call_log_cb(h.cb, h.userData, C.int32_t(r.Level), msg)
	return nil
}

func (h *cLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

func (h *cLogHandler) WithGroup(string) slog.Handler { return h }

// eventKinds maps the core's event kinds to KMB_EVENT_* values.
var eventKinds = map[pool.EventKind]C.int32_t{
	pool.EventLeaderChanged: C.KMB_EVENT_LEADER_CHANGED, pool.EventNodeDown: C.KMB_EVENT_NODE_DOWN,
	pool.EventNodeUp: C.KMB_EVENT_NODE_UP, pool.EventConnOpened: C.KMB_EVENT_CONN_OPENED,
	pool.EventConnClosed: C.KMB_EVENT_CONN_CLOSED,
}

//export kmbgo_config_set_log_callback
func kmbgo_config_set_log_callback(p unsafe.Pointer, minLevel C.int32_t, cb C.kmb_log_callback_t, ud C.uintptr_t) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_log_callback", func(c *pool.Config) *callError {
		if cb == nil {
			c.Logger = nil
			return nil
		}
		c.Logger = slog.New(&cLogHandler{cb: cb, userData: ud, min: slog.Level(minLevel)})
		return nil
	})
}

//export kmbgo_config_set_event_callback
func kmbgo_config_set_event_callback(p unsafe.Pointer, cb C.kmb_event_callback_t, ud C.uintptr_t) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_event_callback", func(c *pool.Config) *callError {
		if cb == nil {
			c.OnEvent = nil
			return nil
		}
		c.OnEvent = func(ev pool.ClusterEvent) {
			kind, ok := eventKinds[ev.Kind]
			if !ok {
				return
			}
			node, prev, reason := C.CString(ev.Node), C.CString(ev.Previous), C.CString(ev.Reason)
			defer C.free(unsafe.Pointer(node))
			defer C.free(unsafe.Pointer(prev))
			defer C.free(unsafe.Pointer(reason))
			C.kmb__call_event_cb(cb, ud, kind, node, prev, C.uint64_t(ev.View), reason)
		}
		return nil
	})
}

//export kmbgo_client_metrics_text
func kmbgo_client_metrics_text(p unsafe.Pointer, out **C.char) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_client_metrics_text: text_out is NULL")
	}
	*out = nil
	_, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	text, err := c.MetricsText()
	if err != nil {
		return fail(C.KMB_ERR_INTERNAL, "kmb_client_metrics_text: %v", err)
	}
	s, cerr := newCString(text)
	if cerr != nil {
		return cerr.record()
	}
	*out = s
	return C.KMB_OK
}

// newCString copies s into library-allocated C memory, freed with kmb_string_free.
func newCString(s string) (*C.char, *callError) {
	p := alloc(uint64(len(s)) + 1)
	if p == nil {
		return nil, errNoMemory
	}
	dst := unsafe.Slice((*byte)(p), len(s)+1)
	copy(dst, s)
	dst[len(s)] = 0
	return (*C.char)(p), nil
}
