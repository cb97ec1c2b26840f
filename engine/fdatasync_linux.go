//go:build linux

package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data (and the size, when it grew) without its other metadata.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
