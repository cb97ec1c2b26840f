package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRaftLogsReachSlogQuietly(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Info("entering follower state", "term", 3)
	l.Debug("chatter")
	if buf.Len() != 0 || l.IsInfo() || l.IsDebug() {
		t.Fatalf("raft info/debug leaked at level info: %q", buf.String())
	}
	l.Named("snapshot").With("id", "x").Warn("slow", "ms", 5)
	l.Error("failed")
	out := buf.String()
	for _, want := range []string{`level=WARN msg=slow component=raft.snapshot id=x ms=5`, `level=ERROR msg=failed component=raft`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
	buf.Reset()
	l = newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Info("entering leader state")
	l.StandardLogger(nil).Print("from the standard logger")
	if out := buf.String(); !strings.Contains(out, "level=DEBUG msg=\"entering leader state\"") || !strings.Contains(out, "from the standard logger") {
		t.Fatalf("at level debug: %q", out)
	}
	if newHCLogger(nil).IsWarn() {
		t.Fatal("a nil logger should discard everything")
	}
}
