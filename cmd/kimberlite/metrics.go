package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/cluster"
	"github.com/kimberlite/libkimberlite/engine/server"
)

// metricsFlags is `kimberlite server --metrics-listen HOST:PORT`: an HTTP listener serving
//
//	/metrics  Prometheus text: requests by op and code, request, append, commit and fsync
//	          latency histograms, bytes in and out, connections, raft role, term, log, commit and
//	          applied index, time since the leader was heard from, Go runtime and process
//	/healthz  200 "ok" while the process runs
//	/readyz   200 "ready" when the node can serve (a leader is known and this node has applied
//	          what it knows committed), else 503 with the reason
type metricsFlags struct{ listen string }

func registerMetricsFlags(fs *flag.FlagSet) *metricsFlags {
	m := &metricsFlags{}
	fs.StringVar(&m.listen, "metrics-listen", "", "serve /metrics, /healthz and /readyz over HTTP on `HOST:PORT` (port 0 picks a free port; empty: off)")
	return m
}

// statusBackend is a backend that knows the cluster (cluster.Node).
type statusBackend interface {
	Status() cluster.Status
	Ready() error
	ObserveCommits(engine.CommitObserver)
}

// metricsEndpoint is a running --metrics-listen server.
type metricsEndpoint struct {
	srv  *http.Server
	addr string
}

// start listens on m.listen and registers the backend's metrics; it returns the server's
// Metrics (nil when the flag is empty).
func (m *metricsFlags) start(backend server.Backend, log *slog.Logger) (*server.Metrics, *metricsEndpoint, error) {
	if m.listen == "" {
		return nil, nil, nil
	}
	l, err := net.Listen("tcp", m.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-listen %s: %w", m.listen, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sm := server.NewMetrics(reg)
	commit := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kimberlite_commit_duration_seconds",
		Help: "Time to apply and commit one write transaction of the database (a group of writes).", Buckets: commitBuckets})
	fsync := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kimberlite_fsync_duration_seconds",
		Help: "Time the database's commit (its fsync) took, per write transaction.", Buckets: commitBuckets})
	ops := prometheus.NewCounter(prometheus.CounterOpts{Name: "kimberlite_committed_ops_total",
		Help: "Writes (appends, stream creations) committed to the database."})
	reg.MustRegister(commit, fsync, ops)
	observe := func(n int, apply, sync time.Duration) {
		commit.Observe((apply + sync).Seconds())
		fsync.Observe(sync.Seconds())
		ops.Add(float64(n))
	}
	ready := func() error { return nil }
	switch b := backend.(type) {
	case statusBackend:
		installPeerSink()
		b.ObserveCommits(observe)
		reg.MustRegister(&raftCollector{b: b})
		ready = b.Ready
	case *engine.DB:
		b.ObserveCommits(observe)
		reg.MustRegister(&raftCollector{})
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	e := &metricsEndpoint{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, addr: l.Addr().String()}
	go func() {
		if err := e.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "addr", e.addr, "err", err)
		}
	}()
	return sm, e, nil
}

func (e *metricsEndpoint) close() {
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
}

var commitBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// raftCollector reports the node's role, term and indexes at every scrape. b nil: a standalone
// server (role "standalone", always its own leader).
type raftCollector struct{ b statusBackend }

var (
	descNodeInfo = prometheus.NewDesc("kimberlite_node_info", "1, labelled with this node's id, role and the leader it knows.",
		[]string{"id", "role", "leader_id", "leader_addr"}, nil)
	descRaftState = prometheus.NewDesc("kimberlite_raft_state", "1 for this node's raft role.", []string{"state"}, nil)
	descTerm      = prometheus.NewDesc("kimberlite_raft_term", "Current raft term.", nil, nil)
	descLastLog   = prometheus.NewDesc("kimberlite_raft_last_log_index", "Last entry in this node's raft log.", nil, nil)
	descCommit    = prometheus.NewDesc("kimberlite_raft_commit_index", "Last entry this node knows committed.", nil, nil)
	descApplied   = prometheus.NewDesc("kimberlite_raft_applied_index", "Last entry applied to this node's database.", nil, nil)
	descApplyLag  = prometheus.NewDesc("kimberlite_raft_apply_lag_entries", "Committed entries not yet applied here (commit index - applied index).", nil, nil)
	descContact   = prometheus.NewDesc("kimberlite_raft_last_contact_seconds", "A follower's time since it last heard from the leader (0 on the leader).", nil, nil)
	descLeader    = prometheus.NewDesc("kimberlite_raft_leader_known", "1 when this node knows a leader.", nil, nil)
	descPeers     = prometheus.NewDesc("kimberlite_raft_peers", "Members of the cluster configuration, this node included.", nil, nil)
)

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNodeInfo, descRaftState, descTerm, descLastLog, descCommit, descApplied, descApplyLag, descContact, descLeader, descPeers, descPeerContact, descPeerSent} {
		ch <- d
	}
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.b == nil {
		g(descNodeInfo, 1, "", "standalone", "", "")
		g(descLeader, 1)
		g(descPeers, 1)
		return
	}
	s := c.b.Status()
	g(descNodeInfo, 1, s.ID, s.Role, s.LeaderID, s.LeaderAddr)
	for _, r := range []string{"leader", "follower", "candidate", "shutdown"} {
		v := 0.0
		if r == s.Role {
			v = 1
		}
		g(descRaftState, v, r)
	}
	g(descTerm, float64(s.Term))
	g(descLastLog, float64(s.LastLogIndex))
	g(descCommit, float64(s.CommitIndex))
	g(descApplied, float64(s.AppliedIndex))
	lag := 0.0
	if s.CommitIndex > s.AppliedIndex {
		lag = float64(s.CommitIndex - s.AppliedIndex)
	}
	g(descApplyLag, lag)
	g(descContact, s.LastContact.Seconds())
	known := 0.0
	if s.LeaderID != "" {
		known = 1
	}
	g(descLeader, known)
	g(descPeers, float64(s.Peers))
	raftPeers.collect(ch, s.ID, s.Role == "leader")
}

// devMetricsAddrs picks a free --metrics-listen port for each dev node, from port+2000 up,
// avoiding the client and raft ports.
func devMetricsAddrs(count, port int, host string, clientPorts map[int]bool, raftAddrs []string) ([]string, error) {
	taken := map[string]bool{}
	for _, a := range raftAddrs {
		taken[a] = true
	}
	out := make([]string, count)
	next := port + 2000
	for i := range out {
		for ; ; next++ {
			if next > 65535 {
				return nil, fmt.Errorf("no free metrics port from %d up", port+2000)
			}
			a := net.JoinHostPort(host, fmt.Sprint(next))
			if !clientPorts[next] && !taken[a] && portFree(host, next) {
				out[i] = a
				break
			}
		}
		next++
	}
	return out, nil
}
