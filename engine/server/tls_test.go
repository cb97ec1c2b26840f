package server_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/engine/tlsfiles"
	"github.com/kimberlite/libkimberlite/internal/certs"
	"github.com/kimberlite/libkimberlite/wire"
)

// startTLS runs a server whose listener serves TLS with a fresh CA's node certificate, and
// returns its address and a client configuration trusting that CA.
func startTLS(t *testing.T, opts server.Options) (string, *tls.Config) {
	t.Helper()
	ca, err := certs.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Node()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := leaf.WriteFiles(t.TempDir(), "node")
	if err != nil {
		t.Fatal(err)
	}
	store, err := tlsfiles.Load(tlsfiles.Files{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = quietLog
	srv := server.New(db, opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(server.NewTLSListener(l, store.ServerConfig(), quietLog)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = db.Close()
	})
	return l.Addr().String(), &tls.Config{RootCAs: ca.Pool()}
}

func TestTLSServesTheProtocol(t *testing.T) {
	addr, cfg := startTLS(t, server.Options{})
	c, err := rawconn.DialTLS(addr, 5*time.Second, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := call(t, c, 1, wire.HandshakeRequest{ClientVersion: wire.Version}).(wire.HandshakeResponse); !ok {
		t.Fatal("no handshake response over TLS")
	}
	sid := createStream(t, c, 1, "over-tls")
	if _, ok := appendEvents(t, c, 1, sid, 0, "a", "b").(wire.AppendEventsResponse); !ok {
		t.Fatal("append over TLS failed")
	}
	if v := c.NetConn().(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS13 {
		t.Fatalf("negotiated %x, want TLS 1.3", v)
	}
}

// A plain protocol client on a TLS port gets an answer saying so, for its own request id.
func TestPlaintextClientIsToldTLSIsRequired(t *testing.T) {
	addr, _ := startTLS(t, server.Options{})
	c := dial(t, addr)
	req := &wire.Request{ID: 77, TenantID: 1, Payload: wire.HandshakeRequest{ClientVersion: wire.Version}}
	frame, err := wire.AppendFrame(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteRaw(frame); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := c.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.RequestID != 77 {
		t.Fatalf("answer to request %d, want 77", resp.RequestID)
	}
	wantError(t, resp.Payload, wire.ErrInvalidRequest, server.PlaintextRefusal)
	wantClosed(t, c)
}

// A client that opens the connection and never starts TLS is dropped at the handshake timeout.
func TestStalledTLSHandshakeIsDropped(t *testing.T) {
	addr, _ := startTLS(t, server.Options{HandshakeTimeout: 200 * time.Millisecond})
	wantClosed(t, dial(t, addr))
}

// Each failed TLS handshake is counted by its reason in kimberlite_tls_handshake_failures_total:
// a plaintext client, a client that refuses the server's certificate, one that never starts.
func TestTLSHandshakeFailuresAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	addr, _ := startTLS(t, server.Options{HandshakeTimeout: 300 * time.Millisecond, Metrics: server.NewMetrics(reg)})
	failures := func(reason string) float64 {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "kimberlite_tls_handshake_failures_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "reason" && l.GetValue() == reason {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		return 0
	}
	waitCount := func(reason string, want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for failures(reason) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s failures: %v, want %v", reason, failures(reason), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	plain := dial(t, addr)
	frame, err := wire.AppendFrame(nil, &wire.Request{ID: 1, TenantID: 1, Payload: wire.HandshakeRequest{ClientVersion: wire.Version}})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.WriteRaw(frame); err != nil || plain.Flush() != nil {
		t.Fatalf("write: %v", err)
	}
	waitCount("plaintext", 1)

	// A client trusting another CA refuses the server's certificate.
	other, err := certs.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: other.Pool(), ServerName: "localhost"}); err == nil {
		t.Fatal("a client trusting another CA completed the handshake")
	}
	waitCount("refused", 1)

	stalled := dial(t, addr) // never sends a hello
	wantClosed(t, stalled)
	waitCount("timeout", 1)
	if failures("plaintext") != 1 || failures("refused") != 1 {
		t.Fatalf("counts moved: plaintext %v, refused %v", failures("plaintext"), failures("refused"))
	}
}
