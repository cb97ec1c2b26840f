package pool

import (
	"fmt"
	"runtime/debug"
)

// A panic in a goroutine of the client must never take down the host process (a Python or Node
// program, a C server): every goroutine the core starts recovers, fails the calls the panic
// affects with a KindInternal error that carries it, and counts it in Stats.ErrorsCount
// ("panic"). The client keeps serving other calls.

// panicError turns a recovered value into the error the affected calls get.
func panicError(where string, r any) *Error {
	return &Error{Kind: KindInternal, Message: fmt.Sprintf("panic in %s: %v", where, r)}
}

// notePanic counts a recovered panic and keeps its stack for LastPanic.
func (c *Client) notePanic(e *Error) {
	c.stats.errMu.Lock()
	c.stats.errors["panic"]++
	c.stats.errMu.Unlock()
	msg := e.Message + "\n" + string(debug.Stack())
	c.lastPanic.Store(&msg)
}

// LastPanic returns the message and stack of the last panic recovered in one of the client's
// goroutines, or "" if there was none. A panic is a bug in the client: please report it.
func (c *Client) LastPanic() string {
	if p := c.lastPanic.Load(); p != nil {
		return *p
	}
	return ""
}
