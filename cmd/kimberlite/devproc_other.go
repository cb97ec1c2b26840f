//go:build !linux

package main

import "syscall"

// childProcAttr: outside Linux the nodes share the terminal's process group, so Ctrl-C reaches
// them as well as `kimberlite dev`; both paths stop them cleanly.
func childProcAttr() *syscall.SysProcAttr { return nil }
