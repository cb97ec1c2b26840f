package pool

import (
	"time"

	"golang.org/x/sys/unix"
)

// An event loop with nothing to do goes to sleep in its poll, and its thread's wake-up when the
// answer arrives is what a call through the Loop costs beyond a Go caller's (see spin.go: on a
// virtual machine a sleeping CPU takes tens of microseconds to resume). Idle, run by the event
// loop just before it would sleep, polls the loop's own descriptor without sleeping while an
// answer is due soon, and returns as soon as anything the loop watches is ready: the loop's
// wait then finds it at once. It never delays the loop's other work: any readiness ends it,
// and the event loop calls it only when its wait has no earlier deadline (a timer, an
// immediate callback). The rules are the solo reader's: only while the Loop's answers have come
// within spinWorth on average, for up to spinBudget, and only while fewer threads spin than
// the process may use CPUs beyond one.

// noteAnswer folds one call's time to its answer into the Loop's average (1/8 per answer). Only
// Ready calls it, on the event loop's one thread, so the load and store need not be one step.
func (l *Loop) noteAnswer(d time.Duration) {
	l.answerAvg.Store(int64(movingAvg(time.Duration(l.answerAvg.Load()), d)))
}

// IdleSpins is how many Idle calls spun.
func (l *Loop) IdleSpins() uint64 { return l.idleSpins.Load() }

// Idle is for the event loop's thread, just before it waits for fd, the descriptor it watches
// everything through (FD among the rest): while the Loop holds a call whose answer is due soon
// (started less than spinWorth ago), it polls fd without sleeping, for up to spinBudget, and
// returns once fd is readable. It returns at once when the Loop holds no such call, when
// answers have been slow, or when enough threads spin already.
func (l *Loop) Idle(fd int) {
	if l.stopped.Load() || time.Duration(l.answerAvg.Load()) >= spinWorth {
		return
	}
	// Only a call younger than spinWorth is due soon; one that has waited longer (a server that
	// stalls) is left to the loop's sleep, so that a long wait costs one spin, not one per turn
	// of a loop that has other work.
	now := time.Now()
	due := false
	l.mu.Lock()
	for _, lc := range l.calls {
		due = due || now.Sub(lc.start) < spinWorth
	}
	l.mu.Unlock()
	if !due {
		return
	}
	if !takeSpinner() {
		return
	}
	defer spinners.Add(-1)
	l.idleSpins.Add(1)
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for time.Since(now) < spinBudget {
		if n, err := unix.Poll(fds[:], 0); n != 0 || (err != nil && err != unix.EINTR) {
			return // ready, or not a descriptor to wait on: the loop's own wait says which
		}
	}
}
