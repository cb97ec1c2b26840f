//go:build !linux

package cluster

import (
	"errors"
	"os"
)

func fdatasync(f *os.File) error { return f.Sync() }

// fallocate is not available: segments grow as they are written.
func fallocate(*os.File, int64, int64) error { return errors.ErrUnsupported }
