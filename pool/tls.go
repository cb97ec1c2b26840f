package pool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// usesTLS reports whether any TLS setting is given.
func (c *Config) usesTLS() bool {
	return c.TLS != nil || c.TLSEnabled || c.tlsFieldSet() != ""
}

// tlsFieldSet names the first TLS* field that is set, or "".
func (c *Config) tlsFieldSet() string {
	for _, f := range []struct{ name, v string }{
		{"TLSCAFile", c.TLSCAFile}, {"TLSCAPEM", c.TLSCAPEM}, {"TLSCertFile", c.TLSCertFile},
		{"TLSCertPEM", c.TLSCertPEM}, {"TLSKeyFile", c.TLSKeyFile}, {"TLSKeyPEM", c.TLSKeyPEM},
		{"TLSServerName", c.TLSServerName},
	} {
		if f.v != "" {
			return f.name
		}
	}
	if c.TLSInsecureSkipVerify {
		return "TLSInsecureSkipVerify"
	}
	return ""
}

// tlsConfig builds the configuration connections use: nil for plain TCP, else a copy of TLS
// (or a new one) with the CA, the client certificate and the server name of the TLS* fields.
// It reads the files, so a missing or malformed one is reported before any dial.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if !c.usesTLS() {
		return nil, nil
	}
	if c.TLS == nil && !c.TLSEnabled {
		return nil, invalidConfig(fmt.Sprintf("%s is set but TLS is off: set TLSEnabled (kmb_config_set_tls)", c.tlsFieldSet()))
	}
	t := c.TLS.Clone()
	if t == nil {
		t = &tls.Config{}
	}
	if t.MinVersion == 0 {
		t.MinVersion = tls.VersionTLS12
	}
	if c.TLSServerName != "" {
		t.ServerName = c.TLSServerName
	}
	if c.TLSInsecureSkipVerify {
		t.InsecureSkipVerify = true
	}
	ca, err := pemInput("TLSCAFile", c.TLSCAFile, "TLSCAPEM", c.TLSCAPEM)
	if err != nil {
		return nil, err
	}
	if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, invalidConfig("TLS CA (TLSCAFile or TLSCAPEM) holds no PEM certificate")
		}
		t.RootCAs = pool
	}
	cert, err := pemInput("TLSCertFile", c.TLSCertFile, "TLSCertPEM", c.TLSCertPEM)
	if err != nil {
		return nil, err
	}
	key, err := pemInput("TLSKeyFile", c.TLSKeyFile, "TLSKeyPEM", c.TLSKeyPEM)
	if err != nil {
		return nil, err
	}
	switch {
	case cert == nil && key == nil:
	case cert == nil || key == nil:
		return nil, invalidConfig("a TLS client certificate (TLSCertFile or TLSCertPEM) and its key (TLSKeyFile or TLSKeyPEM) go together")
	default:
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, invalidConfig("TLS client certificate and key: " + err.Error())
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}

// pemInput returns the PEM given as a file or as text (at most one of them), or nil.
func pemInput(fileField, file, pemField, text string) ([]byte, error) {
	switch {
	case file != "" && text != "":
		return nil, invalidConfig(fmt.Sprintf("%s and %s are both set: give one", fileField, pemField))
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, invalidConfig(fmt.Sprintf("%s: %v", fileField, err))
		}
		return b, nil
	case text != "":
		return []byte(text), nil
	}
	return nil, nil
}

// clientTLS runs the TLS handshake on a fresh connection to addr when TLS is configured; ctx
// (the dial's, bounded by ConnectTimeout) bounds it. A certificate failure is a KindTLS error.
func clientTLS(ctx context.Context, nc net.Conn, addr string, cfg *Config) (net.Conn, error) {
	if cfg.TLS == nil {
		return nc, nil
	}
	t := cfg.TLS
	if t.ServerName == "" {
		t = t.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			t.ServerName = host
		}
	}
	tc := tls.Client(nc, t)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		if te := tlsFailure(err); te != nil {
			te.Node = addr
			return nil, te
		}
		if errors.Is(err, io.EOF) {
			// A server without TLS drops a hello it cannot read, but so does a server at its
			// connection limit or shutting down: a connection failure (retried), with a hint.
			return nil, &Error{Kind: KindConnection, Node: addr, Err: err,
				Message: "the server closed the connection during the TLS handshake (is TLS enabled on it?)"}
		}
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// tlsFailure returns err as a KindTLS *Error when it is (or carries, as a last dial error) a
// TLS failure: a certificate the client refused, an alert by which the server refused the
// client, or a server that does not speak TLS. Otherwise nil. Such failures are configuration
// errors: redialing cannot fix them, so calls fail at once instead of retrying.
func tlsFailure(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == KindTLS {
			return e
		}
		if e.LastDialErr != nil && e.LastDialErr != err {
			if te := tlsFailure(e.LastDialErr); te != nil {
				return te
			}
		}
		return nil
	}
	var op *net.OpError
	var verr *tls.CertificateVerificationError
	var alert tls.AlertError
	var rec tls.RecordHeaderError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	msg := ""
	switch {
	case errors.As(err, &verr):
		msg = "server certificate refused: " + verr.Err.Error()
	case errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		msg = "server certificate refused: " + err.Error()
	case errors.As(err, &alert):
		msg = "the server refused the TLS connection: " + alert.Error()
	case errors.As(err, &op) && op.Op == "remote error": // an alert the server sent over TCP
		msg = "the server refused the TLS connection: " + op.Err.Error()
		if strings.Contains(msg, "certificate required") {
			msg += " (the server requires a client certificate from a CA it trusts: set a client certificate and key signed by it)"
		}
	case errors.As(err, &rec):
		msg = "the server did not answer in TLS: is TLS enabled on it? (" + err.Error() + ")"
	default:
		return nil
	}
	return &Error{Kind: KindTLS, Message: msg, Err: err}
}

// withTLSReason turns Connect's "no seed answered" into the TLS failure that explains it. Calls
// do not need it: a node whose dial fails TLS gives KindTLS itself (dialFailed), while an
// unavailable cluster stays retryable even when one node's last dial failed TLS, since other
// nodes may serve (the TLS reason still shows as its last dial error).
func withTLSReason(e *Error) *Error {
	if e.Kind != KindConnection && e.Kind != KindClusterUnavailable && e.Kind != KindTimeout {
		return e
	}
	te := tlsFailure(e.LastDialErr)
	if te == nil {
		if te = tlsFailure(e.Err); te == nil {
			return e
		}
	}
	out := *e
	out.Kind, out.Message, out.Err = KindTLS, te.Message, te.Err
	if out.Node == "" {
		out.Node = te.Node
	}
	return &out
}
