package pool

import (
	"sync/atomic"
	"time"
)

// opHistogramBounds are the upper bounds, in seconds, of the per-operation latency histograms
// the Prometheus exposition reports (kimberlite_client_operation_duration_seconds).
var opHistogramBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// opHistogram counts the latencies of one operation in opHistogramBounds (non-cumulative; the
// last bucket is +Inf) and their sum.
type opHistogram struct {
	buckets [16]atomic.Int64
	sumNs   atomic.Int64
}

func (h *opHistogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(opHistogramBounds) && s > opHistogramBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNs.Add(int64(d))
}

// snapshot returns the cumulative bucket counts by upper bound, the count and the sum in seconds.
func (h *opHistogram) snapshot() (cum map[float64]uint64, count uint64, sum float64) {
	cum = make(map[float64]uint64, len(opHistogramBounds))
	for i, b := range opHistogramBounds {
		count += uint64(h.buckets[i].Load())
		cum[b] = count
	}
	count += uint64(h.buckets[len(opHistogramBounds)].Load())
	return cum, count, time.Duration(h.sumNs.Load()).Seconds()
}
