package server_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

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
