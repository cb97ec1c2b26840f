// Command ffi is the C ABI of libkimberlite, built with `go build -buildmode=c-shared` into
// libkimberlite.so. The public contract is include/kimberlite.h; this package only checks
// arguments, looks up handles, copies data between C and Go memory and maps errors to status
// codes. All client behaviour lives in package pool.
//
// Every public function is a C wrapper (exports.c) that refuses to enter Go after fork() and then
// calls a Go implementation named kmbgo_*. The kmbgo_* symbols are hidden from the library's
// dynamic symbol table by exports.map.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -O2
#include "ffi.h"
*/
import "C"

func main() {}
