package rawconn

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// DialTLS connects to addr over TLS with cfg; the handshake is done within timeout.
func DialTLS(addr string, timeout time.Duration, cfg *tls.Config) (*Conn, error) {
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return New(nc), nil
}

// RoundTripTLS is RoundTrip over TLS; a nil cfg means plain TCP.
func RoundTripTLS(addr string, timeout time.Duration, cfg *tls.Config, p wire.RequestPayload) (wire.ResponsePayload, error) {
	if cfg == nil {
		return RoundTrip(addr, timeout, p)
	}
	c, err := DialTLS(addr, timeout, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	return c.Call(0, p)
}
