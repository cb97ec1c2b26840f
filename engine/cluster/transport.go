package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// peerHandshakeTimeout bounds a raft connection's TLS handshake, in both directions.
const peerHandshakeTimeout = 10 * time.Second

// newTransport is raft's network transport: plain TCP, or mutual TLS when cfg.PeerTLS is set.
func newTransport(cfg Config, advertise net.Addr, hl hclog.Logger, addrs raft.ServerAddressProvider) (*raft.NetworkTransport, error) {
	self := cfg.Self()
	tc := &raft.NetworkTransportConfig{
		ServerAddressProvider: addrs,
		Logger:                hl,
		MaxPool:               3,
		Timeout:               10 * time.Second,
	}
	if cfg.PeerTLS == nil {
		return raft.NewTCPTransportWithConfig(self.RaftAddr, advertise, tc)
	}
	l, err := net.Listen("tcp", self.RaftAddr)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tc.Stream = &tlsStream{Listener: l, advertise: advertise, peers: cfg.PeerTLS, log: log}
	return raft.NewNetworkTransportWithConfig(tc), nil
}

// PeerTLS gives the configurations of raft's mutual TLS: Server accepts a peer (and must
// require and verify its certificate), Client dials the peer whose host is serverName.
// engine/tlsfiles.Store provides both, re-reading its files on Reload.
type PeerTLS interface {
	PeerServerConfig() *tls.Config
	PeerClientConfig(serverName string) *tls.Config
}

// tlsStream is a raft.StreamLayer over crypto/tls: every raft connection, in and out, is
// mutually authenticated against the peer CA, so a node without a certificate from it can
// neither send nor receive raft messages.
type tlsStream struct {
	net.Listener
	advertise net.Addr
	peers     PeerTLS
	log       *slog.Logger
}

func (s *tlsStream) Addr() net.Addr { return s.advertise }

func (s *tlsStream) Accept() (net.Conn, error) {
	nc, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &peerConn{Conn: tls.Server(nc, s.peers.PeerServerConfig()), log: s.log}, nil
}

func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(timeout, peerHandshakeTimeout))
	defer cancel()
	d := tls.Dialer{Config: s.peers.PeerClientConfig(host)}
	nc, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		s.log.Warn("raft: TLS connection to peer failed", "peer", string(address), "err", err)
		return nil, fmt.Errorf("raft TLS dial %s: %w", address, err)
	}
	return nc, nil
}

// peerConn runs the server-side handshake on first use, under its own deadline, and logs why
// a peer was refused.
type peerConn struct {
	*tls.Conn
	log  *slog.Logger
	once sync.Once
	err  error
}

func (c *peerConn) handshake() {
	ctx, cancel := context.WithTimeout(context.Background(), peerHandshakeTimeout)
	defer cancel()
	if c.err = c.Conn.HandshakeContext(ctx); c.err != nil {
		c.log.Warn("raft: refused a peer connection: TLS handshake failed", "remote", c.RemoteAddr().String(), "err", c.err)
	}
}

func (c *peerConn) Read(p []byte) (int, error) {
	if c.once.Do(c.handshake); c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

func (c *peerConn) Write(p []byte) (int, error) {
	if c.once.Do(c.handshake); c.err != nil {
		return 0, c.err
	}
	return c.Conn.Write(p)
}
