package server

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
)

// Defaults for Options fields left at zero.
const (
	DefaultMaxConns         = 1024
	DefaultIdleTimeout      = 300 * time.Second
	DefaultMaxInFlight      = 256
	DefaultMaxInFlightBytes = 64 << 20
	DefaultVersion          = "0.1.0"

	DefaultMaxConnsPerAddr    = 256
	DefaultMaxBufferedBytes   = 256 << 20
	DefaultMaxEventsPerAppend = 100_000
	DefaultHandshakeTimeout   = 10 * time.Second
	DefaultMaxPreAuthFrame    = 64 << 10
	DefaultMaxAuthFailures    = 3
	DefaultAuthFailureDelay   = 100 * time.Millisecond

	DefaultMaxSubscriptionsPerConn = 4096
	DefaultMaxSubscriptions        = 16384
)

// Options configure a Server. The server's configurations (Options here, cluster.Config for a
// replicated node, and the command line) share one convention:
//   - DefaultOptions returns every default spelled out; a field left zero also means its default,
//     so a literal names only what it changes;
//   - a negative duration disables what it bounds (the command line spells that 0);
//   - Validate holds every bound and names the field; nothing else checks values.
type Options struct {
	// Metrics, when not nil, counts requests, latencies, bytes and connections (see Metrics).
	Metrics *Metrics
	// AuthTokens maps each accepted token to the tenant it may act for. Empty: no authentication
	// (local development), every request acts for its own tenant id. Stream ids carry only the
	// low 32 bits of a tenant, so tenants here should be below 2^32: tenants that agree on their
	// low 32 bits share streams.
	AuthTokens map[string]uint64
	// MaxConns is the most connections open at once, server-wide; a connection beyond it is
	// accepted and closed at once. Zero means DefaultMaxConns (1024).
	MaxConns int
	// IdleTimeout closes a connection that sent nothing for this long. Zero means
	// DefaultIdleTimeout (300 s); negative disables it.
	IdleTimeout time.Duration
	// MaxInFlight bounds the requests of one connection that are read but not yet answered;
	// beyond it the server stops reading that connection until answers go out. Zero means
	// DefaultMaxInFlight (256).
	MaxInFlight int
	// MaxInFlightBytes bounds the memory of those requests in the same way: request frame bytes
	// plus what their answers may take (a read counts twice its max_bytes, capped at the frame
	// limit; an append a fixed overhead per event). A single larger request is still served
	// alone. Zero means DefaultMaxInFlightBytes (64 MiB).
	MaxInFlightBytes int
	// MaxBufferedBytes bounds the same memory across all connections; a connection that has
	// nothing in flight is still served one request. Zero means DefaultMaxBufferedBytes (256 MiB).
	MaxBufferedBytes int
	// MaxConnsPerAddr is the most connections open at once from one client IP address, so one
	// address cannot take every slot of MaxConns. Zero means DefaultMaxConnsPerAddr (256).
	MaxConnsPerAddr int
	// MaxEventsPerAppend bounds the events of one AppendEvents request, checked while decoding
	// before any event is allocated; beyond it the request gets InvalidRequest and the
	// connection stays up. Zero means DefaultMaxEventsPerAppend (100,000).
	MaxEventsPerAppend int
	// HandshakeTimeout closes a connection that has not authenticated this long after it was
	// accepted (without AuthTokens: that has not sent a first complete request). Zero means
	// DefaultHandshakeTimeout (10 s); negative disables it.
	HandshakeTimeout time.Duration
	// MaxPreAuthFrame is the largest frame payload accepted from a connection that has not
	// authenticated yet (only with AuthTokens); a larger announced frame closes the connection
	// before its payload is read. Zero means DefaultMaxPreAuthFrame (64 KiB).
	MaxPreAuthFrame int
	// MaxAuthFailures closes a connection after this many failed handshakes. Zero means
	// DefaultMaxAuthFailures (3).
	MaxAuthFailures int
	// AuthFailureDelay holds back the answer to each failed handshake, so tokens cannot be
	// guessed at speed. Zero means DefaultAuthFailureDelay (100 ms); negative disables it.
	AuthFailureDelay time.Duration
	// MaxSubscriptionsPerConn is the most subscriptions open at once on one connection; a
	// Subscribe beyond it gets RateLimited. Zero means DefaultMaxSubscriptionsPerConn (4096).
	MaxSubscriptionsPerConn int
	// MaxSubscriptions is the same bound across all connections. Zero means
	// DefaultMaxSubscriptions (16384).
	MaxSubscriptions int
	// Logger receives the server's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Version is the build version ServerInfo reports. Empty means DefaultVersion ("0.1.0").
	Version string
	// IdempotencyWindow is how long and how many keys per stream appends with an idempotency
	// key are remembered (a repeat within it gets the original answer and appends nothing).
	// Zero fields mean engine.DefaultWindow's (10 minutes, 100,000 keys).
	IdempotencyWindow engine.IdempotencyWindow
	// WithoutIdempotentAppend serves appends as Kimberlite 0.8 does: idempotency keys are
	// ignored and the capability is not announced. It exists to test clients against servers
	// that predate the feature.
	WithoutIdempotentAppend bool
}

// DefaultOptions returns Options with every field at its default (Logger nil: slog.Default()).
func DefaultOptions() Options {
	return Options{}.withDefaults()
}

// OptionError is a value Validate refuses: the field and why. The command line names its flag.
type OptionError struct {
	Field string // the Options field, e.g. "MaxConns"
	Msg   string // what is wrong, e.g. "must be from 1 to 1048576, got 0"
}

func (e *OptionError) Error() string { return e.Field + " " + e.Msg }

// Upper bounds: past them a value is a mistake, and taken literally it would let one client or
// one request take the machine.
const (
	maxCount = 1 << 20  // connections, requests in flight, auth failures
	maxBytes = 1 << 40  // memory budgets
	maxFrame = 16 << 20 // the protocol's frame limit
)

// Validate checks every field (zero fields count as their defaults). Its error is an
// *OptionError naming the field and the bound.
func (o Options) Validate() error {
	d := o.withDefaults()
	ints := []struct {
		field   string
		v, a, b int
	}{
		{"MaxConns", d.MaxConns, 1, maxCount},
		{"MaxInFlight", d.MaxInFlight, 1, maxCount},
		{"MaxInFlightBytes", d.MaxInFlightBytes, 1, maxBytes},
		{"MaxBufferedBytes", d.MaxBufferedBytes, 1, maxBytes},
		{"MaxConnsPerAddr", d.MaxConnsPerAddr, 1, maxCount},
		{"MaxEventsPerAppend", d.MaxEventsPerAppend, 1, maxFrame},
		{"MaxPreAuthFrame", d.MaxPreAuthFrame, 1, maxFrame},
		{"MaxAuthFailures", d.MaxAuthFailures, 1, maxCount},
		{"MaxSubscriptionsPerConn", d.MaxSubscriptionsPerConn, 1, maxCount},
		{"MaxSubscriptions", d.MaxSubscriptions, 1, maxCount},
	}
	for _, c := range ints {
		if c.v < c.a || c.v > c.b {
			return &OptionError{c.field, fmt.Sprintf("must be from %d to %d, got %d", c.a, c.b, c.v)}
		}
	}
	if d.IdempotencyWindow.Age < time.Second {
		return &OptionError{"IdempotencyWindow.Age", fmt.Sprintf("must be at least 1s, got %v", d.IdempotencyWindow.Age)}
	}
	for tok, tenant := range d.AuthTokens {
		if tok == "" {
			return &OptionError{"AuthTokens", "has an empty token"}
		}
		if tenant > math.MaxUint32 {
			return &OptionError{"AuthTokens", fmt.Sprintf("tenant %d is over 4294967295 (stream ids carry 32 bits of tenant)", tenant)}
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxInFlightBytes == 0 {
		o.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if o.MaxConnsPerAddr == 0 {
		o.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if o.MaxEventsPerAppend == 0 {
		o.MaxEventsPerAppend = DefaultMaxEventsPerAppend
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.MaxPreAuthFrame == 0 {
		o.MaxPreAuthFrame = DefaultMaxPreAuthFrame
	}
	if o.MaxAuthFailures == 0 {
		o.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if o.AuthFailureDelay == 0 {
		o.AuthFailureDelay = DefaultAuthFailureDelay
	}
	if o.MaxSubscriptionsPerConn == 0 {
		o.MaxSubscriptionsPerConn = DefaultMaxSubscriptionsPerConn
	}
	if o.MaxSubscriptions == 0 {
		o.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.IdempotencyWindow.Age == 0 {
		o.IdempotencyWindow.Age = engine.DefaultWindow.Age
	}
	if o.IdempotencyWindow.Keys == 0 {
		o.IdempotencyWindow.Keys = engine.DefaultWindow.Keys
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	tokens := make(map[string]uint64, len(o.AuthTokens))
	for k, v := range o.AuthTokens {
		tokens[k] = v
	}
	o.AuthTokens = tokens
	return o
}
