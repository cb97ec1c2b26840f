package pool

import (
	"testing"
	"time"
)

// A key logged a thousand times a second for a minute lets through the burst and one record
// per refill period, and the next one says how many were held back.
func TestLogLimiterBoundsAMinute(t *testing.T) {
	l := newLogLimiter()
	start := time.Unix(1000, 0)
	passed, held := 0, 0
	for ms := 0; ms < 60_000; ms++ {
		ok, s := l.allow("dial 10.0.0.9:5432", start.Add(time.Duration(ms)*time.Millisecond))
		if ok {
			passed++
			held += s
		}
	}
	if max := logBurst + int(time.Minute/logRefill); passed > max {
		t.Fatalf("%d records in a minute, over %d", passed, max)
	}
	if passed < logBurst || held == 0 {
		t.Fatalf("passed %d, reported %d suppressed", passed, held)
	}
	if ok, _ := l.allow("dial 10.0.0.8:5432", start); !ok {
		t.Fatal("another node's key was limited by the first")
	}
}
