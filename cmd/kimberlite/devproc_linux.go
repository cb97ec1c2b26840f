package main

import "syscall"

// childProcAttr puts a dev node in its own process group, so a terminal's Ctrl-C reaches only
// `kimberlite dev`, which then stops the nodes in order; and asks the kernel to send the node
// SIGTERM if `kimberlite dev` itself dies, so no node is left orphaned.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
