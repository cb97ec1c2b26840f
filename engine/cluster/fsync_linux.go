//go:build linux

package cluster

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data (and its size, when it changed) without its other metadata.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// fallocate reserves n bytes of f from off on (reading as zeros, the file's size grows).
func fallocate(f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	return unix.Fallocate(int(f.Fd()), 0, off, n)
}
