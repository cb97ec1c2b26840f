package main

/*
#include "ffi.h"
*/
import "C"

// Go views of the C-only parts of the ABI, so Go tests (which cannot use cgo themselves) can
// compare them with the Go core.

func statusName(st int32) string { return C.GoString(C.kmb_status_name(C.kmb_status_t(st))) }

func statusIsRetryable(st int32) bool { return C.kmb_status_is_retryable(C.kmb_status_t(st)) != 0 }

func libraryVersion() (string, int32) {
	return C.GoString(C.kmb_version()), int32(C.kmb_version_number())
}

// cStatus names the C status type for tests.
type cStatus = C.kmb_status_t

// lastError returns this OS thread's last error as C stores it.
func lastError() (int32, string, int32, uint64) {
	return int32(C.kmb_last_error_status()), C.GoString(C.kmb_last_error_message()),
		int32(C.kmb_last_error_server_code()), uint64(C.kmb_last_error_request_id())
}
