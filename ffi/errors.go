package main

/*
#include "ffi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// serverStatusBase is the status of wire error code 0; code N maps to serverStatusBase+N.
const serverStatusBase = C.KMB_ERR_SERVER_UNKNOWN

// callError is a failure ready to hand to C: status, message (with the server's text), the
// server's wire code (-1 when the server did not answer with an Error) and the request id.
type callError struct {
	status     C.kmb_status_t
	message    string
	serverCode int32
	requestID  uint64
}

// errorf builds a client-side failure.
func errorf(status C.kmb_status_t, format string, args ...any) *callError {
	return &callError{status: status, message: "kimberlite: " + fmt.Sprintf(format, args...), serverCode: -1}
}

// record stores e as this thread's last error and returns its status.
func (e *callError) record() C.kmb_status_t {
	C.kmb__set_error(e.status, cstr(e.message), C.size_t(len(e.message)), C.int32_t(e.serverCode), C.uint64_t(e.requestID))
	return e.status
}

// cstr points at a Go string's bytes for the duration of one C call (C copies them).
func cstr(s string) *C.char {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// fail records a client-side failure and returns its status.
func fail(status C.kmb_status_t, format string, args ...any) C.kmb_status_t {
	return errorf(status, format, args...).record()
}

// statusOfServerCode maps a wire error code to its KMB_ERR_* status.
func statusOfServerCode(code wire.ErrorCode) C.kmb_status_t {
	if int(code) < wire.ErrorCodeCount {
		return serverStatusBase + C.kmb_status_t(code)
	}
	return C.KMB_ERR_SERVER_OTHER
}

var statusOfKind = map[pool.Kind]C.kmb_status_t{
	pool.KindConnection:         C.KMB_ERR_CONNECTION,
	pool.KindTimeout:            C.KMB_ERR_TIMEOUT,
	pool.KindClosed:             C.KMB_ERR_CLOSED,
	pool.KindClusterUnavailable: C.KMB_ERR_CLUSTER_UNAVAILABLE,
	pool.KindInvalidArgument:    C.KMB_ERR_INVALID_ARGUMENT,
	pool.KindProtocol:           C.KMB_ERR_PROTOCOL,
	pool.KindInternal:           C.KMB_ERR_INTERNAL,
	pool.KindTLS:                C.KMB_ERR_TLS,
	pool.KindSubscriptionClosed: C.KMB_ERR_SUBSCRIPTION_CLOSED,
}

// classify turns an error of the Go core into a callError.
func classify(err error) *callError {
	var pe *pool.Error
	if errors.As(err, &pe) {
		ce := &callError{status: C.KMB_ERR_INTERNAL, message: pe.Error(), serverCode: -1, requestID: pe.RequestID}
		switch {
		case pe.OutcomeUnknown:
			ce.status = C.KMB_ERR_OUTCOME_UNKNOWN
		case pe.Kind == pool.KindServer:
			ce.status = statusOfServerCode(pe.ServerCode)
		default:
			if st, ok := statusOfKind[pe.Kind]; ok {
				ce.status = st
			}
		}
		if pe.Kind == pool.KindServer {
			ce.serverCode = int32(pe.ServerCode)
		}
		return ce
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &callError{status: C.KMB_ERR_TIMEOUT, message: "kimberlite: timeout: " + err.Error(), serverCode: -1}
	}
	return &callError{status: C.KMB_ERR_INTERNAL, message: "kimberlite: internal error: " + err.Error(), serverCode: -1}
}

// failErr records err (from the Go core) as this thread's last error and returns its status.
func failErr(err error) C.kmb_status_t { return classify(err).record() }

// recoverPanic is the panic boundary of every export: deferred as `defer recoverPanic(&st)`, it
// turns a panic into KMB_ERR_INTERNAL instead of aborting the host process.
func recoverPanic(st *C.kmb_status_t) {
	if r := recover(); r != nil {
		*st = fail(C.KMB_ERR_INTERNAL, "internal error (recovered panic): %v", r)
	}
}
