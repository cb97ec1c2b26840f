package tlsfiles_test

import (
	"crypto/tls"
	"os"
	"testing"

	"github.com/kimberlite/libkimberlite/engine/tlsfiles"
	"github.com/kimberlite/libkimberlite/internal/certs"
)

func TestReloadKeepsTheOldFilesWhenTheNewOnesDoNotLoad(t *testing.T) {
	ca, err := certs.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Node()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, err := leaf.WriteFiles(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := ca.WriteFile(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlsfiles.Load(tlsfiles.Files{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	served := func() *tls.Config {
		c, err := s.ServerConfig().GetConfigForClient(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := served()
	if before.ClientAuth != tls.RequireAndVerifyClientCert || before.ClientCAs == nil {
		t.Fatal("a client CA file does not require client certificates")
	}
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil {
		t.Fatal("a broken certificate file reloaded")
	}
	if got := served().Certificates[0].Certificate[0]; string(got) != string(before.Certificates[0].Certificate[0]) {
		t.Fatal("a failed reload replaced the certificate")
	}
	if _, err := tlsfiles.Load(tlsfiles.Files{CertFile: certFile}); err == nil {
		t.Fatal("a store without a key loaded")
	}
}
