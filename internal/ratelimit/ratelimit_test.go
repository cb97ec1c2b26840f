package ratelimit

import (
	"testing"
	"time"
)

// A key seen a thousand times a second for a minute lets through the burst and one record per
// refill period, the next one says how many were held back, and other keys are not affected.
func TestLimiterBoundsAMinute(t *testing.T) {
	const burst, refill = 5, 10 * time.Second
	l := New(burst, refill, 16)
	start := time.Unix(1000, 0)
	passed, held := 0, 0
	for ms := 0; ms < 60_000; ms++ {
		ok, s := l.Allow("dial 10.0.0.9:5432", start.Add(time.Duration(ms)*time.Millisecond))
		if ok {
			passed++
			held += s
		}
	}
	if max := burst + int(time.Minute/refill); passed > max {
		t.Fatalf("%d records in a minute, over %d", passed, max)
	}
	if passed < burst || held == 0 {
		t.Fatalf("passed %d, reported %d suppressed", passed, held)
	}
	if ok, _ := l.Allow("dial 10.0.0.8:5432", start); !ok {
		t.Fatal("another key was limited by the first")
	}
}

// Past maxKeys the buckets start again: memory stays bounded however many keys come.
func TestLimiterKeysAreBounded(t *testing.T) {
	l := New(1, time.Hour, 4)
	now := time.Unix(1000, 0)
	for i := 0; i < 100; i++ {
		l.Allow(string(rune('a'+i%26))+string(rune('a'+i/26)), now)
	}
	if n := len(l.keys); n > 4 {
		t.Fatalf("%d buckets kept, over the bound of 4", n)
	}
}
