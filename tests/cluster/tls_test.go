package cluster_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/certs"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func tlsClient(t *testing.T, f *testserver.TLSFiles, addrs []string) *pool.Client {
	t.Helper()
	cfg := pool.DefaultConfig()
	cfg.Addresses = addrs
	cfg.TLSEnabled = true
	cfg.TLSCAFile = f.CAFile
	cfg.RequestTimeout = 60 * time.Second
	c, err := pool.Connect(pooltest.Ctx(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// TestTLSClusterSurvivesLeaderKill: clients over TLS and raft over mutual TLS; the leader is
// killed mid-stream and every acknowledged event is there exactly once afterwards.
func TestTLSClusterSurvivesLeaderKill(t *testing.T) {
	f := testserver.NewTLSFiles(t)
	cl := testserver.StartTLSCluster(t, f, 3, nil)
	c := tlsClient(t, f, cl.Addrs())
	ctx := pooltest.Ctx(t, 120*time.Second)
	id, err := c.CreateStream(ctx, "tls-failover", wire.DataClassPII, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	appendOne := func(i int) {
		p := fmt.Sprintf("event-%d", i)
		if _, err := c.Append(ctx, id, [][]byte{[]byte(p)}, pool.AppendOptions{}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		want = append(want, p)
	}
	for i := 0; i < 20; i++ {
		appendOne(i)
	}
	leader := -1
	for _, n := range c.Stats().Nodes {
		if n.Role == "leader" {
			for j, a := range cl.Addrs() {
				if a == n.Address {
					leader = j
				}
			}
		}
	}
	if leader < 0 {
		t.Fatalf("the client knows no leader: %+v", c.Stats().Nodes)
	}
	cl.Kill(leader)
	for i := 20; i < 40; i++ {
		appendOne(i)
	}
	got := pooltest.ReadAll(t, c, id)
	if len(got) != len(want) {
		t.Fatalf("read %d events, appended %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != want[i] {
			t.Fatalf("event %d is %q, want %q", i, got[i], want[i])
		}
	}
}

// TestTLSNodeWithWrongCertificateCannotJoin: a node whose certificate another CA signed is
// refused by its peers during the raft TLS handshake; the two good nodes serve on.
func TestTLSNodeWithWrongCertificateCannotJoin(t *testing.T) {
	f := testserver.NewTLSFiles(t)
	stranger, err := certs.NewCA("stranger CA")
	if err != nil {
		t.Fatal(err)
	}
	cl := testserver.StartTLSCluster(t, f, 3, func(i int) *certs.CA {
		if i == 2 {
			return stranger
		}
		return nil
	})
	c := tlsClient(t, f, cl.Addrs()[:2])
	ctx := pooltest.Ctx(t, 60*time.Second)
	if _, err := c.CreateStream(ctx, "tls-join", wire.DataClassPII, wire.PlacementGlobal); err != nil {
		t.Fatal(err)
	}
	pooltest.WaitFor(t, 30*time.Second, "a good node to refuse the stranger's raft connection", func() bool {
		for _, n := range cl.Nodes[:2] {
			if strings.Contains(n.Output(), "raft: refused a peer connection: TLS handshake failed") ||
				strings.Contains(n.Output(), "raft: TLS connection to peer failed") {
				return true
			}
		}
		return false
	})
	// The stranger never hears of the stream: it is not a member in practice, and it cannot
	// lead (it would need a vote from a node that refuses it).
	for _, n := range cl.Nodes[:2] {
		if strings.Contains(n.Output(), "entering leader state") && strings.Contains(n.Output(), "node=3") {
			t.Fatalf("the stranger led:\n%s", n.Output())
		}
	}
	resp, err := rawconn.RoundTripTLS(cl.Nodes[2].Addr, 5*time.Second, cl.Nodes[2].TLS, wire.SyncRequest{})
	if err != nil {
		t.Fatalf("the stranger's client port: %v", err)
	}
	if s, ok := resp.(wire.SyncResponse); ok && s.Success {
		t.Fatal("the stranger answered Sync as a leader")
	}
}

// TestTLSRotationBySIGHUPUnderLoad: the server's certificate files are replaced and SIGHUP
// sent while clients append; no call fails, no connection is dropped, and new handshakes get
// the new certificate.
func TestTLSRotationBySIGHUPUnderLoad(t *testing.T) {
	f := testserver.NewTLSFiles(t)
	srv := testserver.StartTLSServer(t, f)
	cfg := pool.DefaultConfig()
	cfg.Addresses = []string{srv.Addr}
	cfg.TLSEnabled, cfg.TLSCAFile = true, f.CAFile
	c, err := pool.Connect(pooltest.Ctx(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := pooltest.Ctx(t, 120*time.Second)
	id, err := c.CreateStream(ctx, "tls-rotate", wire.DataClassPII, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	oldSerial := servedSerial(t, srv.Addr, f)

	var acked atomic.Int64
	var failed atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				p := fmt.Sprintf("g%d-%d", g, k)
				if _, err := c.Append(ctx, id, [][]byte{[]byte(p)}, pool.AppendOptions{}); err != nil {
					failed.Store(err)
					return
				}
				acked.Add(1)
			}
		}(g)
	}
	pooltest.WaitFor(t, 30*time.Second, "load before the rotation", func() bool { return acked.Load() >= 50 })
	dialsBefore := c.Stats().Nodes[0].DialsCount

	// New certificate and key from the same CA, written over the files the server reads.
	certFile, keyFile := "", ""
	for i, a := range srv.Args {
		switch a {
		case "--tls-cert":
			certFile = srv.Args[i+1]
		case "--tls-key":
			keyFile = srv.Args[i+1]
		}
	}
	leaf, err := f.CA.Node()
	if err != nil {
		t.Fatal(err)
	}
	if err := overwrite(leaf, certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if err := srv.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	pooltest.WaitFor(t, 30*time.Second, "new handshakes to get the new certificate", func() bool {
		return servedSerial(t, srv.Addr, f) != oldSerial
	})
	after := acked.Load()
	pooltest.WaitFor(t, 30*time.Second, "load after the rotation", func() bool { return acked.Load() >= after+50 })
	close(stop)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("a call failed during the rotation: %v", err)
	}
	if d := c.Stats().Nodes[0].DialsCount - dialsBefore; d != 0 {
		t.Fatalf("the rotation cost %d new connections: open ones were dropped", d)
	}
	if got := pooltest.ReadAll(t, c, id); int64(len(got)) != acked.Load() {
		t.Fatalf("read %d events, %d acknowledged", len(got), acked.Load())
	}
	if !strings.Contains(srv.Output(), "TLS files reloaded") {
		t.Fatalf("no reload in the log:\n%s", srv.Output())
	}
}

// servedSerial is the serial number of the certificate a new TLS handshake gets.
func servedSerial(t *testing.T, addr string, f *testserver.TLSFiles) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, f.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// overwrite writes leaf over existing certificate and key files (each replaced atomically).
func overwrite(leaf *certs.Leaf, certFile, keyFile string) error {
	dir := filepath.Dir(certFile)
	tmpCert, tmpKey, err := leaf.WriteFiles(dir, "rotated")
	if err != nil {
		return err
	}
	if err := os.Rename(tmpCert, certFile); err != nil {
		return err
	}
	return os.Rename(tmpKey, keyFile)
}
