package pool

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// ReadPreference says which nodes serve reads.
type ReadPreference int

const (
	// ReadLeader sends reads to the leader: linearizable, the default.
	ReadLeader ReadPreference = iota
	// ReadAnyHealthy spreads reads over every healthy node; a follower may lag behind the leader.
	ReadAnyHealthy
)

// Defaults, in one place. Config fields document their meaning; these are their values in
// DefaultConfig.
var (
	defaultConnectTimeout        = 5 * time.Second
	defaultRequestTimeout        = 30 * time.Second
	defaultMinIdleConnsPerNode   = 1
	defaultMaxConnsPerNode       = 4
	defaultMaxInFlightPerConn    = 256
	defaultMaxConnLifetime       = time.Hour
	defaultMaxConnLifetimeJitter = 5 * time.Minute
	defaultMaxConnIdleTime       = 5 * time.Minute
	defaultHealthCheckPeriod     = 2 * time.Second
	defaultKeepAlive             = 15 * time.Second
	defaultMaxDialsPerNode       = 2
	defaultRetryMaxAttempts      = 8
	defaultRetryInitialBackoff   = 20 * time.Millisecond
	defaultRetryMaxBackoff       = time.Second
	defaultRetryBudgetRatio      = 0.2
	defaultRetryBudgetMinPerSec  = 10
	defaultMaxRedirects          = 3
	defaultAppendBatchEvents     = 1024
	defaultAppendBatchBytes      = 4 << 20
	defaultReadMaxBytes          = 1 << 20
)

// Config configures a Client. Make it with DefaultConfig and change what you need; Connect
// validates it and keeps a private copy, so the caller may reuse or change it afterwards.
type Config struct {
	// Addresses is the seed list of "host:port" client addresses. At least one. The client
	// connects to any that answers and discovers the leader from there; a leader outside this
	// list is still used. Default: none.
	Addresses []string
	// TenantID is the tenant every request is made for. Default 0.
	TenantID uint64
	// AuthToken is sent in the handshake of every connection when not empty. Default "".
	AuthToken string

	// ConnectTimeout bounds one dial plus handshake. Default 5s; must be > 0.
	ConnectTimeout time.Duration
	// RequestTimeout is the deadline of a whole call (acquire, redirects, retries) when the
	// caller's context has none. Default 30s; must be > 0.
	RequestTimeout time.Duration

	// MinIdleConnsPerNode connections are kept open to each node in use, even when idle.
	// Default 1; 0 keeps none; must be <= MaxConnsPerNode.
	MinIdleConnsPerNode int
	// MaxConnsPerNode caps open connections per node. Default 4; 1 to 1024.
	MaxConnsPerNode int
	// MaxInFlightPerConn caps requests in flight on one connection; past it the pool opens
	// another connection or waits. Default 256; 1 to 65536.
	MaxInFlightPerConn int
	// MaxConnLifetime closes a connection (once idle) after this age, plus a random jitter up
	// to MaxConnLifetimeJitter so connections do not all expire at once. Default 1h, jitter 5m;
	// 0 means no limit.
	MaxConnLifetime       time.Duration
	MaxConnLifetimeJitter time.Duration
	// MaxConnIdleTime closes a connection idle this long (above MinIdleConnsPerNode).
	// Default 5m; 0 means never.
	MaxConnIdleTime time.Duration
	// HealthCheckPeriod is how often each node is pinged in the background, idle connections
	// checked and the leader confirmed. Default 2s; 0 disables background checks.
	HealthCheckPeriod time.Duration
	// KeepAlive is the TCP keep-alive period of every socket. Default 15s; 0 uses the OS default;
	// negative disables keep-alive.
	KeepAlive time.Duration
	// MaxDialsPerNode caps concurrent dials to one node, so a reconnect storm cannot form.
	// Default 2; 1 to 1024.
	MaxDialsPerNode int

	// RetryMaxAttempts is the most attempts one call makes (the first included). Default 8;
	// 1 disables retries; 1 to 1000.
	RetryMaxAttempts int
	// RetryInitialBackoff and RetryMaxBackoff bound the exponential backoff between attempts,
	// with full jitter. Defaults 20ms and 1s; 0 < initial <= max.
	RetryInitialBackoff time.Duration
	RetryMaxBackoff     time.Duration
	// RetryBudgetRatio caps retries at this share of recent calls (plus RetryBudgetMinPerSec),
	// so an outage cannot multiply the load. Default 0.2; 0 <= ratio <= 10.
	RetryBudgetRatio float64
	// RetryBudgetMinPerSec retries per second are always allowed. Default 10; 0 to 1000000.
	RetryBudgetMinPerSec int
	// MaxRedirects is how many NotLeader hints one attempt follows. Default 3; 0 to 1000.
	MaxRedirects int

	// ReadFrom says where reads go. Default ReadLeader.
	ReadFrom ReadPreference

	// AppendBatchMaxEvents and AppendBatchMaxBytes bound one coalesced AppendEvents request
	// built from concurrent appends to the same stream. Defaults 1024 events (at most
	// MaxAppendEvents) and 4 MiB (at most the 16 MiB frame).
	AppendBatchMaxEvents int
	AppendBatchMaxBytes  int

	// TLS, for Go callers: connections use this crypto/tls configuration (a copy) when it is
	// not nil. Its ServerName, when empty, is the host of each address dialed. The fields below
	// add to it (TLSServerName, CA, client certificate). Default nil.
	TLS *tls.Config
	// TLSEnabled turns TLS on for the other layers (and for Go without a *tls.Config): the
	// server's certificate is verified against the system roots, or TLSCAFile/TLSCAPEM when
	// given, and its name against TLSServerName or the host of each address. Default false:
	// plain TCP. The TLS* fields below are refused when TLS is off.
	TLSEnabled bool
	// TLSCAFile and TLSCAPEM give the CA certificates (PEM) the server's must chain to, as a
	// file path or as the PEM text; at most one. Default "": the system roots.
	TLSCAFile string
	TLSCAPEM  string
	// TLSCertFile/TLSCertPEM and TLSKeyFile/TLSKeyPEM are this client's certificate chain and
	// private key (PEM), for servers that require mutual TLS; both or neither, each as a path
	// or as the PEM text. Default "": no client certificate.
	TLSCertFile string
	TLSCertPEM  string
	TLSKeyFile  string
	TLSKeyPEM   string
	// TLSServerName is the name the server's certificate must carry. Default "": the host of
	// each address dialed (a leader hint included).
	TLSServerName string
	// TLSInsecureSkipVerify accepts any server certificate, which lets anyone on the path read
	// and change the traffic. For tests only. Default false.
	TLSInsecureSkipVerify bool
	// Logger receives the client's log records (dial failures, nodes down and up, leader
	// changes, outcome-unknown appends; retries, redirects and health checks at debug level),
	// rate-limited per kind and node. Records are handed to it on a goroutine of the client, never
	// on the caller's; its handler must not call Close. Default nil: the client logs nothing.
	Logger *slog.Logger
	// OnEvent is called for every ClusterEvent (leader changed, node down or up, connection opened or
	// closed), one at a time in order, on a goroutine of the client. It must not block: while it
	// runs, later records and events queue up, and past 4096 they are dropped. It must not call
	// Close (Close delivers what is queued and waits for it). Default nil.
	OnEvent func(ClusterEvent)
}

// DefaultConfig returns a Config with every field set to its documented default and no addresses.
func DefaultConfig() Config {
	return Config{
		ConnectTimeout:        defaultConnectTimeout,
		RequestTimeout:        defaultRequestTimeout,
		MinIdleConnsPerNode:   defaultMinIdleConnsPerNode,
		MaxConnsPerNode:       defaultMaxConnsPerNode,
		MaxInFlightPerConn:    defaultMaxInFlightPerConn,
		MaxConnLifetime:       defaultMaxConnLifetime,
		MaxConnLifetimeJitter: defaultMaxConnLifetimeJitter,
		MaxConnIdleTime:       defaultMaxConnIdleTime,
		HealthCheckPeriod:     defaultHealthCheckPeriod,
		KeepAlive:             defaultKeepAlive,
		MaxDialsPerNode:       defaultMaxDialsPerNode,
		RetryMaxAttempts:      defaultRetryMaxAttempts,
		RetryInitialBackoff:   defaultRetryInitialBackoff,
		RetryMaxBackoff:       defaultRetryMaxBackoff,
		RetryBudgetRatio:      defaultRetryBudgetRatio,
		RetryBudgetMinPerSec:  defaultRetryBudgetMinPerSec,
		MaxRedirects:          defaultMaxRedirects,
		ReadFrom:              ReadLeader,
		AppendBatchMaxEvents:  defaultAppendBatchEvents,
		AppendBatchMaxBytes:   defaultAppendBatchBytes,
	}
}

// DefaultReadMaxBytes is the page size ReadAll uses when given 0.
var DefaultReadMaxBytes = uint64(defaultReadMaxBytes)

// Copy returns a deep copy (the address slice is not shared).
func (c Config) Copy() Config {
	c.Addresses = append([]string(nil), c.Addresses...)
	c.TLS = c.TLS.Clone()
	return c
}

// Validate checks every field and the relations between them. Its message names the field and
// the bound, e.g. "MaxConnsPerNode (0) must be >= 1".
func (c Config) Validate() error {
	if len(c.Addresses) == 0 {
		return invalidConfig("Addresses is empty: give at least one host:port")
	}
	if len(c.Addresses) > MaxAddresses {
		return invalidConfig(fmt.Sprintf("Addresses has %d entries: at most %d", len(c.Addresses), MaxAddresses))
	}
	for _, a := range c.Addresses {
		if err := CheckAddress(a); err != nil {
			return invalidConfig("Addresses: " + err.Error())
		}
	}
	if _, err := c.tlsConfig(); err != nil {
		return err
	}
	checks := []struct {
		ok  bool
		msg string
	}{
		{c.ConnectTimeout > 0, fmt.Sprintf("ConnectTimeout (%v) must be > 0", c.ConnectTimeout)},
		{c.RequestTimeout > 0, fmt.Sprintf("RequestTimeout (%v) must be > 0", c.RequestTimeout)},
		{c.MaxConnsPerNode >= 1 && c.MaxConnsPerNode <= maxConnsPerNode, fmt.Sprintf("MaxConnsPerNode (%d) must be from 1 to %d", c.MaxConnsPerNode, maxConnsPerNode)},
		{c.MinIdleConnsPerNode >= 0, fmt.Sprintf("MinIdleConnsPerNode (%d) must be >= 0", c.MinIdleConnsPerNode)},
		{c.MinIdleConnsPerNode <= c.MaxConnsPerNode, fmt.Sprintf("MinIdleConnsPerNode (%d) must be <= MaxConnsPerNode (%d)", c.MinIdleConnsPerNode, c.MaxConnsPerNode)},
		{c.MaxInFlightPerConn >= 1 && c.MaxInFlightPerConn <= maxInFlightPerConn, fmt.Sprintf("MaxInFlightPerConn (%d) must be from 1 to %d", c.MaxInFlightPerConn, maxInFlightPerConn)},
		{c.MaxConnLifetime >= 0, fmt.Sprintf("MaxConnLifetime (%v) must be >= 0", c.MaxConnLifetime)},
		{c.MaxConnLifetimeJitter >= 0, fmt.Sprintf("MaxConnLifetimeJitter (%v) must be >= 0", c.MaxConnLifetimeJitter)},
		{c.MaxConnIdleTime >= 0, fmt.Sprintf("MaxConnIdleTime (%v) must be >= 0", c.MaxConnIdleTime)},
		{c.HealthCheckPeriod >= 0, fmt.Sprintf("HealthCheckPeriod (%v) must be >= 0", c.HealthCheckPeriod)},
		{c.MaxDialsPerNode >= 1 && c.MaxDialsPerNode <= maxConnsPerNode, fmt.Sprintf("MaxDialsPerNode (%d) must be from 1 to %d", c.MaxDialsPerNode, maxConnsPerNode)},
		{c.RetryMaxAttempts >= 1 && c.RetryMaxAttempts <= maxRetryAttempts, fmt.Sprintf("RetryMaxAttempts (%d) must be from 1 to %d", c.RetryMaxAttempts, maxRetryAttempts)},
		{c.RetryInitialBackoff > 0, fmt.Sprintf("RetryInitialBackoff (%v) must be > 0", c.RetryInitialBackoff)},
		{c.RetryMaxBackoff >= c.RetryInitialBackoff, fmt.Sprintf("RetryMaxBackoff (%v) must be >= RetryInitialBackoff (%v)", c.RetryMaxBackoff, c.RetryInitialBackoff)},
		{c.RetryBudgetRatio >= 0 && c.RetryBudgetRatio <= 10, fmt.Sprintf("RetryBudgetRatio (%v) must be between 0 and 10", c.RetryBudgetRatio)},
		{c.RetryBudgetMinPerSec >= 0 && c.RetryBudgetMinPerSec <= maxRetryBudgetPerSec, fmt.Sprintf("RetryBudgetMinPerSec (%d) must be from 0 to %d", c.RetryBudgetMinPerSec, maxRetryBudgetPerSec)},
		{c.MaxRedirects >= 0 && c.MaxRedirects <= maxRetryAttempts, fmt.Sprintf("MaxRedirects (%d) must be from 0 to %d", c.MaxRedirects, maxRetryAttempts)},
		{c.ReadFrom == ReadLeader || c.ReadFrom == ReadAnyHealthy, fmt.Sprintf("ReadFrom (%d) must be ReadLeader or ReadAnyHealthy", c.ReadFrom)},
		{c.AppendBatchMaxEvents >= 1 && c.AppendBatchMaxEvents <= MaxAppendEvents, fmt.Sprintf("AppendBatchMaxEvents (%d) must be from 1 to %d", c.AppendBatchMaxEvents, MaxAppendEvents)},
		{c.AppendBatchMaxBytes >= 1 && c.AppendBatchMaxBytes <= wire.MaxPayloadSize, fmt.Sprintf("AppendBatchMaxBytes (%d) must be from 1 to %d (the frame limit)", c.AppendBatchMaxBytes, wire.MaxPayloadSize)},
	}
	for _, ch := range checks {
		if !ch.ok {
			return invalidConfig(ch.msg)
		}
	}
	return nil
}

// Upper bounds: a value past them is a mistake (often -1 through an unsigned C type), and taken
// literally it would open millions of sockets or hold millions of waiters.
const (
	// MaxAddresses bounds the seed list.
	MaxAddresses = 1024
	// MaxAppendEvents is the most events one append may carry: the server's default
	// --max-events-per-append, checked here so such a call fails before anything is sent.
	MaxAppendEvents = 100_000

	maxConnsPerNode      = 1024
	maxInFlightPerConn   = 1 << 16
	maxRetryAttempts     = 1000
	maxRetryBudgetPerSec = 1_000_000
	maxHostLen           = 253 // the longest DNS name
)

// CheckAddress checks one "host:port" seed: a host of at most 253 printable bytes and a port
// from 1 to 65535.
func CheckAddress(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%.80q is not host:port", a)
	}
	if host == "" {
		return fmt.Errorf("%.80q has no host", a)
	}
	if len(host) > maxHostLen {
		return fmt.Errorf("the host of %.80q... is %d bytes: at most %d", a, len(host), maxHostLen)
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("the host of %.80q contains a space or control character", a)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%.80q: port %.20q must be a number from 1 to 65535", a, port)
	}
	return nil
}

func invalidConfig(msg string) error {
	return &Error{Kind: KindInvalidArgument, Message: "invalid config: " + msg}
}
