package pool_test

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kimberlite/libkimberlite/pool"
)

// driveRead makes one read of the event at off as an event loop's own thread does: it starts
// the call through the loop, then, until the call is done, Idle before each wait for the loop's
// descriptor and Ready after. A read the loop does not take is made the usual way.
func driveRead(t *testing.T, c *pool.Client, l *pool.Loop, id, off uint64) {
	t.Helper()
	ch, ok := loopRead(t, l, id, off)
	if !ok {
		r, err := c.Read(context.Background(), id, off, 1)
		wantEvent(t, readOutcome{r, err}, int(off))
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case o := <-ch:
			wantEvent(t, o, int(off))
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("read of event %d: no outcome", off)
		}
		l.Idle(l.FD())
		fds := []unix.PollFd{{Fd: int32(l.FD()), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 10); n > 0 {
			l.Ready()
		}
	}
}

// canSpin: the process may spin a thread (it has more than one CPU). On one CPU the tests below
// check that Idle never spins instead.
var canSpin = pool.SpinnersAllowed() > 0

// Idle spins only while the loop holds a young call and a thread may spin: with no call it
// returns without spinning, even on a descriptor that never becomes readable; with the
// process's spinning threads taken, neither; with both, it spins, and the call still gets its
// own answer once.
func TestLoopIdleSpinsOnlyForAHeldCall(t *testing.T) {
	_, _, id, l := loopSetup(t, 3, nil)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	l.Idle(int(r.Fd()))
	if n := l.IdleSpins(); n != 0 {
		t.Fatalf("Idle spun %d times with no call held", n)
	}
	started := time.Now()
	ch, ok := loopRead(t, l, id, 2)
	if !ok {
		t.Fatal("not taken")
	}
	restore := pool.FillSpinners()
	l.Idle(int(r.Fd()))
	restore()
	if n := l.IdleSpins(); n != 0 {
		t.Fatalf("Idle spun %d times while other threads took every spin", n)
	}
	l.Idle(int(r.Fd()))                                 // never readable: the spin ends at its budget
	young := time.Since(started) < 250*time.Microsecond // spinWorth: the call was due soon
	if n := l.IdleSpins(); n > 1 || (young && canSpin && n != 1) || (!canSpin && n != 0) {
		t.Fatalf("Idle spun %d times with a call held %v (may spin: %v)", n, time.Since(started), canSpin)
	}
	spins := l.IdleSpins()
	runLoop(t, l)
	wantEvent(t, once(t, ch, "read held while Idle spun"), 2)
	l.Idle(l.FD())
	if n := l.IdleSpins(); n != spins {
		t.Fatalf("Idle spun again (%d) after the call was answered", n)
	}
}

// Serial reads driven as an event loop drives them spin while answers come quickly (on more
// than one CPU; on one, never), and stop spinning once answers are slow (here a path that
// delays every chunk by 2 ms).
func TestLoopIdleStopsSpinningForSlowAnswers(t *testing.T) {
	p, c, id, l := loopSetup(t, 30, nil)
	for i := 0; i < 10; i++ {
		driveRead(t, c, l, id, uint64(i))
	}
	quick := l.IdleSpins()
	if canSpin && quick == 0 {
		t.Fatal("no spin for 10 quick serial reads")
	}
	if !canSpin && quick != 0 {
		t.Fatalf("%d spins on one CPU", quick)
	}
	p.Delay(2 * time.Millisecond)
	for i := 10; i < 20; i++ {
		driveRead(t, c, l, id, uint64(i))
	}
	slow := l.IdleSpins()
	for i := 20; i < 30; i++ {
		driveRead(t, c, l, id, uint64(i))
	}
	if n := l.IdleSpins(); n != slow {
		t.Fatalf("%d more spins for 10 reads 4 ms away (%d for the first 10 quick ones)", n-slow, quick)
	}
}
