package pool

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// Client is a connection to a Kimberlite cluster (or a single server), safe for any number of
// goroutines. It keeps persistent pipelined connections to each node it uses, follows the
// leader, retries what is safe to retry and checks every node in the background. Make one with
// Connect, share it, and Close it when done.
type Client struct {
	cfg     Config
	cluster *cluster
	budget  *retryBudget
	stats   statsState
	obs     *observer // Config.Logger and Config.OnEvent

	life     context.Context // cancelled when Close finishes waiting: aborts dials
	stopLife context.CancelFunc
	shutdown chan struct{} // closed when in-flight calls must stop (Close's grace period is over)
	closing  atomic.Bool   // no new calls
	closeMu  sync.Mutex
	closed   chan struct{} // closed once Close has released everything

	calls     atomic.Int64  // calls in progress
	callsDone chan struct{} // signalled when calls drop to zero while closing

	bgMu      sync.Mutex
	bgStopped bool
	bg        sync.WaitGroup // every goroutine the client started

	streamsMu sync.Mutex
	streams   map[uint64]*streamState

	syncBody, infoBody []byte

	// Idempotency keys: idemPrefix (random, one per client) + ":" + a sequence number.
	idemPrefix string
	idemSeq    atomic.Uint64

	lastPanic atomic.Pointer[string] // see LastPanic
}

// idemPrefixBytes is the randomness of a client's idempotency keys: 96 bits, so that no two
// clients ever share a prefix.
const idemPrefixBytes = 12

// maxIdempotencyKeyLen is the longest key a client makes: the base64 prefix, ":" and a
// 20-digit sequence number.
const maxIdempotencyKeyLen = idemPrefixBytes*4/3 + 1 + 20

// nextIdempotencyKey returns a key no other append of any client uses.
func (c *Client) nextIdempotencyKey() string {
	return c.idemPrefix + ":" + strconv.FormatUint(c.idemSeq.Add(1), 10)
}

func newIdempotencyPrefix() string {
	var b [idemPrefixBytes]byte
	_, _ = cryptorand.Read(b[:]) // never fails on supported platforms (crypto/rand docs)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Connect validates cfg, keeps a private copy of it and connects to the cluster: it returns once
// a seed address answered (and, usually, the leader is known), or fails when none answers before
// ctx ends or ConnectTimeout passes.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if ctx == nil {
		return nil, invalidArg("ctx is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Copy()
	var tlsErr error
	if cfg.TLS, tlsErr = cfg.tlsConfig(); tlsErr != nil {
		return nil, tlsErr
	}
	life, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg:        cfg,
		budget:     newRetryBudget(cfg.RetryBudgetRatio, cfg.RetryBudgetMinPerSec),
		life:       life,
		stopLife:   stop,
		shutdown:   make(chan struct{}),
		closed:     make(chan struct{}),
		callsDone:  make(chan struct{}, 1),
		streams:    make(map[uint64]*streamState),
		syncBody:   encodeBody(cfg.TenantID, wire.SyncRequest{}),
		infoBody:   encodeBody(cfg.TenantID, wire.GetServerInfoRequest{}),
		idemPrefix: newIdempotencyPrefix(),
	}
	c.stats.init()
	c.obs = newObserver(&c.cfg)
	c.cluster = newCluster(c)
	for _, a := range cfg.Addresses {
		n := c.cluster.add(a)
		n.aliases = resolveAliases(ctx, a, cfg.ConnectTimeout)
	}

	// One probe of every seed, each bounded by ConnectTimeout.
	d := c.cluster.startDiscovery()
	select {
	case <-d.done:
	case <-ctx.Done():
	}
	if c.cluster.anyHealthy() {
		c.spawn(c.maintain)
		return c, nil
	}
	err := withTLSReason(&Error{Kind: KindConnection, Message: "no seed address answered", LastDialErr: c.cluster.lastDialErr()})
	var he *handshakeError
	if errors.As(err.LastDialErr, &he) { // a server answered, and refused us: say why
		err = &Error{Kind: KindServer, ServerCode: he.resp.Code, Message: he.resp.Message, LastDialErr: he}
	}
	if ctx.Err() != nil {
		err = &Error{Kind: KindTimeout, Message: "connect: " + ctx.Err().Error(), Err: ctx.Err(), LastDialErr: err.LastDialErr}
	}
	_ = c.Close(context.Background())
	return nil, err
}

// resolveAliases returns the IP spellings of addr, so that a leader hint naming a seed by IP is
// recognised as that seed.
func resolveAliases(ctx context.Context, addr string, timeout time.Duration) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || net.ParseIP(host) != nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(rctx, host)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip, port))
	}
	return out
}

// spawn runs f on a goroutine the client waits for on Close. It refuses once Close is waiting.
// A panic in f is recovered and counted (see panics.go); f itself fails the calls it affects.
func (c *Client) spawn(f func()) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.bgStopped {
		return false
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer func() {
			if r := recover(); r != nil {
				c.notePanic(panicError("background task", r))
			}
		}()
		f()
	}()
	return true
}

// begin registers a call; it fails at once when the client is closing.
func (c *Client) begin() error {
	if c.closing.Load() {
		return errClosed()
	}
	c.calls.Add(1)
	if c.closing.Load() {
		c.end()
		return errClosed()
	}
	return nil
}

func (c *Client) end() {
	if c.calls.Add(-1) == 0 && c.closing.Load() {
		select {
		case c.callsDone <- struct{}{}:
		default:
		}
	}
}

// Close stops the client. It is idempotent and safe to call concurrently. New calls fail with
// ErrClosed at once; calls in flight may finish until ctx ends, after which they fail with
// KindClosed. When Close returns every socket is closed and every goroutine of the client has
// ended. It returns a KindTimeout error if calls had to be cut short, nil otherwise.
func (c *Client) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c.closeMu.Lock()
	first := !c.closing.Load()
	c.closing.Store(true)
	c.closeMu.Unlock()
	if !first {
		select {
		case <-c.closed:
		case <-ctx.Done():
		}
		return nil
	}
	var forced error
	for c.calls.Load() > 0 {
		select {
		case <-c.callsDone:
			continue
		case <-ctx.Done():
			forced = &Error{Kind: KindTimeout, Message: "close: calls still in flight were cancelled", Err: ctx.Err()}
		}
		break
	}
	close(c.shutdown)
	c.stopLife()
	c.bgMu.Lock()
	c.bgStopped = true
	c.bgMu.Unlock()
	for _, n := range c.cluster.all() {
		n.mu.Lock() // no dial starts after this: startDialLocked checks closing under n.mu
		n.mu.Unlock()
		n.breakAll(errClosed())
	}
	c.bg.Wait()
	// A dial that finished while we broke connections may have added one: break again.
	for _, n := range c.cluster.all() {
		n.breakAll(errClosed())
	}
	c.bg.Wait()
	c.obs.stop()
	close(c.closed)
	return forced
}

// noteDialErr records the latest dial failure of any node, for errors.
func (c *Client) noteDialErr(err error) { c.cluster.setLastDialErr(err) }

func errClosed() *Error { return &Error{Kind: KindClosed, Message: "the client is closed"} }

func invalidArg(msg string) *Error { return &Error{Kind: KindInvalidArgument, Message: msg} }

func randInt63n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

// isShutdown reports whether Close has ended the grace period of calls in flight: from then
// on nothing dials and every wait gives up. Before that, calls already running may still
// reconnect and retry while new calls are refused.
func (c *Client) isShutdown() bool {
	select {
	case <-c.shutdown:
		return true
	default:
		return false
	}
}
