package certs

import (
	"crypto/x509"
	"errors"
	"testing"
)

func verify(t *testing.T, ca *CA, l *Leaf, host string) error {
	t.Helper()
	c, err := l.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func TestLeavesVerifyAsIntended(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA("other CA")
	node, _ := ca.Node("db.example")
	for _, host := range []string{"127.0.0.1", "localhost", "::1", "db.example"} {
		if err := verify(t, ca, node, host); err != nil {
			t.Errorf("node certificate for %s: %v", host, err)
		}
	}
	var unknown x509.UnknownAuthorityError
	if err := verify(t, other, node, "127.0.0.1"); !errors.As(err, &unknown) {
		t.Errorf("other CA: want UnknownAuthorityError, got %v", err)
	}
	expired, _ := ca.Expired()
	var invalid x509.CertificateInvalidError
	if err := verify(t, ca, expired, "127.0.0.1"); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired: want Expired, got %v", err)
	}
	wrong, _ := ca.WrongHost()
	var host x509.HostnameError
	if err := verify(t, ca, wrong, "127.0.0.1"); !errors.As(err, &host) {
		t.Errorf("wrong host: want HostnameError, got %v", err)
	}
	dir := t.TempDir()
	if _, _, err := node.WriteFiles(dir, "node"); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WriteFile(dir, "ca"); err != nil {
		t.Fatal(err)
	}
}
