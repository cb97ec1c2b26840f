package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kimberlite/libkimberlite/wire"
)

// Metrics counts what a Server does, for Prometheus: requests by operation and answer code,
// request and append latency, bytes in and out, connections. Make one with NewMetrics, give it
// in Options.Metrics and serve its registry (cmd/kimberlite does, on --metrics-listen). A nil
// *Metrics counts nothing.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	appendDur  prometheus.Histogram
	appendEvts prometheus.Counter
	bytesIn    prometheus.Counter
	bytesOut   prometheus.Counter
	conns      prometheus.Gauge
	accepted   prometheus.Counter
	tlsFailed  *prometheus.CounterVec
}

// latencyBuckets (seconds) cover a local fsync (~100µs) to a slow replicated commit.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// NewMetrics makes the server's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kimberlite_requests_total",
			Help: "Requests answered, by operation and answer code (\"ok\" or the error code)."}, []string{"op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kimberlite_request_duration_seconds",
			Help: "Time from reading a request to writing its answer, by operation.", Buckets: latencyBuckets}, []string{"op"}),
		appendDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kimberlite_append_duration_seconds",
			Help: "Time from reading an AppendEvents to writing its answer (durable, replicated in a cluster).", Buckets: latencyBuckets}),
		appendEvts: prometheus.NewCounter(prometheus.CounterOpts{Name: "kimberlite_appended_events_total",
			Help: "Events acknowledged to AppendEvents requests."}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{Name: "kimberlite_received_bytes_total",
			Help: "Bytes read from client connections."}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "kimberlite_sent_bytes_total",
			Help: "Bytes of answers written to client connections."}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kimberlite_connections",
			Help: "Client connections open now."}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "kimberlite_connections_accepted_total",
			Help: "Client connections served since start."}),
		tlsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kimberlite_tls_handshake_failures_total",
			Help: "Client connections closed because their TLS handshake failed, by reason: \"plaintext\" (no TLS hello), \"timeout\" (none in time) or \"refused\" (a certificate or protocol refused by either side)."},
			[]string{"reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.appendDur, m.appendEvts, m.bytesIn, m.bytesOut, m.conns, m.accepted, m.tlsFailed)
	return m
}

var opNames = map[uint32]string{
	wire.ReqHandshake: "handshake", wire.ReqCreateStream: "create_stream", wire.ReqAppendEvents: "append",
	wire.ReqReadEvents: "read", wire.ReqStreamInfo: "stream_info", wire.ReqSubscribe: "subscribe",
	wire.ReqSync: "sync", wire.ReqSubscribeCredit: "subscribe_credit", wire.ReqUnsubscribe: "unsubscribe",
	wire.ReqGetServerInfo: "server_info",
}

func opName(p wire.RequestPayload) string {
	if p == nil {
		return "unknown"
	}
	if n, ok := opNames[p.RequestIndex()]; ok {
		return n
	}
	return "unknown"
}

// answered counts one answer of op after started, frameBytes long.
func (m *Metrics) answered(op string, started time.Time, resp wire.ResponsePayload, frameBytes int) {
	if m == nil {
		return
	}
	code := "ok"
	if e, ok := resp.(wire.ErrorResponse); ok {
		code = e.Code.String()
	}
	d := time.Since(started).Seconds()
	m.requests.WithLabelValues(op, code).Inc()
	m.duration.WithLabelValues(op).Observe(d)
	if op == "append" && code == "ok" {
		m.appendDur.Observe(d)
		if a, ok := resp.(wire.AppendEventsResponse); ok {
			m.appendEvts.Add(float64(a.Count))
		}
	}
	m.bytesOut.Add(float64(frameBytes))
}

func (m *Metrics) received(n int) {
	if m != nil && n > 0 {
		m.bytesIn.Add(float64(n))
	}
}

func (m *Metrics) connOpened() {
	if m != nil {
		m.conns.Inc()
		m.accepted.Inc()
	}
}

func (m *Metrics) tlsHandshakeFailed(reason string) {
	if m != nil {
		m.tlsFailed.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) connClosed() {
	if m != nil {
		m.conns.Dec()
	}
}
