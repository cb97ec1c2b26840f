// Command server measures the TCP server over a real database on loopback: appends per second
// with 1, 16 and 64 connections (100-byte events, batches of 1 and of 100), pipelined appends on
// one connection, reads per second, and how much of the time the committer spends committing
// (writing pages) and syncing its write-ahead log. Then, for -rounds rounds, it sets the two
// numbers the disk bounds against a bare 100-byte write+fdatasync on the same disk in the same
// run: a single writer's append latency, and 64 connections' appends per second, each printed
// as a `RATIO name value goal # what` line. Run it with `go run ./bench/server`; it takes about
// 40 seconds. -ratios-only skips the table (for interleaved A/B rounds against another build),
// -cpuprofile writes a CPU profile of the run.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
	"golang.org/x/sys/unix"
)

const eventSize = 100

var (
	runFor  = flag.Duration("duration", 2*time.Second, "how long each measurement runs")
	rounds  = flag.Int("rounds", 3, "rounds of the ratio measurements")
	only    = flag.Bool("ratios-only", false, "run only the ratio rounds")
	profile = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/server:", err)
		os.Exit(1)
	}
}

func run() error {
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "kimberlite-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	loc, err := server.StartLocal(dir, server.Options{})
	if err != nil {
		return err
	}
	defer loc.Close()
	db := loc.DB
	b := &bench{addr: loc.Addr, db: db}
	fmt.Printf("server bench: in-process server on %s, data in %s, %v per measurement, %d-byte events\n",
		b.addr, dir, *runFor, eventSize)

	if !*only {
		if err := b.table(); err != nil {
			return err
		}
	}
	for round := 1; round <= *rounds; round++ {
		fmt.Printf("ratio round %d\n", round)
		bare, err := bareSync(dir, *runFor)
		if err != nil {
			return err
		}
		one, err := b.appends(1, 1, 1)
		if err != nil {
			return err
		}
		many, err := b.appends(64, 1, 1)
		if err != nil {
			return err
		}
		rtt, err := b.roundTrip(*runFor / 2)
		if err != nil {
			return err
		}
		fmt.Printf("RATIO server/append-latency.vs-fdatasync %.3f <=1.3 # one connection, 1-event append p50 %v / bare 100-byte write+fdatasync p50 %v\n",
			float64(one.p50)/float64(bare), one.p50, bare)
		// The append's answer crosses loopback twice, which the bare sync does not; what is left
		// once a request's own round trip is taken off is the server's cost beyond the disk.
		fmt.Printf("RATIO server/append-latency-less-rtt.vs-fdatasync %.3f # (1-event append p50 %v - server-info round trip p50 %v) / bare write+fdatasync p50 %v\n",
			float64(one.p50-rtt)/float64(bare), one.p50, rtt, bare)
		fmt.Printf("RATIO server/append-64conns.vs-6943 %.3f >=3 # 64 connections x 1-event appends, %.0f appends/s / 6,943 appends/s before one sync per group\n",
			many.perSec/6943, many.perSec)
		fmt.Printf("RATIO server/append-64conns.per-fdatasync %.3f # %.0f appends/s x bare fdatasync p50 %v: appends per bare sync time\n",
			many.perSec*bare.Seconds(), many.perSec, bare)
	}
	return nil
}

// table measures appends and reads at several concurrencies and batch sizes.
func (b *bench) table() error {
	for _, batch := range []int{1, 100} {
		for _, conns := range []int{1, 16, 64} {
			if _, err := b.appends(conns, batch, 1); err != nil {
				return err
			}
		}
	}
	if _, err := b.appends(1, 1, 64); err != nil {
		return err
	}
	for _, conns := range []int{1, 16} {
		if err := b.reads(conns, 100); err != nil {
			return err
		}
	}
	return nil
}

// bareSync measures the median of a bare 100-byte write+fdatasync in dir: the disk's own cost
// of one durable append.
func bareSync(dir string, d time.Duration) (time.Duration, error) {
	f, err := os.CreateTemp(dir, "bare-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, eventSize)
	var lat []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	p50 := pct(lat, 50)
	fmt.Printf("bare write+fdatasync, 100 bytes       %8.0f syncs/s   latency p50 %v p99 %v\n",
		float64(len(lat))/d.Seconds(), p50, pct(lat, 99))
	return p50, nil
}

// appendRate is what one append measurement found.
type appendRate struct {
	perSec float64
	p50    time.Duration
}

type bench struct {
	addr  string
	db    *engine.DB
	runID int
}

// worker is one connection's loop body; it returns the number of requests and events it
// completed in one call.
type worker func(c *rawconn.Conn) (requests, events int, err error)

// measure runs one worker per connection until the duration is over and reports totals and
// per-call latency percentiles.
func (b *bench) measure(conns int, setup func(i int, c *rawconn.Conn) (worker, error)) (reqs, evs int, elapsed time.Duration, lat []time.Duration, err error) {
	cs := make([]*rawconn.Conn, conns)
	ws := make([]worker, conns)
	for i := range cs {
		c, err := rawconn.Dial(b.addr, 5*time.Second)
		if err != nil {
			return 0, 0, 0, nil, err
		}
		defer c.Close()
		if ws[i], err = setup(i, c); err != nil {
			return 0, 0, 0, nil, err
		}
		cs[i] = c
	}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*runFor)
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r, e int
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				nr, ne, err := ws[i](cs[i])
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
				r += nr
				e += ne
			}
			mu.Lock()
			reqs += r
			evs += e
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return reqs, evs, time.Since(start), lat, firstErr
}

// appends measures appends of batch events each, with inflight requests pipelined per connection.
func (b *bench) appends(conns, batch, inflight int) (appendRate, error) {
	b.runID++
	events := make([][]byte, batch)
	for i := range events {
		events[i] = make([]byte, eventSize)
		for j := range events[i] {
			events[i][j] = byte('a' + (i+j)%26)
		}
	}
	before := b.db.Stats()
	reqs, evs, elapsed, lat, err := b.measure(conns, func(i int, c *rawconn.Conn) (worker, error) {
		resp, err := c.Call(1, wire.CreateStreamRequest{Name: fmt.Sprintf("append-%d-%d", b.runID, i)})
		if err != nil {
			return nil, err
		}
		sid := resp.(wire.CreateStreamResponse).StreamID
		var next uint64
		return func(c *rawconn.Conn) (int, int, error) {
			for range inflight {
				if _, err := c.Send(1, wire.AppendEventsRequest{StreamID: sid, Events: events, ExpectedOffset: next}); err != nil {
					return 0, 0, err
				}
				next += uint64(batch)
			}
			if err := c.Flush(); err != nil {
				return 0, 0, err
			}
			for range inflight {
				r, err := c.Recv()
				if err != nil {
					return 0, 0, err
				}
				if _, ok := r.Payload.(wire.AppendEventsResponse); !ok {
					return 0, 0, fmt.Errorf("append: %#v", r.Payload)
				}
			}
			return inflight, inflight * batch, nil
		}, nil
	})
	if err != nil {
		return appendRate{}, err
	}
	after := b.db.Stats()
	commits := after.CommitCount - before.CommitCount
	commitTime := after.CommitTime - before.CommitTime
	syncTime := after.SyncTime - before.SyncTime
	syncs := after.SyncCount - before.SyncCount
	name := fmt.Sprintf("append conns=%-2d batch=%-3d", conns, batch)
	if inflight > 1 {
		name = fmt.Sprintf("append conns=%-2d batch=%-3d pipelined=%d", conns, batch, inflight)
	}
	rate := appendRate{perSec: float64(reqs) / elapsed.Seconds(), p50: pct(lat, 50)}
	fmt.Printf("%s  %8.0f appends/s %9.0f events/s  latency p50 %v p99 %v  %5.1f appends/commit  commit %4.1f%% (%v per commit)  log fdatasync %4.1f%% of the time (%v per sync, %.1f commits/sync)\n",
		name, rate.perSec, float64(evs)/elapsed.Seconds(),
		rate.p50, pct(lat, 99), float64(after.OpCount-before.OpCount)/float64(max(commits, 1)),
		100*commitTime.Seconds()/elapsed.Seconds(), (commitTime / time.Duration(max(commits, 1))).Round(time.Microsecond),
		100*syncTime.Seconds()/elapsed.Seconds(), (syncTime / time.Duration(max(syncs, 1))).Round(time.Microsecond),
		float64(commits)/float64(max(syncs, 1)))
	return rate, nil
}

// roundTrip measures the median of serial GetServerInfo calls on one connection: a request's
// round trip over loopback with no storage behind it.
func (b *bench) roundTrip(d time.Duration) (time.Duration, error) {
	c, err := rawconn.Dial(b.addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var lat []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		t0 := time.Now()
		r, err := c.Call(1, wire.GetServerInfoRequest{})
		if err != nil {
			return 0, err
		}
		if _, ok := r.(wire.ServerInfoResponse); !ok {
			return 0, fmt.Errorf("server info: %#v", r)
		}
		lat = append(lat, time.Since(t0))
	}
	p50 := pct(lat, 50)
	fmt.Printf("round trip (GetServerInfo)             %8.0f calls/s   latency p50 %v p99 %v\n",
		float64(len(lat))/d.Seconds(), p50, pct(lat, 99))
	return p50, nil
}

// reads measures ReadEvents of perRead 100-byte events from random offsets of a 10 000-event
// stream.
func (b *bench) reads(conns, perRead int) error {
	const length = 10000
	c, err := rawconn.Dial(b.addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	b.runID++
	resp, err := c.Call(1, wire.CreateStreamRequest{Name: fmt.Sprintf("read-%d", b.runID)})
	if err != nil {
		return err
	}
	sid := resp.(wire.CreateStreamResponse).StreamID
	chunk := make([][]byte, 1000)
	for i := range chunk {
		chunk[i] = make([]byte, eventSize)
	}
	for off := uint64(0); off < length; off += uint64(len(chunk)) {
		if r, err := c.Call(1, wire.AppendEventsRequest{StreamID: sid, Events: chunk, ExpectedOffset: off}); err != nil {
			return err
		} else if _, ok := r.(wire.AppendEventsResponse); !ok {
			return fmt.Errorf("prefill: %#v", r)
		}
	}
	reqs, evs, elapsed, lat, err := b.measure(conns, func(int, *rawconn.Conn) (worker, error) {
		rng := rand.New(rand.NewPCG(uint64(conns), uint64(b.runID)))
		return func(c *rawconn.Conn) (int, int, error) {
			from := rng.Uint64N(length - uint64(perRead))
			r, err := c.Call(1, wire.ReadEventsRequest{StreamID: sid, FromOffset: from, MaxBytes: uint64(perRead * eventSize)})
			if err != nil {
				return 0, 0, err
			}
			rd, ok := r.(wire.ReadEventsResponse)
			if !ok || len(rd.Events) != perRead {
				return 0, 0, fmt.Errorf("read: %#v", r)
			}
			return 1, perRead, nil
		}, nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("read   conns=%-2d events=%-3d  %8.0f reads/s %9.0f events/s  latency p50 %v p99 %v\n",
		conns, perRead, float64(reqs)/elapsed.Seconds(), float64(evs)/elapsed.Seconds(), pct(lat, 50), pct(lat, 99))
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Microsecond)
}
