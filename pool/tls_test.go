package pool_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/tlsfiles"
	"github.com/kimberlite/libkimberlite/internal/certs"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// countingListener counts the connections a server accepted: the client's dials.
type countingListener struct {
	net.Listener
	accepts atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err == nil {
		l.accepts.Add(1)
	}
	return nc, err
}

// tlsServer is an in-process server on a loopback port serving TLS with the given node
// certificate; clientCA, when set, requires client certificates (mutual TLS). plain serves
// without TLS.
type tlsServer struct {
	addr  string
	l     *countingListener
	store *tlsfiles.Store
}

func startTLSServer(t *testing.T, leaf *certs.Leaf, clientCA *certs.CA, plain bool, opts ...server.Options) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	db, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &tlsServer{addr: raw.Addr().String(), l: &countingListener{Listener: raw}}
	var l net.Listener = ts.l
	if !plain {
		files := tlsfiles.Files{}
		if files.CertFile, files.KeyFile, err = leaf.WriteFiles(dir, "node"); err != nil {
			t.Fatal(err)
		}
		if clientCA != nil {
			if files.ClientCAFile, err = clientCA.WriteFile(dir, "client-ca"); err != nil {
				t.Fatal(err)
			}
		}
		if ts.store, err = tlsfiles.Load(files); err != nil {
			t.Fatal(err)
		}
		l = server.NewTLSListener(l, ts.store.ServerConfig(), quietLog)
	}
	o := server.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Logger = quietLog
	srv := server.New(db, o)
	done := make(chan struct{})
	go func() { _ = srv.Serve(l); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		db.Close()
	})
	return ts
}

func mustCA(t *testing.T, name string) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustLeaf(t *testing.T) func(*certs.Leaf, error) *certs.Leaf {
	return func(l *certs.Leaf, err error) *certs.Leaf {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
}

func tlsConfig(addr string, ca *certs.CA) pool.Config {
	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{addr}
	cfg.ConnectTimeout = 5 * time.Second
	cfg.RequestTimeout = 10 * time.Second
	cfg.TLSEnabled = true
	if ca != nil {
		cfg.TLSCAPEM = string(ca.CertPEM)
	}
	return cfg
}

// roundTrip creates a stream, appends a distinct event and reads it back.
func roundTrip(t *testing.T, c *pool.Client, payload string) {
	t.Helper()
	ctx := pooltest.Ctx(t, 10*time.Second)
	id, err := c.CreateStream(ctx, "tls-"+payload, wire.DataClassPII, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte(payload)}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != 1 || string(got[0]) != payload {
		t.Fatalf("read back %q, want [%q]", got, payload)
	}
}

func TestTLSConnectsWithTheRightCA(t *testing.T) {
	ca := mustCA(t, "test CA")
	leaf := mustLeaf(t)(ca.Node())
	ts := startTLSServer(t, leaf, nil, false)

	// CA as PEM text.
	c, err := pool.Connect(pooltest.Ctx(t, 10*time.Second), tlsConfig(ts.addr, ca))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "pem-ca")
	_ = c.Close(context.Background())

	// CA as a file, and a Go *tls.Config with a server name given explicitly.
	caFile, err := ca.WriteFile(t.TempDir(), "ca")
	if err != nil {
		t.Fatal(err)
	}
	cfg := tlsConfig(strings.Replace(ts.addr, "127.0.0.1", "localhost", 1), nil)
	cfg.TLSCAFile = caFile
	cfg.TLSServerName = "localhost"
	c, err = pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "file-ca")
	_ = c.Close(context.Background())

	cfg = pool.DefaultConfig()
	cfg.Addresses = []string{ts.addr}
	cfg.TLS = &tls.Config{RootCAs: ca.Pool()}
	c, err = pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "go-tls-config")
	_ = c.Close(context.Background())
}

func TestMutualTLS(t *testing.T) {
	ca := mustCA(t, "test CA")
	clients := mustCA(t, "client CA")
	ts := startTLSServer(t, mustLeaf(t)(ca.Node()), clients, false)
	client := mustLeaf(t)(clients.Client("app"))
	dir := t.TempDir()
	certFile, keyFile, err := client.WriteFiles(dir, "client")
	if err != nil {
		t.Fatal(err)
	}

	cfg := tlsConfig(ts.addr, ca)
	cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	c, err := pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "mtls-files")
	_ = c.Close(context.Background())

	cfg = tlsConfig(ts.addr, ca)
	cfg.TLSCertPEM, cfg.TLSKeyPEM = string(client.CertPEM), string(client.KeyPEM)
	c, err = pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "mtls-pem")
	_ = c.Close(context.Background())
}

// TestTLSRefusals: every way TLS can be wrong fails Connect with an error naming the reason,
// after at most a couple of dials (no retry storm), and is not retryable.
func TestTLSRefusals(t *testing.T) {
	ca := mustCA(t, "test CA")
	other := mustCA(t, "other CA")
	clients := mustCA(t, "client CA")
	good := mustLeaf(t)(ca.Node())
	strangerClient := mustLeaf(t)(other.Client("stranger"))

	cases := []struct {
		name      string
		leaf      *certs.Leaf
		clientCA  *certs.CA
		plain     bool
		cfg       func(addr string) pool.Config
		kind      pool.Kind
		reason    string
		retryable bool
	}{
		{name: "wrong CA", leaf: good, cfg: func(a string) pool.Config { return tlsConfig(a, other) },
			kind: pool.KindTLS, reason: "certificate signed by unknown authority"},
		{name: "expired certificate", leaf: mustLeaf(t)(ca.Expired()), cfg: func(a string) pool.Config { return tlsConfig(a, ca) },
			kind: pool.KindTLS, reason: "expired"},
		{name: "hostname mismatch", leaf: mustLeaf(t)(ca.WrongHost()), cfg: func(a string) pool.Config { return tlsConfig(a, ca) },
			kind: pool.KindTLS, reason: "cannot validate certificate for 127.0.0.1"},
		{name: "no client certificate", leaf: good, clientCA: clients, cfg: func(a string) pool.Config { return tlsConfig(a, ca) },
			kind: pool.KindTLS, reason: "certificate required"},
		{name: "client certificate from another CA", leaf: good, clientCA: clients, cfg: func(a string) pool.Config {
			c := tlsConfig(a, ca)
			c.TLSCertPEM, c.TLSKeyPEM = string(strangerClient.CertPEM), string(strangerClient.KeyPEM)
			return c
		}, kind: pool.KindTLS, reason: "certificate required"}, // Go sends no certificate the server's CAs did not sign
		{name: "plaintext client on a TLS port", leaf: good, cfg: func(a string) pool.Config {
			c := pool.DefaultConfig()
			c.Addresses = []string{a}
			return c
		}, kind: pool.KindServer, reason: server.PlaintextRefusal},
		// A closed connection is also what a server at its connection limit does: retryable.
		{name: "TLS client on a plaintext port", plain: true, cfg: func(a string) pool.Config { return tlsConfig(a, ca) },
			kind: pool.KindConnection, reason: "during the TLS handshake (is TLS enabled on it?)", retryable: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startTLSServer(t, tc.leaf, tc.clientCA, tc.plain)
			cfg := tc.cfg(ts.addr)
			cfg.ConnectTimeout = 20 * time.Second // a refusal must not wait for it
			c, err := pool.Connect(pooltest.Ctx(t, 30*time.Second), cfg)
			if err == nil {
				_ = c.Close(context.Background())
				t.Fatal("connected")
			}
			t.Logf("refused: %v", err)
			var pe *pool.Error
			if !errors.As(err, &pe) || pe.Kind != tc.kind {
				t.Fatalf("want a %v error, got %#v (%v)", tc.kind, err, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("error %q does not give the reason %q", err, tc.reason)
			}
			if pool.IsRetryable(err) != tc.retryable {
				t.Fatalf("%v: retryable %v, want %v", err, pool.IsRetryable(err), tc.retryable)
			}
			if tc.kind == pool.KindTLS && !errors.Is(err, pool.ErrTLS) {
				t.Fatalf("%v does not match ErrTLS", err)
			}
			if n := ts.l.accepts.Load(); n > 2 {
				t.Fatalf("Connect dialed %d times for one seed", n)
			}
		})
	}
}

// TestTLSFailureIsNotRetriedByCalls: once the server presents a certificate the client cannot
// verify, a call that needs a new connection fails with the TLS reason after a bounded number
// of dials, instead of retrying until its deadline.
func TestTLSFailureIsNotRetriedByCalls(t *testing.T) {
	ca := mustCA(t, "test CA")
	other := mustCA(t, "other CA")
	ts := startTLSServer(t, mustLeaf(t)(ca.Node()), nil, false, server.Options{IdleTimeout: 300 * time.Millisecond})
	cfg := tlsConfig(ts.addr, ca)
	cfg.MinIdleConnsPerNode = 0
	cfg.HealthCheckPeriod = 0
	cfg.RetryMaxAttempts = 8
	cfg.RequestTimeout = 30 * time.Second
	c, err := pool.Connect(pooltest.Ctx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	roundTrip(t, c, "before-rotation")

	// The server's files now hold a certificate of a CA the client does not trust.
	files := ts.store.Files()
	if _, _, err := mustLeaf(t)(other.Node()).WriteFiles(filepath.Dir(files.CertFile), "node"); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.Reload(); err != nil {
		t.Fatal(err)
	}
	// The server closes the idle connection; the next call must dial again.
	pooltest.WaitFor(t, 10*time.Second, "the idle connection to close", func() bool {
		st := c.Stats()
		return len(st.Nodes) == 1 && st.Nodes[0].OpenConns == 0
	})
	before := ts.l.accepts.Load()
	_, err = c.StreamLength(pooltest.Ctx(t, 30*time.Second), 1)
	if !errors.Is(err, pool.ErrTLS) || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("want a TLS error naming the unknown authority, got %v", err)
	}
	if n := ts.l.accepts.Load() - before; n > 3 {
		t.Fatalf("one call dialed %d times", n)
	}
}

// TestConnectTimeoutCoversTheTLSHandshake: a server that accepts and never answers the TLS
// hello fails the dial at ConnectTimeout, as a transient connection failure, not a TLS one.
func TestConnectTimeoutCoversTheTLSHandshake(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		var held []net.Conn // never read, never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer func() { l.Close(); <-accepted }()
	cfg := tlsConfig(l.Addr().String(), mustCA(t, "test CA"))
	cfg.ConnectTimeout = 200 * time.Millisecond
	_, err = pool.Connect(pooltest.Ctx(t, 30*time.Second), cfg)
	var pe *pool.Error
	if !errors.As(err, &pe) || (pe.Kind != pool.KindConnection && pe.Kind != pool.KindTimeout) {
		t.Fatalf("want a connection or timeout error, got %v", err)
	}
	if errors.Is(err, pool.ErrTLS) {
		t.Fatalf("a stalled handshake is reported as a certificate problem: %v", err)
	}
}
