package pool

import (
	"errors"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what the client did and how its nodes are. Counters (*Count) are
// cumulative since Connect; gauges count what is open now. json.Marshal(Stats) gives the stats
// JSON the bindings expose.
type Stats struct {
	Nodes              []NodeStats      `json:"nodes"`
	Leader             string           `json:"leader"` // "" when unknown
	LeaderView         uint64           `json:"leader_view"`
	OperationsCount    map[string]int64 `json:"operations"` // by operation: "append", "read", ...
	ErrorsCount        map[string]int64 `json:"errors"`     // by kind ("connection", ...) or server code ("NotLeader", ...)
	RetriesCount       int64            `json:"retries"`
	RedirectsCount     int64            `json:"redirects"`
	LeaderChangesCount int64            `json:"leader_changes"`
	// Latency of whole calls (retries included), from a fixed histogram: each value is the upper
	// bound of its bucket, within 19% of the truth.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP90 time.Duration `json:"latency_p90_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`
	// Subscriptions open now, and how many times one moved to another connection or node.
	Subscriptions int64 `json:"subscriptions"`
	Resubscribes  int64 `json:"resubscribes"`
}

// NodeStats describes one node the client knows.
type NodeStats struct {
	Address string `json:"address"`
	// Role is "leader", "follower", "unknown" (not yet heard from), or "down": the node failed
	// its last health check or dial, or lost every connection to a failure, and has not answered
	// since. A dead node shows as down within two HealthCheckPeriods at most.
	Role              string `json:"role"`
	Healthy           bool   `json:"healthy"`
	OpenConns         int32  `json:"open_conns"`
	IdleConns         int32  `json:"idle_conns"`
	InFlight          int32  `json:"in_flight"`
	DialsCount        int64  `json:"dials"`
	DialFailuresCount int64  `json:"dial_failures"`
}

// opKind names an operation in Stats.
type opKind int

const (
	opAppend opKind = iota
	opRead
	opCreateStream
	opStreamLength
	opSync
	opPing
	opServerInfo
	opCount
)

var opNames = [opCount]string{"append", "read", "create_stream", "stream_length", "sync", "ping", "server_info"}

// Histogram layout: values in nanoseconds, 4 buckets per power of two.
const (
	histSub     = 4
	histBuckets = 64 * histSub
)

type statsState struct {
	ops           [opCount]atomic.Int64
	retries       atomic.Int64
	redirects     atomic.Int64
	leaderChanges atomic.Int64
	latency       [histBuckets]atomic.Int64
	latencyMax    atomic.Int64
	subscriptions atomic.Int64
	resubscribes  atomic.Int64
	opLatency     [opCount]opHistogram // for the Prometheus exposition (metrics.go)

	errMu  sync.Mutex
	errors map[string]int64
}

func (s *statsState) init() { s.errors = make(map[string]int64) }

func histIndex(ns int64) int {
	if ns < histSub {
		return int(max(ns, 0))
	}
	u := uint64(ns)
	p := bits.Len64(u) - 1                     // u in [2^p, 2^(p+1))
	sub := int(u>>(uint(p)-2)) & (histSub - 1) // next two bits below the top one
	return p*histSub + sub
}

// histUpper is the largest value that falls in bucket i.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	p, sub := i/histSub, i%histSub
	base := uint64(1) << uint(p)
	step := base / histSub
	return int64(base + uint64(sub+1)*step - 1)
}

// record counts one finished call of kind op that took d and ended with err.
func (s *statsState) record(op opKind, d time.Duration, err error) {
	s.ops[op].Add(1)
	s.opLatency[op].observe(d)
	ns := int64(d)
	s.latency[histIndex(ns)].Add(1)
	for {
		m := s.latencyMax.Load()
		if ns <= m || s.latencyMax.CompareAndSwap(m, ns) {
			break
		}
	}
	if err != nil {
		key := errorKey(err)
		s.errMu.Lock()
		s.errors[key]++
		s.errMu.Unlock()
	}
}

var kindKeys = map[Kind]string{
	KindConnection: "connection", KindTimeout: "timeout", KindClosed: "closed",
	KindClusterUnavailable: "cluster_unavailable", KindInvalidArgument: "invalid_argument",
	KindProtocol: "protocol", KindInternal: "internal", KindTLS: "tls",
}

func errorKey(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return "internal"
	}
	if e.Kind == KindServer {
		return e.ServerCode.String()
	}
	if k, ok := kindKeys[e.Kind]; ok {
		return k
	}
	return e.Kind.String()
}

func (s *statsState) percentiles() (p50, p90, p99 time.Duration) {
	var counts [histBuckets]int64
	var total int64
	for i := range counts {
		counts[i] = s.latency[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0, 0, 0
	}
	at := func(q float64) time.Duration {
		want := int64(q*float64(total) + 0.5)
		if want < 1 {
			want = 1
		}
		var seen int64
		for i, n := range counts {
			seen += n
			if seen >= want {
				return time.Duration(min(histUpper(i), s.latencyMax.Load()))
			}
		}
		return time.Duration(s.latencyMax.Load())
	}
	return at(0.50), at(0.90), at(0.99)
}

// Stats returns a snapshot of the client's counters and of every node it knows.
func (c *Client) Stats() Stats {
	st := Stats{
		OperationsCount:    make(map[string]int64, opCount),
		ErrorsCount:        make(map[string]int64),
		RetriesCount:       c.stats.retries.Load(),
		RedirectsCount:     c.stats.redirects.Load(),
		LeaderChangesCount: c.stats.leaderChanges.Load(),
		LatencyMax:         time.Duration(c.stats.latencyMax.Load()),
		Subscriptions:      c.stats.subscriptions.Load(),
		Resubscribes:       c.stats.resubscribes.Load(),
	}
	for i := range opCount {
		st.OperationsCount[opNames[i]] = c.stats.ops[i].Load()
	}
	c.stats.errMu.Lock()
	for k, v := range c.stats.errors {
		st.ErrorsCount[k] = v
	}
	c.stats.errMu.Unlock()
	st.LatencyP50, st.LatencyP90, st.LatencyP99 = c.stats.percentiles()
	leader, view := c.cluster.currentLeader()
	if leader != nil {
		st.Leader = leader.addr
	}
	st.LeaderView = view
	for _, n := range c.cluster.all() {
		open, idle, inf := n.counts()
		role := roleNames[n.role.Load()]
		if n.down.Load() {
			role = "down"
		}
		st.Nodes = append(st.Nodes, NodeStats{
			Address: n.addr, Role: role, Healthy: n.healthy.Load(),
			OpenConns: open, IdleConns: idle, InFlight: inf,
			DialsCount: n.dials.Load(), DialFailuresCount: n.dialFailures.Load(),
		})
	}
	return st
}

func nowNano() int64 { return time.Now().UnixNano() }
