package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A peer that stays down makes raft log an error ~20 times a second; for a minute of that the
// adapter writes at most the burst plus one line per refill period, and says how many it held back.
func TestRaftErrorsAboutADeadPeerAreBoundedPerMinute(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	a := l.(*slogAdapter)
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	for i := 0; i < 20*60; i++ {
		l.Error("failed to heartbeat to", "peer", "127.0.0.1:6433", "error", "connection refused")
		l.Named("replication").Error("failed to appendEntries to", "peer", "127.0.0.1:6433")
		now = now.Add(50 * time.Millisecond)
	}
	lines := strings.Count(buf.String(), "\n")
	if max := 2 * (logBurst + int(time.Minute/logRefill)); lines > max {
		t.Fatalf("%d lines in a minute, over %d:\n%s", lines, max, buf.String())
	}
	if !strings.Contains(buf.String(), "suppressed=") {
		t.Fatalf("no suppressed count in:\n%s", buf.String())
	}
	buf.Reset()
	l.Error("failed to heartbeat to", "peer", "127.0.0.1:6434")
	if buf.Len() == 0 {
		t.Fatal("another peer's errors were limited by the first's")
	}
}
