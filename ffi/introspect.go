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
