package pool

import (
	"testing"
	"time"
)

// BenchmarkStatsRecord is what a successful call pays for its stats and its per-operation
// latency histogram (the Prometheus exposition): one record per call, from many goroutines.
//
//	go test -run XXX -bench StatsRecord -benchmem ./pool/
func BenchmarkStatsRecord(b *testing.B) {
	var s statsState
	s.init()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 37 * time.Microsecond
		for pb.Next() {
			s.record(opRead, d, nil)
			d += time.Nanosecond
		}
	})
}
