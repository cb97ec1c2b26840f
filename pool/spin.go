package pool

import (
	"io"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// A solo reader on a caller's own thread (C, Python, and other non-Go callers) that waits for
// its answer in ppoll(2) puts the thread to sleep, and waking a sleeping CPU is slow: on a
// virtual machine a halted vCPU takes tens of microseconds to resume, as long as a whole
// loopback read costs the server. So before it sleeps, the reader polls the socket without
// sleeping (non-blocking reads) for up to spinBudget, when it is worth it:
//   - the connection's recent waits averaged below spinWorth (reads and pings of a near server,
//     not appends waiting for a disk sync, nor a distant server; a wait counts whole, spun or
//     slept, and a slept one includes the wake-up, hence a limit above the budget), and
//   - fewer threads spin than the process may use CPUs beyond one (GOMAXPROCS at start, which
//     follows the container's CPU limit), so spinning never takes the CPU the answer needs (on
//     one CPU nothing spins).
//
// Goroutine callers wait in the network poller instead, whose scheduler spins on its own.
// Measured on the 2-core bench machine, a Python 1-event read against a local server (median
// of 8 processes alternating builds): 123 µs on the main thread with ppoll alone, 75 µs with
// the spin; 112 and 53 µs on another thread. The client's CPU per read stayed about the same
// (waking a thread costs CPU too); a 200 µs budget was no better.
const (
	spinBudget = 100 * time.Microsecond
	spinWorth  = 250 * time.Microsecond
)

// spinners counts the threads spinning now; maxSpinners bounds it.
var (
	spinners    atomic.Int32
	maxSpinners = int32(runtime.GOMAXPROCS(0) - 1)
)

// soloWaits tracks how long a connection's solo reader waited for data, as a moving average
// (only the reader holding the read side updates it).
type soloWaits struct {
	avg    time.Duration // exponentially weighted, 1/8 per wait
	spins  atomic.Uint64 // waits that spun (read by tests)
	caught atomic.Uint64 // of those, the ones whose data came while spinning
}

func (w *soloWaits) add(d time.Duration) { w.avg = movingAvg(w.avg, d) }

// movingAvg folds one wait d into avg, 1/8 per wait: the average both spins go by.
func movingAvg(avg, d time.Duration) time.Duration { return avg + (d-avg)/8 }

// takeSpinner claims one of the threads the process may spin (maxSpinners); false: enough
// spin already. A true claim is given back with spinners.Add(-1).
func takeSpinner() bool {
	if spinners.Add(1) > maxSpinners {
		spinners.Add(-1)
		return false
	}
	return true
}

// spin polls fd with non-blocking reads into c.ioBuf for up to spinBudget, when worth it (see
// above). It reports whether it ended the wait: data, end of file or an error are in c.ioN and
// c.ioErr; false means nothing came (or it did not spin), and the caller sleeps in ppoll.
func (c *conn) spin(fd uintptr, start time.Time) bool {
	if c.waits.avg >= spinWorth || !takeSpinner() {
		return false
	}
	defer spinners.Add(-1)
	c.waits.spins.Add(1)
	for {
		// syscall.Read, not unix.Read: see soloIO.
		k, err := syscall.Read(int(fd), c.ioBuf)
		if err != syscall.EAGAIN {
			c.waits.caught.Add(1)
			c.waits.add(time.Since(start))
			c.ioN, c.ioErr = readResult(k, err)
			return true
		}
		if time.Since(start) >= spinBudget {
			return false
		}
	}
}

// readResult turns a non-blocking read's outcome into what a fill returns: nothing (read
// again) for EAGAIN and EINTR, io.EOF for end of file.
func readResult(k int, err error) (int, error) {
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return 0, nil
	case err != nil:
		return 0, err
	case k == 0:
		return 0, io.EOF
	}
	return k, nil
}
