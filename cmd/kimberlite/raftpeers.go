package main

import (
	"slices"
	"sync"
	"time"

	gometrics "github.com/armon/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// hashicorp/raft keeps each follower's replication state private, but reports every successful
// AppendEntries and heartbeat RPC to a peer (with the entries sent) through go-metrics. peerSink
// is the process's go-metrics sink: on the leader it gives, per peer, the time since the peer
// last acknowledged replication (its replication lag in time: it grows from the moment a peer
// stops answering) and the entries sent to it.
type peerSink struct {
	mu   sync.Mutex
	last map[string]time.Time
	sent map[string]float64
}

var raftPeers = &peerSink{last: map[string]time.Time{}, sent: map[string]float64{}}

// installPeerSink makes raftPeers the process's go-metrics sink (raft uses the global one).
func installPeerSink() {
	cfg := gometrics.DefaultConfig("kimberlite")
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false
	cfg.EnableServiceLabel = false
	_, _ = gometrics.NewGlobal(cfg, raftPeers)
}

func hasSuffix(key []string, suffix ...string) bool {
	return len(key) >= len(suffix) && slices.Equal(key[len(key)-len(suffix):], suffix)
}

func peerOf(labels []gometrics.Label) string {
	for _, l := range labels {
		if l.Name == "peer_id" {
			return l.Value
		}
	}
	return ""
}

func (s *peerSink) AddSampleWithLabels(key []string, _ float32, labels []gometrics.Label) {
	if !hasSuffix(key, "replication", "heartbeat") && !hasSuffix(key, "replication", "appendEntries", "rpc") {
		return
	}
	if p := peerOf(labels); p != "" {
		s.mu.Lock()
		s.last[p] = time.Now()
		s.mu.Unlock()
	}
}

func (s *peerSink) IncrCounterWithLabels(key []string, val float32, labels []gometrics.Label) {
	if !hasSuffix(key, "replication", "appendEntries", "logs") {
		return
	}
	if p := peerOf(labels); p != "" {
		s.mu.Lock()
		s.sent[p] += float64(val)
		s.mu.Unlock()
	}
}

func (s *peerSink) SetGauge([]string, float32)                              {}
func (s *peerSink) SetGaugeWithLabels([]string, float32, []gometrics.Label) {}
func (s *peerSink) EmitKey([]string, float32)                               {}
func (s *peerSink) IncrCounter([]string, float32)                           {}
func (s *peerSink) AddSample([]string, float32)                             {}

var (
	descPeerContact = prometheus.NewDesc("kimberlite_raft_peer_last_contact_seconds",
		"On the leader: time since each peer last acknowledged replication (its lag in time).", []string{"peer"}, nil)
	descPeerSent = prometheus.NewDesc("kimberlite_raft_peer_sent_entries_total",
		"On the leader: log entries sent to each peer since this process started.", []string{"peer"}, nil)
)

// collect reports the peers of the current leadership (self excluded) when leading.
func (s *peerSink) collect(ch chan<- prometheus.Metric, self string, leading bool) {
	if !leading {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for p, t := range s.last {
		if p == self {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descPeerContact, prometheus.GaugeValue, now.Sub(t).Seconds(), p)
		ch <- prometheus.MustNewConstMetric(descPeerSent, prometheus.CounterValue, s.sent[p], p)
	}
}
