package testserver

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/certs"
	"github.com/kimberlite/libkimberlite/wire"
)

// HandshakeTLS is Handshake over TLS with cfg; a nil cfg means plain TCP.
func HandshakeTLS(addr string, timeout time.Duration, cfg *tls.Config) error {
	resp, err := rawconn.RoundTripTLS(addr, timeout, cfg, wire.HandshakeRequest{ClientVersion: wire.Version})
	if err != nil {
		return err
	}
	if _, ok := resp.(wire.HandshakeResponse); !ok {
		return fmt.Errorf("handshake: got %#v", resp)
	}
	return nil
}

// TLSFiles are a CA and one node certificate per node written under Dir, generated at test time.
type TLSFiles struct {
	CA     *certs.CA
	CAFile string
	Dir    string
}

// NewTLSFiles makes a CA in a temporary folder.
func NewTLSFiles(t testing.TB) *TLSFiles {
	t.Helper()
	ca, err := certs.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile, err := ca.WriteFile(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	return &TLSFiles{CA: ca, CAFile: caFile, Dir: dir}
}

// NodeArgs issues a node certificate signed by ca (nil: f's CA), writes it as name.crt/.key,
// and returns the --tls-cert and --tls-key flags for it.
func (f *TLSFiles) NodeArgs(t testing.TB, name string, ca *certs.CA) []string {
	t.Helper()
	if ca == nil {
		ca = f.CA
	}
	leaf, err := ca.Node()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := leaf.WriteFiles(f.Dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--tls-cert", cert, "--tls-key", key}
}

// Client is the configuration a probe or test client trusts f's CA with.
func (f *TLSFiles) Client() *tls.Config {
	return &tls.Config{RootCAs: f.CA.Pool(), MinVersion: tls.VersionTLS12}
}

// StartTLSServer starts one server serving TLS with a certificate of f's CA, plus extra
// arguments, and waits until it answers a TLS handshake.
func StartTLSServer(t testing.TB, f *TLSFiles, extra ...string) *Process {
	t.Helper()
	addr := FreePort(t)
	args := append([]string{"server", "--listen", addr, "--data", t.TempDir(), "--log-level", "info"},
		f.NodeArgs(t, "server-"+filepath.Base(t.TempDir()), nil)...)
	p := &Process{t: t, Addr: addr, Args: append(args, extra...), TLS: f.Client()}
	p.launch()
	t.Cleanup(p.Kill)
	p.WaitReady(15 * time.Second)
	return p
}

// StartTLSCluster starts n nodes serving clients over TLS and raft over mutual TLS
// (--peer-ca f.CAFile). caOf(i), when not nil, gives the CA signing node i's certificate
// (nil: f's CA): a node from another CA cannot take part. It waits until every node answers
// a TLS handshake (a node from another CA is probed with its own CA).
func StartTLSCluster(t testing.TB, f *TLSFiles, n int, caOf func(i int) *certs.CA, extra ...string) *Cluster {
	t.Helper()
	clients := make([]string, n)
	c := &Cluster{t: t, RaftAddrs: make([]string, n)}
	var peers []string
	for i := range clients {
		clients[i], c.RaftAddrs[i] = FreePort(t), FreePort(t)
		peers = append(peers, "--peer", fmt.Sprintf("%d=%s,%s", i+1, clients[i], c.RaftAddrs[i]))
	}
	for i := range clients {
		var ca *certs.CA
		if caOf != nil {
			ca = caOf(i)
		}
		args := []string{"server", "--listen", clients[i], "--data", t.TempDir(), "--log-level", "info",
			"--node-id", strconv.Itoa(i + 1), "--peer-ca", f.CAFile}
		args = append(args, f.NodeArgs(t, filepath.Base(t.TempDir())+"-node-"+strconv.Itoa(i+1), ca)...)
		args = append(append(args, peers...), extra...)
		p := &Process{t: t, Addr: clients[i], Args: args, TLS: f.Client()}
		if ca != nil && ca != f.CA {
			p.TLS = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
		}
		p.launch()
		t.Cleanup(p.Kill)
		c.Nodes = append(c.Nodes, p)
	}
	for _, p := range c.Nodes {
		p.WaitReady(15 * time.Second)
	}
	return c
}
