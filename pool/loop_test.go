package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/tests/faultproxy"
	"github.com/kimberlite/libkimberlite/wire"
)

// eventLoop drives a pool.Loop as an event loop would: one goroutine waits for the loop's
// descriptor and calls Ready, until stop.
type eventLoop struct {
	l       *pool.Loop
	stop    chan struct{}
	done    chan struct{}
	paused  atomic.Bool // the loop is busy elsewhere: it does not call Ready
	readies atomic.Int64
}

func runLoop(t *testing.T, l *pool.Loop) *eventLoop {
	t.Helper()
	e := &eventLoop{l: l, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for {
			select {
			case <-e.stop:
				return
			default:
			}
			fds := []unix.PollFd{{Fd: int32(l.FD()), Events: unix.POLLIN}}
			if n, _ := unix.Poll(fds, 10); n > 0 && !e.paused.Load() {
				e.readies.Add(1)
				l.Ready()
			}
		}
	}()
	t.Cleanup(e.end)
	return e
}

func (e *eventLoop) end() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	<-e.done
}

// loopSetup: a client behind a fault proxy, a stream of n distinct events, and a loop.
func loopSetup(t *testing.T, n int, tune func(*pool.Config)) (*faultproxy.Proxy, *pool.Client, uint64, *pool.Loop) {
	t.Helper()
	s := startServer(t, "", "", server.Options{})
	p := faultproxy.New(t, s.Addr)
	cfg := testConfig(p.Addr())
	cfg.HealthCheckPeriod = 0
	if tune != nil {
		tune(&cfg)
	}
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 10*time.Second)
	id, err := c.CreateStream(ctx, "loop", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := c.Append(ctx, id, [][]byte{[]byte(fmt.Sprintf("event-%d", i))}, pool.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return p, c, id, l
}

type readOutcome struct {
	r   pool.ReadResult
	err error
}

// loopRead starts a read of the event at off through the loop; the channel gets its outcome.
// false: the loop did not take it.
func loopRead(t *testing.T, l *pool.Loop, id, off uint64) (<-chan readOutcome, bool) {
	ch := make(chan readOutcome, 2) // room for a second delivery, which the test would catch
	ok := l.Read(id, off, 1, func(r pool.ReadResult, err error) { ch <- readOutcome{r, err} })
	return ch, ok
}

func wantEvent(t *testing.T, o readOutcome, i int) {
	t.Helper()
	if o.err != nil || len(o.r.Events) != 1 || string(o.r.Events[0].Data) != fmt.Sprintf("event-%d", i) {
		t.Fatalf("read of event %d: %+v, %v", i, o.r, o.err)
	}
}

func once(t *testing.T, ch <-chan readOutcome, what string) readOutcome {
	t.Helper()
	select {
	case o := <-ch:
		select {
		case o2 := <-ch:
			t.Fatalf("%s: done ran twice: %+v then %+v", what, o, o2)
		case <-time.After(20 * time.Millisecond):
		}
		return o
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no outcome", what)
	}
	return readOutcome{}
}

// Serial calls through the loop are answered in Ready, each with its own event; a call the
// loop cannot take (bad arguments) is refused so that the usual call reports it.
func TestLoopSerialCallsAnswerInReady(t *testing.T) {
	_, c, id, l := loopSetup(t, 40, nil)
	e := runLoop(t, l)
	taken := 0
	for i := 0; i < 40; i++ {
		ch, ok := loopRead(t, l, id, uint64(i))
		if !ok {
			// The reader goroutine may hold the idle read side for one call (it saw the last
			// answer's bytes before Ready read them); the usual call gives it back.
			r, err := c.Read(context.Background(), id, uint64(i), 1)
			wantEvent(t, readOutcome{r, err}, i)
			continue
		}
		taken++
		wantEvent(t, once(t, ch, "read"), i)
	}
	if taken < 30 {
		t.Fatalf("the loop took %d of 40 serial reads", taken)
	}
	lengths := make(chan uint64, 1)
	for !l.StreamLength(id, func(n uint64, err error) {
		if err != nil {
			t.Error(err)
		}
		lengths <- n
	}) {
		if _, err := c.StreamLength(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-lengths; n != 40 {
		t.Fatalf("stream length %d", n)
	}
	pings := make(chan error, 1)
	for !l.Ping(func(err error) { pings <- err }) {
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-pings; err != nil {
		t.Fatal(err)
	}
	started, settled := l.Counts()
	if started != int64(taken+2) || settled != started {
		t.Fatalf("loop took %d calls (want %d) and answered %d in Ready", started, taken+2, settled)
	}
	if e.readies.Load() < started {
		t.Fatalf("%d Ready calls for %d answers", e.readies.Load(), started)
	}
	if l.Read(id, 0, 0, func(pool.ReadResult, error) { t.Error("a refused call ran done") }) {
		t.Fatal("maxBytes 0 was taken by the loop")
	}
	if got := c.Stats().OperationsCount["read"]; got != 40 {
		t.Fatalf("client stats count %d reads, want 40 (the loop's too)", got)
	}
}

// Loop calls that share their connection with an ordinary call from another goroutine (which
// takes the read side from the loop), or whose answer waits while the loop is busy: every call
// gets its own answer exactly once.
func TestLoopCallsWithOthersOnTheConnection(t *testing.T) {
	_, c, id, l := loopSetup(t, 20, func(cfg *pool.Config) { cfg.MaxConnsPerNode = 1 })
	e := runLoop(t, l)
	taken := 0
	for k := 0; k < 90; k++ {
		i := k % 20
		if k%3 == 1 {
			e.paused.Store(true) // the loop is busy: the answer waits for it
			time.AfterFunc(time.Millisecond, func() { e.paused.Store(false) })
		}
		ch, ok := loopRead(t, l, id, uint64(i))
		var other chan readOutcome
		if ok && k%3 == 0 {
			other = make(chan readOutcome, 1)
			go func(j int) {
				r, err := c.Read(context.Background(), id, uint64(j), 1)
				other <- readOutcome{r, err}
			}((i + 7) % 20)
		}
		if !ok {
			e.paused.Store(false)
			r, err := c.Read(context.Background(), id, uint64(i), 1)
			wantEvent(t, readOutcome{r, err}, i)
			continue
		}
		taken++
		wantEvent(t, once(t, ch, "loop read"), i)
		if other != nil {
			wantEvent(t, <-other, (i+7)%20)
		}
	}
	started, settled := l.Counts()
	t.Logf("loop took %d of 90 reads; %d answered in Ready, the rest handed off", started, settled)
	if taken < 45 || started != int64(taken) || settled == started {
		t.Fatalf("taken %d, loop counts %d and %d: want most taken, some handed off", taken, started, settled)
	}
}

// A server that stops answering: a loop call ends at its deadline with a timeout, once, and
// the connection serves the next calls when the path is back.
func TestLoopCallTimesOut(t *testing.T) {
	p, c, id, l := loopSetup(t, 2, func(cfg *pool.Config) { cfg.RequestTimeout = 300 * time.Millisecond })
	runLoop(t, l)
	p.BlackHole()
	ch, ok := loopRead(t, l, id, 0)
	if !ok {
		t.Fatal("not taken")
	}
	o := once(t, ch, "held read")
	var e *pool.Error
	if !errors.As(o.err, &e) || e.Kind != pool.KindTimeout {
		t.Fatalf("want a timeout, got %+v %v", o.r, o.err)
	}
	p.Pass()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := c.Read(context.Background(), id, 1, 1)
		if err == nil {
			wantEvent(t, readOutcome{r, err}, 1)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no read after the path came back: %v", err)
		}
	}
	// The reader goroutine may still hold the read side the usual read used; the loop takes
	// the call once it has let go.
	for {
		if ch, ok = loopRead(t, l, id, 0); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the loop took no call after the path came back")
		}
		r, err := c.Read(context.Background(), id, 0, 1)
		wantEvent(t, readOutcome{r, err}, 0)
	}
	wantEvent(t, once(t, ch, "read after"), 0)
}

// A connection reset while a loop call is held: the call is made again (a read changes
// nothing) and returns its event, once.
func TestLoopCallRetriesAfterReset(t *testing.T) {
	p, _, id, l := loopSetup(t, 3, nil)
	e := runLoop(t, l)
	e.paused.Store(true) // the request goes out; nobody reads the answer yet
	p.Reset()
	ch, ok := loopRead(t, l, id, 2)
	if !ok {
		t.Fatal("not taken")
	}
	time.AfterFunc(50*time.Millisecond, func() { p.Pass(); e.paused.Store(false) })
	wantEvent(t, once(t, ch, "read through a reset"), 2)
}

// Stop hands the calls the loop holds to goroutines: with nobody calling Ready any more, each
// still returns its event; calls after Stop are refused.
func TestLoopStopHandsCallsOff(t *testing.T) {
	_, _, id, l := loopSetup(t, 2, nil)
	ch, ok := loopRead(t, l, id, 1) // no event loop runs: only Stop can finish it
	if !ok {
		t.Fatal("not taken")
	}
	l.Stop()
	wantEvent(t, once(t, ch, "read held at Stop"), 1)
	if _, ok := loopRead(t, l, id, 0); ok {
		t.Fatal("a call was taken after Stop")
	}
	l.Ready() // does nothing, and does not block
	if started, settled := l.Counts(); started != 1 || settled != 0 {
		t.Fatalf("counts %d %d", started, settled)
	}
}

// Closing the client with a call held by a loop nobody drives finishes the call, once.
func TestLoopCallEndsAtClientClose(t *testing.T) {
	_, c, id, l := loopSetup(t, 1, nil)
	ch, ok := loopRead(t, l, id, 0)
	if !ok {
		t.Fatal("not taken")
	}
	l.Stop()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := once(t, ch, "read held at close")
	var e *pool.Error
	if o.err != nil && !(errors.As(o.err, &e) && e.Kind == pool.KindClosed) {
		t.Fatalf("want the event or a closed error: %+v %v", o.r, o.err)
	}
	if o.err == nil {
		wantEvent(t, o, 0)
	}
}
