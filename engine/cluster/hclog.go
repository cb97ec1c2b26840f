package cluster

import (
	"context"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/kimberlite/libkimberlite/internal/ratelimit"
)

// slogAdapter routes raft's hclog output to a slog.Logger. Raft's Trace, Debug and Info
// (state changes, elections) become Debug, so a server at the default level stays quiet;
// Warn and Error keep their level. Records are rate-limited per message and peer (ratelimit.go).
type slogAdapter struct {
	l       *slog.Logger
	name    string
	implied []any
	limit   *ratelimit.Limiter // shared by every logger derived from this one
	now     func() time.Time   // the clock the limiter sees (a test sets it)
}

func newHCLogger(l *slog.Logger) hclog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &slogAdapter{l: l, name: "raft", limit: newLogLimiter(), now: time.Now}
}

func toSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug, hclog.Info:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (a *slogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level == hclog.NoLevel {
		return
	}
	lv := toSlogLevel(level)
	if !a.l.Enabled(context.Background(), lv) {
		return
	}
	ok, suppressed := a.limit.Allow(limitKey(msg, append(append([]any(nil), a.implied...), args...)), a.now())
	if !ok {
		return
	}
	all := make([]any, 0, len(a.implied)+len(args)+4)
	all = append(all, "component", a.name)
	all = append(all, a.implied...)
	all = append(all, args...)
	if suppressed > 0 {
		all = append(all, "suppressed", suppressed)
	}
	a.l.Log(context.Background(), lv, msg, all...)
}

func (a *slogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *slogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *slogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *slogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *slogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *slogAdapter) enabled(l slog.Level) bool { return a.l.Enabled(context.Background(), l) }
func (a *slogAdapter) IsTrace() bool             { return false }
func (a *slogAdapter) IsDebug() bool             { return a.enabled(slog.LevelDebug) }
func (a *slogAdapter) IsInfo() bool              { return a.enabled(slog.LevelDebug) }
func (a *slogAdapter) IsWarn() bool              { return a.enabled(slog.LevelWarn) }
func (a *slogAdapter) IsError() bool             { return a.enabled(slog.LevelError) }
func (a *slogAdapter) ImpliedArgs() []any        { return a.implied }
func (a *slogAdapter) Name() string              { return a.name }

func (a *slogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.implied = append(append([]any(nil), a.implied...), args...)
	return &c
}

func (a *slogAdapter) Named(name string) hclog.Logger {
	c := *a
	c.name = a.name + "." + name
	return &c
}

func (a *slogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

// SetLevel is ignored: the slog handler decides what is logged.
func (a *slogAdapter) SetLevel(hclog.Level) {}

func (a *slogAdapter) GetLevel() hclog.Level {
	switch {
	case a.IsDebug():
		return hclog.Debug
	case a.IsWarn():
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (a *slogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *slogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		a.Info(string(trimNewline(p)))
		return len(p), nil
	})
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
