package cluster

import (
	"fmt"
	"sync"
	"time"
)

// Raft retries a dead peer many times a second and logs an error each time ("failed to
// heartbeat to", "failed to appendEntries to"). logLimiter lets through, per message and peer, a
// burst of logBurst records and then one per logRefill; the next record let through says how
// many were held back ("suppressed=N"). A peer that stays down costs a few lines a minute.
const (
	logBurst  = 3
	logRefill = 30 * time.Second
)

type logLimiter struct {
	mu   sync.Mutex
	keys map[string]*logBucket
	now  func() time.Time
}

type logBucket struct {
	tokens     float64
	last       time.Time
	suppressed int
}

func newLogLimiter() *logLimiter {
	return &logLimiter{keys: make(map[string]*logBucket), now: time.Now}
}

// limitKey is the message and the peer (or server id) a record is about.
func limitKey(msg string, args []any) string {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && (k == "peer" || k == "id" || k == "address" || k == "target") {
			return msg + "|" + fmt.Sprint(args[i+1])
		}
	}
	return msg
}

// allow reports whether the record may be logged, and how many before it were suppressed.
func (l *logLimiter) allow(key string) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		if len(l.keys) > 1024 {
			clear(l.keys)
		}
		b = &logBucket{tokens: logBurst, last: now}
		l.keys[key] = b
	}
	b.tokens = min(float64(logBurst), b.tokens+float64(now.Sub(b.last))/float64(logRefill))
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
