package pool

import (
	"bytes"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Collector exposes a Client's Stats and per-operation latency histograms to Prometheus. Register
// it with any registry; every scrape takes a fresh snapshot, without network traffic:
//
//	prometheus.MustRegister(pool.NewCollector(client))
//	http.Handle("/metrics", promhttp.Handler())
type Collector struct {
	c *Client
}

// NewCollector returns a Collector of c's metrics. Metric names start with "kimberlite_client_".
func NewCollector(c *Client) *Collector { return &Collector{c: c} }

var (
	descOps         = prometheus.NewDesc("kimberlite_client_operations_total", "Calls finished, by operation.", []string{"op"}, nil)
	descErrors      = prometheus.NewDesc("kimberlite_client_errors_total", "Calls failed, by error kind or server code.", []string{"kind"}, nil)
	descRetries     = prometheus.NewDesc("kimberlite_client_retries_total", "Attempts made after a failed one.", nil, nil)
	descRedirects   = prometheus.NewDesc("kimberlite_client_redirects_total", "NotLeader answers followed to another node.", nil, nil)
	descLeaderChg   = prometheus.NewDesc("kimberlite_client_leader_changes_total", "Times another node was found to lead.", nil, nil)
	descLeaderView  = prometheus.NewDesc("kimberlite_client_leader_view", "View (raft term) of the leader the client follows.", nil, nil)
	descLeaderKnown = prometheus.NewDesc("kimberlite_client_leader_known", "1 when the client knows a leader, 0 otherwise.", nil, nil)
	descDropped     = prometheus.NewDesc("kimberlite_client_observer_dropped_total", "Log records and events dropped because their handler fell behind.", nil, nil)
	descLatency     = prometheus.NewDesc("kimberlite_client_operation_duration_seconds", "Duration of whole calls (retries included), by operation.", []string{"op"}, nil)
	descNodeUp      = prometheus.NewDesc("kimberlite_client_node_up", "1 when the node answered its last check, 0 when it is down or unknown.", []string{"node"}, nil)
	descNodeRole    = prometheus.NewDesc("kimberlite_client_node_role", "1 for the node's role as the client sees it (leader, follower, unknown, down).", []string{"node", "role"}, nil)
	descConnsOpen   = prometheus.NewDesc("kimberlite_client_connections_open", "Open connections to the node.", []string{"node"}, nil)
	descConnsIdle   = prometheus.NewDesc("kimberlite_client_connections_idle", "Open connections to the node with no call in flight.", []string{"node"}, nil)
	descInFlight    = prometheus.NewDesc("kimberlite_client_in_flight", "Calls in flight to the node.", []string{"node"}, nil)
	descDials       = prometheus.NewDesc("kimberlite_client_dials_total", "Dials started to the node.", []string{"node"}, nil)
	descDialFails   = prometheus.NewDesc("kimberlite_client_dial_failures_total", "Dials or handshakes to the node that failed.", []string{"node"}, nil)
)

var allDescs = []*prometheus.Desc{descOps, descErrors, descRetries, descRedirects, descLeaderChg, descLeaderView,
	descLeaderKnown, descDropped, descLatency, descNodeUp, descNodeRole, descConnsOpen, descConnsIdle, descInFlight,
	descDials, descDialFails}

// Describe implements prometheus.Collector.
func (k *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (k *Collector) Collect(ch chan<- prometheus.Metric) {
	c := k.c
	st := c.Stats()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for i := range opCount {
		counter(descOps, float64(st.OperationsCount[opNames[i]]), opNames[i])
		cum, n, sum := c.stats.opLatency[i].snapshot()
		ch <- prometheus.MustNewConstHistogram(descLatency, n, sum, cum, opNames[i])
	}
	for kind, v := range st.ErrorsCount {
		counter(descErrors, float64(v), kind)
	}
	counter(descRetries, float64(st.RetriesCount))
	counter(descRedirects, float64(st.RedirectsCount))
	counter(descLeaderChg, float64(st.LeaderChangesCount))
	gauge(descLeaderView, float64(st.LeaderView))
	known := 0.0
	if st.Leader != "" {
		known = 1
	}
	gauge(descLeaderKnown, known)
	dropped := int64(0)
	if c.obs != nil {
		dropped = c.obs.dropped.Load()
	}
	counter(descDropped, float64(dropped))
	for _, n := range st.Nodes {
		up := 0.0
		if n.Healthy && n.Role != "down" {
			up = 1
		}
		gauge(descNodeUp, up, n.Address)
		gauge(descNodeRole, 1, n.Address, n.Role)
		gauge(descConnsOpen, float64(n.OpenConns), n.Address)
		gauge(descConnsIdle, float64(n.IdleConns), n.Address)
		gauge(descInFlight, float64(n.InFlight), n.Address)
		counter(descDials, float64(n.DialsCount), n.Address)
		counter(descDialFails, float64(n.DialFailuresCount), n.Address)
	}
}

// MetricsText returns c's metrics in the Prometheus text exposition format (version 0.0.4),
// the same as a registry holding NewCollector(c) serves.
func (c *Client) MetricsText() (string, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewCollector(c)); err != nil {
		return "", err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
