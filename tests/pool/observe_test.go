package pool_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// recorder is a slog.Handler and an OnEvent callback that keep what they are given.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
	events  []pool.ClusterEvent
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }
func (r *recorder) onEvent(ev pool.ClusterEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// attr returns the string value of key in rec.
func attr(rec slog.Record, key string) string {
	v := ""
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func (r *recorder) hasRecord(msg, key, val string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.Message == msg && attr(rec, key) == val {
			return true
		}
	}
	return false
}

func (r *recorder) hasEvent(kind pool.EventKind, node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Kind == kind && ev.Node == node {
			return true
		}
	}
	return false
}

func (r *recorder) count(msg, key, val string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := 0
	for _, rec := range r.records {
		if rec.Message == msg && attr(rec, key) == val {
			k++
		}
	}
	return k
}

// A leader killed under load: the client logs "leader changed" naming the new leader and emits
// EventLeaderChanged with its address; the dead node is reported down in Stats (within two
// health-check periods: its connections break at once); and while it stays down the client's
// dial failures for it stay within the rate limit.
func TestObserveLeaderKill(t *testing.T) {
	cl := testserver.StartCluster(t, 3)
	leader := cl.WaitLeader(20 * time.Second)
	rec := &recorder{}
	cfg := testConfig(cl.Addrs()...)
	cfg.HealthCheckPeriod = time.Second
	cfg.Logger = slog.New(rec)
	cfg.OnEvent = rec.onEvent
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 90*time.Second)
	id, err := c.CreateStream(ctx, "observe", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var acked atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				if _, err := c.Append(cctx, id, [][]byte{fmt.Appendf(nil, "w%d-%d", w, i)}, pool.AppendOptions{}); err == nil {
					acked.Add(1)
				}
				cancel()
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	pooltest.WaitFor(t, 30*time.Second, "appends before the kill", func() bool { return acked.Load() >= 50 })
	dead := cl.Nodes[leader].Addr
	cl.Kill(leader)
	killed := time.Now()
	pooltest.WaitFor(t, 2*cfg.HealthCheckPeriod, "the dead leader shown as down", func() bool {
		n, ok := nodeStats(c, dead)
		return ok && n.Role == "down" && !n.Healthy
	})
	pooltest.WaitFor(t, 60*time.Second, "a new leader", func() bool {
		l := c.Stats().Leader
		return l != "" && l != dead
	})
	newLeader := c.Stats().Leader
	pooltest.WaitFor(t, 10*time.Second, "the leader-changed record and event", func() bool {
		return rec.hasRecord("kimberlite: leader changed", "leader", newLeader) &&
			rec.hasEvent(pool.EventLeaderChanged, newLeader) && rec.hasEvent(pool.EventNodeDown, dead)
	})
	if !rec.hasRecord("kimberlite: leader changed", "previous", dead) {
		t.Errorf("no leader-changed record names %s as the previous leader", dead)
	}
	before := acked.Load()
	pooltest.WaitFor(t, 60*time.Second, "appends on the new leader", func() bool { return acked.Load() >= before+50 })

	// The dead node is dialled about once a second; its records stay within the limiter's bound.
	elapsed := time.Since(killed)
	bound := 5 + int(elapsed/(10*time.Second)) + 1
	for _, msg := range []string{"kimberlite: dial failed", "kimberlite: node down", "kimberlite: health check"} {
		if k := rec.count(msg, "node", dead); k > bound {
			t.Errorf("%d %q records for the dead node in %v, over the bound %d", k, msg, elapsed, bound)
		}
	}
	if n, _ := nodeStats(c, dead); n.Role != "down" {
		t.Errorf("dead node's role is %q after %v", n.Role, elapsed)
	}
}

// A follower killed while idle is reported down within two health-check periods.
func TestObserveFollowerDown(t *testing.T) {
	cl := testserver.StartCluster(t, 3)
	leader := cl.WaitLeader(20 * time.Second)
	cfg := testConfig(cl.Addrs()...)
	cfg.HealthCheckPeriod = time.Second
	c := connect(t, cfg)
	f := (leader + 1) % 3
	pooltest.WaitFor(t, 10*time.Second, "the follower known", func() bool {
		n, ok := nodeStats(c, cl.Nodes[f].Addr)
		return ok && n.Role == "follower" && n.Healthy
	})
	cl.Kill(f)
	pooltest.WaitFor(t, 2*cfg.HealthCheckPeriod, "the dead follower shown as down", func() bool {
		n, _ := nodeStats(c, cl.Nodes[f].Addr)
		return n.Role == "down"
	})
	for _, n := range c.Stats().Nodes {
		if n.Address != cl.Nodes[f].Addr && strings.Contains(n.Role, "down") {
			t.Errorf("live node %s reported down", n.Address)
		}
	}
}

// The client's Prometheus text parses with the Prometheus parser, holds the counters Stats has
// and a latency histogram per operation whose count is the operation's count.
func TestClientMetricsTextParses(t *testing.T) {
	srv := testserver.StartServer(t)
	c := connect(t, testConfig(srv.Addr))
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "metrics", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		if _, err := c.Append(ctx, id, [][]byte{fmt.Appendf(nil, "m-%d", i)}, pool.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	text, err := c.MetricsText()
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	h := fams["kimberlite_client_operation_duration_seconds"]
	if h == nil || h.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("no latency histogram in\n%s", text)
	}
	found := false
	for _, m := range h.Metric {
		for _, l := range m.Label {
			if l.GetName() == "op" && l.GetValue() == "append" {
				found = true
				if got := m.GetHistogram().GetSampleCount(); got != 7 {
					t.Errorf("append histogram counts %d calls, want 7", got)
				}
			}
		}
	}
	if !found {
		t.Errorf("no append histogram in\n%s", text)
	}
	for _, name := range []string{"kimberlite_client_operations_total", "kimberlite_client_node_up", "kimberlite_client_leader_view", "kimberlite_client_node_role"} {
		if fams[name] == nil {
			t.Errorf("%s missing from\n%s", name, text)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(pool.NewCollector(c)); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
}
