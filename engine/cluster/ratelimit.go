package cluster

import (
	"fmt"
	"time"

	"github.com/kimberlite/libkimberlite/internal/ratelimit"
)

// Raft retries a dead peer many times a second and logs an error each time ("failed to
// heartbeat to", "failed to appendEntries to"). The limiter lets through, per message and peer, a
// burst of logBurst records and then one per logRefill; the next record let through says how
// many were held back ("suppressed=N"). A peer that stays down costs a few lines a minute.
const (
	logBurst  = 3
	logRefill = 30 * time.Second
)

// maxLogKeys bounds the limiter's buckets (messages × peers); it only guards against a leak.
const maxLogKeys = 1024

func newLogLimiter() *ratelimit.Limiter { return ratelimit.New(logBurst, logRefill, maxLogKeys) }

// limitKey is the message and the peer (or server id) a record is about.
func limitKey(msg string, args []any) string {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && (k == "peer" || k == "id" || k == "address" || k == "target") {
			return msg + "|" + fmt.Sprint(args[i+1])
		}
	}
	return msg
}
