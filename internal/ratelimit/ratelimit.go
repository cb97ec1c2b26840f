// Package ratelimit bounds repeated log records: a token bucket per key (a kind of record and
// the node or peer it is about) lets through a burst and then one record per refill period,
// and counts what it held back so the next record let through can say so ("suppressed=N").
// The client (pool) and the cluster's raft log adapter both use it.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter is safe for concurrent use. Make one with New.
type Limiter struct {
	burst   float64
	refill  time.Duration
	maxKeys int

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	tokens     float64
	last       time.Time
	suppressed int
}

// New lets through, per key, burst records and then one per refill. maxKeys only guards
// against a leak of keys: past it, every bucket starts again full.
func New(burst int, refill time.Duration, maxKeys int) *Limiter {
	return &Limiter{burst: float64(burst), refill: refill, maxKeys: maxKeys, keys: make(map[string]*bucket)}
}

// Allow reports whether a record with key may go out at now, and how many records of that key
// were held back since the last one let through.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= l.maxKeys {
			clear(l.keys)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.keys[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.refill))
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	s := b.suppressed
	b.suppressed = 0
	return true, s
}
