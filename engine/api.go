package engine

import (
	"context"
	"fmt"

	"github.com/kimberlite/libkimberlite/wire"
)

// Error is a database error that the server sends as a wire Error response: Code is the wire
// error code and Message the exact text the client receives.
type Error struct {
	Code    wire.ErrorCode
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code wire.ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// OpKind selects what a write operation does.
type OpKind uint8

const (
	OpCreateStream OpKind = iota + 1
	OpAppend
)

// Op is one write operation. Writes are applied strictly in the order they are submitted, so a
// connection that pipelines appends sees them applied in its own order. The same Op is what the
// replicated log carries in a cluster, so applying it must be deterministic.
type Op struct {
	Kind   OpKind
	Tenant uint64

	// OpCreateStream
	Name      string
	DataClass wire.DataClass
	Placement wire.Placement

	// OpAppend
	StreamID uint64
	Events   [][]byte
	Expected uint64

	// OpAppend, idempotent (see IdempotencyWindow.Stamp): a non-empty IdemKey makes a repeat of
	// this append answer with the original result instead of appending again. At (unix
	// milliseconds, the proposer's clock) and the window travel with the op so that every
	// replica expires keys alike.
	IdemKey      string
	At           int64
	WindowMillis uint64
	WindowKeys   uint32
}

// Result is the outcome of one Op: the created stream's id, or the first offset of an append.
// Err is an *Error for a refused operation (OffsetMismatch, StreamNotFound, ...).
type Result struct {
	StreamID    uint64
	FirstOffset uint64
	Err         error
}

// Pending is a submitted write that completes once it is durable (or has failed).
type Pending struct {
	done   chan struct{}
	result Result
}

// NewPending returns a Pending that completes when Complete is called.
func NewPending() *Pending { return &Pending{done: make(chan struct{})} }

// Complete records the result and wakes every waiter. It must be called exactly once.
func (p *Pending) Complete(r Result) {
	p.result = r
	close(p.done)
}

// Done is closed once the result is known.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait blocks until the write completes or ctx ends. When ctx ends first the write may still
// complete later: its outcome is unknown to this caller.
func (p *Pending) Wait(ctx context.Context) Result {
	select {
	case <-p.done:
		return p.result
	case <-ctx.Done():
		return Result{Err: ctx.Err()}
	}
}
