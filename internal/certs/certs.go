// Package certs makes X.509 certificates for tests and for `kimberlite dev --tls`: a private
// CA, node certificates that serve and dial (SANs for 127.0.0.1, ::1, localhost and any given
// names), client certificates, and the broken variants tests need (expired, wrong host, signed
// by another CA). Keys are ECDSA P-256; everything is written as PEM.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority that signs leaf certificates.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// Leaf is a signed certificate with its key, in PEM.
type Leaf struct {
	CertPEM []byte
	KeyPEM  []byte
}

// Options shape a leaf certificate.
type Options struct {
	// Names are the DNS names and IP addresses the certificate is valid for. Empty means
	// 127.0.0.1, ::1 and localhost.
	Names []string
	// NotBefore and NotAfter bound the validity; zero means from an hour ago for ten years.
	NotBefore, NotAfter time.Time
	// Server and Client select the extended key usages; neither means both.
	Server, Client bool
	// CommonName is the subject's common name; empty means the first name.
	CommonName string
}

// LocalNames are the names a certificate for a loopback server carries by default.
var LocalNames = []string{"127.0.0.1", "::1", "localhost"}

// NewCA makes a self-signed CA valid for ten years.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Kimberlite local CA"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der)}, nil
}

// Issue signs a leaf certificate as opts describe.
func (ca *CA) Issue(opts Options) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	names := opts.Names
	if len(names) == 0 {
		names = LocalNames
	}
	cn := opts.CommonName
	if cn == "" {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    opts.NotBefore,
		NotAfter:     opts.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(10 * 365 * 24 * time.Hour)
	}
	if opts.Server || !opts.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if opts.Client || !opts.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("PRIVATE KEY", keyDER)}, nil
}

// Node issues a certificate for a node: it serves clients and peers and dials peers, and is
// valid for LocalNames plus names.
func (ca *CA) Node(names ...string) (*Leaf, error) {
	return ca.Issue(Options{Names: append(append([]string(nil), LocalNames...), names...)})
}

// WrongHost issues a node certificate valid only for a name no test dials.
func (ca *CA) WrongHost() (*Leaf, error) {
	return ca.Issue(Options{Names: []string{"wrong-host.invalid"}})
}

// Client issues a client certificate named name.
func (ca *CA) Client(name string) (*Leaf, error) {
	return ca.Issue(Options{Names: []string{name}, Client: true})
}

// Expired issues a node certificate whose validity ended a day ago.
func (ca *CA) Expired() (*Leaf, error) {
	return ca.Issue(Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
}

// TLSCertificate parses the leaf for use in a tls.Config.
func (l *Leaf) TLSCertificate() (tls.Certificate, error) { return tls.X509KeyPair(l.CertPEM, l.KeyPEM) }

// Pool returns a cert pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteFiles writes the leaf as DIR/NAME.crt and DIR/NAME.key (the key readable by the owner
// only) and returns both paths.
func (l *Leaf) WriteFiles(dir, name string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := writeFile(certFile, l.CertPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := writeFile(keyFile, l.KeyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// WriteFile writes the CA certificate (never its key) as DIR/NAME.crt and returns the path.
func (ca *CA) WriteFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name+".crt")
	return path, writeFile(path, ca.CertPEM, 0o644)
}

// writeFile replaces path atomically, so a server re-reading it never sees half a file.
func writeFile(path string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}
