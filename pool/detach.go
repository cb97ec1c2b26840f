package pool

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Detach lets a call made on a foreign thread (see OnForeignThread) wait on that thread for a
// while only. Some callers cannot give their thread to one call for its whole deadline: Python
// runs signal handlers (KeyboardInterrupt) on its main thread, between calls. Such a caller
// makes the call with Context, which it may keep for its patience, or until Interrupt; the
// first run then ends early, Left reports it, and the caller makes the same call again with
// Resume's context, on a goroutine, which finishes it as the first run would have:
//
//   - a call that changes nothing (read, stream length, sync, ping, server info) and
//     CreateStream (idempotent by name) are simply made again;
//   - an append goes on from where the first run left it: with its idempotency key, and knowing
//     at which offset it may already have been applied, so that the second run never writes
//     the events a second time; one that was waiting in a stream's queue keeps its place.
//
// Most calls end well within the patience, on their own thread, with the one wake-up of a
// call that reads its own answer (readside.go); only slow ones pay the hand-over. A Detach
// serves one call: make a new one for the next.
type Detach struct {
	parent context.Context
	ctx    context.Context // the first run's; Interrupt cancels it with errDetached
	cancel context.CancelCauseFunc
	until  time.Time // when the patience ends

	mu       sync.Mutex
	deadline time.Time     // the call's own deadline, as its first run set it
	callCtx  *patienceCtx  // the first run's call context, which ends with the patience
	append   *appendResume // what an append's first run left to finish
}

// errDetached is the cause of a first run's context when it must leave its thread.
var errDetached = errors.New("the call left its thread to go on in the background")

// NewDetach prepares a call under ctx whose first run may keep its thread for patience.
// The first run's call context (Client.callCtx, patienceCtx) ends with errDetached as its cause
// when the patience is over.
func NewDetach(ctx context.Context, patience time.Duration) *Detach {
	d := &Detach{parent: ctx, until: time.Now().Add(patience)}
	first, cancel := context.WithCancelCause(ctx)
	d.ctx = OnForeignThread(context.WithValue(first, detachKey{}, &detachRun{d: d, first: true}))
	d.cancel = cancel
	return d
}

// Context is the first run's context: it marks a call on a foreign thread (OnForeignThread)
// that leaves once the patience is over or Interrupt was called.
func (d *Detach) Context() context.Context { return d.ctx }

// Interrupt makes the first run leave now (a signal arrived for its thread).
func (d *Detach) Interrupt() { d.cancel(errDetached) }

// Left reports whether err, from the first run, means that the run left its thread before the
// call was done, so the call must be made again with Resume. Any other outcome, a success
// included, is the call's own.
func (d *Detach) Left(err error) bool {
	if err == nil {
		return false
	}
	d.mu.Lock()
	pc := d.callCtx
	d.mu.Unlock()
	var ctx context.Context = d.ctx
	if pc != nil {
		pc.Err() // notes a patience that ran out without a timer
		ctx = pc
	}
	if !errors.Is(context.Cause(ctx), errDetached) {
		return false
	}
	var e *Error
	return !errors.As(err, &e) || e.Kind == KindTimeout || e.OutcomeUnknown
}

// Resume is the context for the second run, on a goroutine: it carries what the first run
// left and ends at the call's own deadline (the first run's, not a new one). Cancel it when
// the second run has returned.
func (d *Detach) Resume() (context.Context, context.CancelFunc) {
	d.mu.Lock()
	dl := d.deadline
	d.mu.Unlock()
	ctx := context.WithValue(d.parent, detachKey{}, &detachRun{d: d})
	if dl.IsZero() { // the first run left before it set one: the second sets its own
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl)
}

type detachKey struct{}

// detachRun is a Detach as one of its runs sees it.
type detachRun struct {
	d     *Detach
	first bool
}

// firstRun is the Detach whose first run ctx belongs to, if any.
func firstRun(ctx context.Context) *Detach {
	if r, ok := ctx.Value(detachKey{}).(*detachRun); ok && r.first {
		return r.d
	}
	return nil
}

// resumedRun is the Detach whose second run ctx belongs to, if any.
func resumedRun(ctx context.Context) *Detach {
	if r, ok := ctx.Value(detachKey{}).(*detachRun); ok && !r.first {
		return r.d
	}
	return nil
}

// leaving reports whether ctx is a first run that is leaving its thread and err is how; the
// call's outcome is then not its own (not recorded in stats or logs).
func leaving(ctx context.Context, err error) bool {
	d := firstRun(ctx)
	return d != nil && d.Left(err)
}

// firstCallCtx is the call context of the first run: it ends at the call's deadline dl, or
// with errDetached once the patience is over (see patienceCtx); dl is kept for the second run.
func (d *Detach) firstCallCtx(ctx context.Context, dl time.Time) (context.Context, context.CancelFunc) {
	inner, stop := context.WithDeadline(ctx, dl)
	pc := &patienceCtx{}
	pc.Context, pc.cancel = context.WithCancelCause(inner)
	pc.until = d.until
	d.mu.Lock()
	if d.deadline.IsZero() {
		d.deadline, d.callCtx = dl, pc
	}
	d.mu.Unlock()
	return pc, func() {
		pc.stopTimer()
		pc.cancel(context.Canceled)
		stop()
	}
}

// patienceCtx is a first run's call context. The end of the patience needs no timer while the
// call does not wait in a select: Err reports it (the solo read's poll ends then), and Done
// arms a timer for it only when some wait asks for the channel. A timer that would fire before
// every other one costs each call a wake-up of the thread in the network poller.
type patienceCtx struct {
	context.Context // the call's own deadline, and the cause of the end
	cancel          context.CancelCauseFunc
	until           time.Time

	mu    sync.Mutex
	timer *time.Timer // armed by the first Done
}

func (p *patienceCtx) Done() <-chan struct{} {
	p.mu.Lock()
	if p.timer == nil {
		p.timer = time.AfterFunc(time.Until(p.until), func() { p.cancel(errDetached) })
	}
	p.mu.Unlock()
	return p.Context.Done()
}

func (p *patienceCtx) Err() error {
	if err := p.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(p.until) {
		p.cancel(errDetached)
		return p.Context.Err()
	}
	return nil
}

func (p *patienceCtx) stopTimer() {
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
}

// appendResume is what an append's first run leaves for its second: the request's base (its
// idempotency key and events), whether a send at maybeAt may have been applied, the call's
// state, or the queue waiter that holds its place in a batch being sent.
type appendResume struct {
	base    []byte
	maybe   bool
	maybeAt uint64
	st      callState
	waiter  *appendWaiter
}

func (d *Detach) leaveAppend(r *appendResume) {
	d.mu.Lock()
	d.append = r
	d.mu.Unlock()
}

// appendLeft is what the first run left (nil on a nil Detach: not a second run).
func (d *Detach) appendLeft() *appendResume {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.append
}

// closedError is the error of a second run refused because the client closed: its outcome is
// unknown when the first run may have had the events applied.
func (r *appendResume) closedError(err error) error {
	var e *Error
	if r == nil || !(r.maybe || r.waiter != nil) || !errors.As(err, &e) {
		return err
	}
	cp := *e
	cp.OutcomeUnknown = true
	cp.Message += " (the append may have been applied before)"
	return &cp
}

func (d *Detach) takeAppend() *appendResume {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.append
	d.append = nil
	return r
}
