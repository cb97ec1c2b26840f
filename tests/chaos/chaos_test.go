// Package chaos runs appends through one client against a 3-node cluster while a nemesis kills,
// stops, pauses, partitions and restarts the leader (and the whole cluster), then proves from
// what every stream holds that every acknowledged append is there exactly once at its offset.
//
// `make test` runs a short fixed-seed schedule; `make chaos SEED=… DURATION=…` a long one
// (CHAOS_SEED and CHAOS_DURATION in the environment).
package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

const (
	writers = 16
	streams = 4
	// identicalEvery: one append in this many carries the same bytes as every other such
	// append ("{}"), as heartbeats do; the rest are unique.
	identicalEvery = 5
	identical      = "{}"
)

// outcome is what one append call returned.
type outcome int

const (
	acked   outcome = iota // success, at offset
	maybe                  // OutcomeUnknown: may or may not be in the stream
	refused                // a definite error: must not be in the stream
)

type attempt struct {
	stream  int
	payload string
	outcome outcome
	offset  uint64
	err     error
}

func envInt(t *testing.T, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func TestChaos(t *testing.T) {
	seed := uint64(envInt(t, "CHAOS_SEED", 1))
	duration := 20 * time.Second
	if d := os.Getenv("CHAOS_DURATION"); d != "" {
		var err error
		if duration, err = time.ParseDuration(d); err != nil {
			t.Fatalf("CHAOS_DURATION=%q: %v", d, err)
		}
	}
	pc := testserver.StartPartitionable(t)
	waitLeader(t, pc)

	cfg := pool.DefaultConfig()
	cfg.Addresses = pc.Addrs()
	cfg.ConnectTimeout = time.Second
	cfg.HealthCheckPeriod = 200 * time.Millisecond
	cfg.RetryInitialBackoff = 10 * time.Millisecond
	cfg.RetryMaxBackoff = 250 * time.Millisecond
	cfg.RetryMaxAttempts = 1000
	c, err := pool.Connect(pooltest.Ctx(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ids := make([]uint64, streams)
	for i := range ids {
		if ids[i], err = c.CreateStream(pooltest.Ctx(t, 30*time.Second), fmt.Sprintf("chaos-%d", i), wire.DataClassPublic, wire.PlacementGlobal); err != nil {
			t.Fatal(err)
		}
	}

	// Writers: each appends one event per call to a stream of its own choosing, at the end.
	stop := make(chan struct{})
	var mu sync.Mutex
	var attempts []attempt
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := attempt{stream: rng.IntN(streams), payload: fmt.Sprintf("w%d-%d", w, i)}
				if i%identicalEvery == identicalEvery-1 {
					a.payload = identical
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				off, err := c.Append(ctx, ids[a.stream], [][]byte{[]byte(a.payload)}, pool.AppendOptions{})
				cancel()
				a.offset, a.err = off, err
				switch {
				case err == nil:
					a.outcome = acked
				case errors.Is(err, pool.ErrOutcomeUnknown):
					a.outcome = maybe
				default:
					a.outcome = refused
				}
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
			}
		}()
	}

	schedule := runNemesis(t, pc, seed, duration)
	close(stop)
	wg.Wait()

	// Bring every node back and read each stream from the leader.
	pc.Heal()
	for _, p := range pc.Nodes {
		_ = p.Signal(syscall.SIGCONT)
		if p.Exited() {
			p.Restart()
		}
	}
	waitLeader(t, pc)
	got := make([][][]byte, streams)
	for i, id := range ids {
		got[i] = pooltest.ReadAll(t, c, id)
	}
	r := check(attempts, got)
	t.Logf("seed %d, %s: schedule:\n%s", seed, duration, schedule)
	t.Logf("appends: %d acked, %d maybe (%d of them present), %d refused; lost %d, duplicated %d, unexpected %d, misplaced %d",
		r.acked, r.maybe, r.maybePresent, r.refused, r.lost, r.duplicated, r.unexpected, r.misplaced)
	for _, p := range r.problems {
		t.Error(p)
	}
	if r.acked == 0 {
		t.Error("no append was acknowledged: the run proves nothing")
	}
}

func waitLeader(t *testing.T, pc *testserver.Partitionable) int {
	t.Helper()
	found := -1
	pooltest.WaitFor(t, 60*time.Second, "a leader", func() bool {
		found = pc.Leader(-1)
		return found >= 0
	})
	return found
}

// runNemesis applies faults chosen by seed until duration has passed and returns the schedule,
// one line per fault. Each fault targets the current leader and is undone before the next.
func runNemesis(t *testing.T, pc *testserver.Partitionable, seed uint64, duration time.Duration) string {
	rng := rand.New(rand.NewPCG(seed, 0xC4A05))
	start := time.Now()
	var log string
	faults := []string{"kill", "term", "pause", "partition", "full-restart"}
	for time.Since(start) < duration {
		calm := time.Duration(300+rng.IntN(700)) * time.Millisecond
		time.Sleep(calm) // let writes flow between faults
		l := waitLeader(t, pc)
		f := faults[rng.IntN(len(faults))]
		log += fmt.Sprintf("  %6.1fs %s node %d\n", time.Since(start).Seconds(), f, l+1)
		node := pc.Nodes[l]
		switch f {
		case "kill": // kill -9 of the leader, restarted after a while
			node.Kill()
			waitLeader(t, pc)
			node.Restart()
		case "term": // SIGTERM: graceful leadership transfer under load
			node.Stop(20 * time.Second)
			waitLeader(t, pc)
			node.Restart()
		case "pause": // SIGSTOP for longer than the election timeout
			_ = node.Signal(syscall.SIGSTOP)
			pooltest.WaitFor(t, 60*time.Second, "a new leader", func() bool { return pc.Leader(l) >= 0 })
			time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
			_ = node.Signal(syscall.SIGCONT)
		case "partition": // the leader's raft traffic cut; clients still reach it
			pc.Isolate(l)
			pooltest.WaitFor(t, 60*time.Second, "a new leader", func() bool { return pc.Leader(l) >= 0 })
			time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
			pc.Heal()
		case "full-restart": // every node killed, then all restarted with their data
			for _, p := range pc.Nodes {
				p.Kill()
			}
			for _, p := range pc.Nodes {
				p.Restart()
			}
		}
	}
	return log
}

type report struct {
	acked, maybe, maybePresent, refused     int
	lost, duplicated, unexpected, misplaced int
	problems                                []string
}

func (r *report) problem(format string, args ...any) {
	if len(r.problems) < 20 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// check proves, for each stream: every acknowledged append is present exactly once at the
// offset it was acknowledged with; every present event was attempted; an append that may have
// happened is there at most once; a refused one is not there.
func check(attempts []attempt, got [][][]byte) report {
	var r report
	for s := range got {
		where := map[string][]uint64{} // payload -> offsets holding it
		for off, ev := range got[s] {
			where[string(ev)] = append(where[string(ev)], uint64(off))
		}
		identicalAttempts, identicalAcked := 0, 0
		for _, a := range attempts {
			if a.stream != s {
				continue
			}
			switch a.outcome {
			case acked:
				r.acked++
			case maybe:
				r.maybe++
			case refused:
				r.refused++
			}
			if a.payload == identical {
				identicalAttempts++
				if a.outcome == acked {
					identicalAcked++
					if int(a.offset) >= len(got[s]) || string(got[s][a.offset]) != identical {
						r.misplaced++
						r.problem("stream %d: %q acknowledged at offset %d is not there", s, identical, a.offset)
					}
				}
				continue
			}
			offs := where[a.payload]
			delete(where, a.payload)
			switch {
			case len(offs) > 1:
				r.duplicated++
				r.problem("stream %d: %q is stored %d times, at %v (%v)", s, a.payload, len(offs), offs, a.outcome)
			case a.outcome == acked && len(offs) == 0:
				r.lost++
				r.problem("stream %d: acknowledged %q at %d is missing", s, a.payload, a.offset)
			case a.outcome == acked && offs[0] != a.offset:
				r.misplaced++
				r.problem("stream %d: %q acknowledged at %d is at %d", s, a.payload, a.offset, offs[0])
			case a.outcome == maybe && len(offs) == 1:
				r.maybePresent++
			case a.outcome == refused && len(offs) == 1:
				r.unexpected++
				r.problem("stream %d: %q was refused (%v) but is stored", s, a.payload, a.err)
			}
		}
		n := len(where[identical])
		delete(where, identical)
		if n < identicalAcked || n > identicalAttempts {
			r.duplicated++
			r.problem("stream %d: %d copies of %q, %d acknowledged of %d attempted", s, n, identical, identicalAcked, identicalAttempts)
		}
		for p, offs := range where {
			r.unexpected++
			r.problem("stream %d: %q at %v was never attempted", s, p, offs)
		}
	}
	return r
}
