// Package tlsfiles holds a server's certificate, key and trusted CAs read from PEM files, and
// gives crypto/tls configurations that always use the latest ones: Reload re-reads the files
// (on SIGHUP) and new handshakes use them at once, while connections already open keep going.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Files names the PEM files of one TLS identity.
type Files struct {
	// CertFile and KeyFile are this side's certificate chain and private key. Required.
	CertFile, KeyFile string
	// ClientCAFile, when set, makes a server require client certificates signed by one of its
	// CAs (mutual TLS).
	ClientCAFile string
	// PeerCAFile is the CA bundle cluster peers' certificates must chain to, both when this
	// node accepts a peer and when it dials one.
	PeerCAFile string
}

// Store is a loaded Files whose contents can be replaced while in use. Safe for concurrent use.
type Store struct {
	files Files
	cur   atomic.Pointer[loaded]
}

type loaded struct {
	cert     tls.Certificate
	clientCA *x509.CertPool
	peerCA   *x509.CertPool
}

// Load reads files and returns a Store over them.
func Load(files Files) (*Store, error) {
	s := &Store{files: files}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Files returns the paths the store reads.
func (s *Store) Files() Files { return s.files }

// Reload re-reads every file. On any error the previous contents stay in use.
func (s *Store) Reload() error {
	f := s.files
	if f.CertFile == "" || f.KeyFile == "" {
		return errors.New("tls: a certificate file and a key file are both required")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: loading certificate %s and key %s: %w", f.CertFile, f.KeyFile, err)
	}
	l := &loaded{cert: cert}
	if l.clientCA, err = loadPool(f.ClientCAFile); err != nil {
		return err
	}
	if l.peerCA, err = loadPool(f.PeerCAFile); err != nil {
		return err
	}
	s.cur.Store(l)
	return nil
}

// ServerConfig serves the current certificate; with ClientCAFile it requires and verifies
// client certificates. TLS 1.2 at least; Go prefers 1.3 whenever the client offers it.
func (s *Store) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			l := s.cur.Load()
			c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{l.cert}}
			if l.clientCA != nil {
				c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, l.clientCA
			}
			return c, nil
		},
	}
}

// PeerServerConfig accepts cluster peers: the node's certificate, and a peer certificate
// signed by PeerCAFile required.
func (s *Store) PeerServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			l := s.cur.Load()
			return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{l.cert},
				ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: l.peerCA}, nil
		},
	}
}

// PeerClientConfig dials cluster peers: it presents the node's certificate and verifies the
// peer's against PeerCAFile and serverName (the host of the peer's address).
func (s *Store) PeerClientConfig(serverName string) *tls.Config {
	l := s.cur.Load()
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		RootCAs:    l.peerCA,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := s.cur.Load().cert
			return &c, nil
		},
	}
}

// HasPeerCA reports whether the store verifies cluster peers.
func (s *Store) HasPeerCA() bool { return s.cur.Load().peerCA != nil }

func loadPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: reading CA file: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", path)
	}
	return p, nil
}
