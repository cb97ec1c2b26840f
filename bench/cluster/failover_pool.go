package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// traceFailover splits each client failover into the cluster's election (kill -> a survivor
// reports role:leader in its ServerInfo) and the client's part (that -> the Append succeeds),
// and prints what the pool logged meanwhile. The watcher polls the survivors, so it is off by
// default: it is for finding where the time goes, not for the ratio.
var traceFailover = flag.Bool("trace-failover", false, "split each client failover into election and client discovery, with the pool's log")

// failoverPool measures what an application sees: a pool.Client appends once before each
// kill, then the leader is killed and one Append is timed from the kill to its success. It
// adds to the cluster's own failover the time the client takes to notice (a broken
// connection, its health check, a follower's leader hint) and its retry backoff. Each kill
// starts from three caught-up nodes, as in failover.
func failoverPool(cl *procs, kills int) ([]time.Duration, error) {
	var addrs []string
	for _, p := range cl.nodes {
		addrs = append(addrs, p.addr)
	}
	cfg := pool.DefaultConfig()
	cfg.Addresses = addrs
	cfg.TenantID = 11
	var tr *tracer
	if *traceFailover {
		tr = &tracer{}
		cfg.Logger = slog.New(tr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	sid, err := c.CreateStream(ctx, "failover-pool", pool.DataClassPublic, pool.PlacementGlobal)
	if err != nil {
		return nil, err
	}
	var times, elections []time.Duration
	for k := 0; k < kills; k++ {
		leader, err := cl.waitLeader(20 * time.Second)
		if err != nil {
			return nil, err
		}
		// As in failover: the node killed last round must be back in the cluster, not still
		// replaying its log, or this kill leaves a quorum that cannot elect until it is.
		if err := waitCaughtUp(cl, cfg.TenantID, sid, uint64(2*k)); err != nil {
			return nil, err
		}
		actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.Append(actx, sid, [][]byte{[]byte(fmt.Sprintf("before-kill-%d", k))}, pool.AppendOptions{})
		acancel()
		if err != nil {
			return nil, fmt.Errorf("append before kill %d: %w", k+1, err)
		}
		victim := cl.nodes[leader]
		var w *electionWatch
		if tr != nil {
			w = watchElection(cl, victim)
		}
		start := time.Now()
		tr.begin(start)
		victim.kill()
		actx, acancel = context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.Append(actx, sid, [][]byte{[]byte(fmt.Sprintf("after-kill-%d", k))}, pool.AppendOptions{})
		acancel()
		if err != nil {
			return nil, fmt.Errorf("append after kill %d: %w", k+1, err)
		}
		took := time.Since(start)
		times = append(times, took)
		fmt.Printf("  kill %2d: node %s down, the client's append succeeded after %v\n", k+1, victim.id, took.Round(time.Millisecond))
		if w != nil {
			elected := w.stop(start)
			elections = append(elections, elected)
			fmt.Printf("           election %v, client after it %v\n", elected.Round(time.Millisecond), (took - elected).Round(time.Millisecond))
			tr.dump()
		}
		if err := victim.start(); err != nil {
			return nil, err
		}
	}
	if len(elections) > 0 {
		var client []time.Duration
		for i := range times {
			client = append(client, times[i]-elections[i])
		}
		sortDurations(elections)
		sortDurations(client)
		fmt.Printf("split: election median %v max %v; client after the election median %v max %v\n",
			elections[len(elections)/2].Round(time.Millisecond), elections[len(elections)-1].Round(time.Millisecond),
			client[len(client)/2].Round(time.Millisecond), client[len(client)-1].Round(time.Millisecond))
	}
	sortDurations(times)
	median, worst := times[len(times)/2], times[len(times)-1]
	fmt.Printf("through pool.Client: median %v, max %v, min %v\n", median.Round(time.Millisecond), worst.Round(time.Millisecond), times[0].Round(time.Millisecond))
	fmt.Printf("RATIO cluster/failover-client.median-ms %.0f <=400 # leader kill -9 -> a pool.Client's Append succeeds, median of %d\n", float64(median)/float64(time.Millisecond), len(times))
	fmt.Printf("RATIO cluster/failover-client.max-ms %.0f <=700 # the same, worst of %d\n", float64(worst)/float64(time.Millisecond), len(times))
	return times, nil
}

func sortDurations(ds []time.Duration) { sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] }) }

// electionWatch polls the survivors' ServerInfo until one reports that it leads.
type electionWatch struct {
	done chan struct{}
	at   chan time.Time
}

func watchElection(cl *procs, victim *proc) *electionWatch {
	w := &electionWatch{done: make(chan struct{}), at: make(chan time.Time, 1)}
	var survivors []*client
	for _, p := range cl.nodes {
		if p == victim {
			continue
		}
		if c, err := dial(p.addr); err == nil {
			survivors = append(survivors, c)
		}
	}
	gone := victim.done
	go func() {
		defer func() {
			for _, c := range survivors {
				c.close()
			}
		}()
		// The old leader reports leading until it is killed; only what comes after counts.
		<-gone
		for {
			for _, c := range survivors {
				p, err := c.call(0, wire.GetServerInfoRequest{}, time.Second)
				if err != nil {
					continue
				}
				for _, cp := range p.(wire.ServerInfoResponse).Capabilities {
					if cp == "role:leader" {
						w.at <- time.Now()
						return
					}
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return w
}

// stop returns how long after start a survivor first reported leading.
func (w *electionWatch) stop(start time.Time) time.Duration {
	select {
	case t := <-w.at:
		return t.Sub(start)
	case <-time.After(5 * time.Second):
		close(w.done)
		return 0
	}
}

// tracer is a slog.Handler keeping the pool's records of one kill, with times from the kill.
type tracer struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func (t *tracer) begin(start time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.start, t.lines = start, nil
	t.mu.Unlock()
}

func (t *tracer) dump() {
	time.Sleep(50 * time.Millisecond) // the pool's observer delivers records on its own goroutine
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.lines {
		fmt.Println("           ", l)
	}
}

func (t *tracer) Enabled(context.Context, slog.Level) bool { return true }
func (t *tracer) WithAttrs([]slog.Attr) slog.Handler       { return t }
func (t *tracer) WithGroup(string) slog.Handler            { return t }
func (t *tracer) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		return nil
	}
	t.lines = append(t.lines, fmt.Sprintf("%+7.1fms %s%s", float64(r.Time.Sub(t.start))/1e6, r.Message, b.String()))
	return nil
}
