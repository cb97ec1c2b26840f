package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// PlaintextRefusal is the message a client speaking plain TCP to a TLS port receives, in a
// wire ErrorResponse, before the connection is closed.
const PlaintextRefusal = "this server accepts TLS connections only: connect with TLS enabled"

// NewTLSListener wraps l so that every connection it accepts speaks TLS with cfg. The TLS
// handshake runs on the connection's first read, under the read deadline the server sets
// there: a client that stalls is dropped at HandshakeTimeout, and Accept never waits on one.
// A client that sends a plain protocol frame instead of a TLS hello gets an ErrorResponse
// saying TLS is required and the connection closes, so it fails at once instead of waiting.
func NewTLSListener(l net.Listener, cfg *tls.Config, log *slog.Logger) net.Listener {
	if log == nil {
		log = slog.Default()
	}
	return &tlsListener{Listener: l, cfg: cfg, log: log}
}

type tlsListener struct {
	net.Listener
	cfg *tls.Config
	log *slog.Logger
}

func (l *tlsListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rec := &recordingConn{Conn: nc}
	return &tlsServerConn{Conn: tls.Server(rec, l.cfg), raw: rec, log: l.log}, nil
}

// recordingConn keeps the first bytes a client sends until the handshake is over: the TLS
// layer reads ahead, so a plain frame sent by mistake can only be answered from this copy.
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	seen []byte
	done bool
}

const maxRecorded = 64 << 10

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	if !r.done && len(r.seen)+n <= maxRecorded {
		r.seen = append(r.seen, p[:n]...)
	}
	r.mu.Unlock()
	return n, err
}

// stop ends the recording and returns what was recorded.
func (r *recordingConn) stop() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	seen := r.seen
	r.seen = nil
	return seen
}

// tlsServerConn completes the handshake before the first byte is read, so its failure can be
// told apart from a read failure and logged with its reason.
type tlsServerConn struct {
	*tls.Conn
	raw  *recordingConn
	log  *slog.Logger
	once sync.Once
	err  error
}

func (c *tlsServerConn) Read(p []byte) (int, error) {
	c.once.Do(c.handshake)
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

func (c *tlsServerConn) handshake() {
	// Handshake writes are bounded like its reads; the server sets the read deadline.
	_ = c.raw.SetWriteDeadline(time.Now().Add(DefaultHandshakeTimeout))
	err := c.Conn.Handshake()
	_ = c.raw.SetWriteDeadline(time.Time{})
	seen := c.raw.stop()
	if err == nil {
		return
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && rh.Conn != nil {
		c.log.Warn("closing connection: client did not start TLS (plaintext on a TLS port)", "remote", c.raw.RemoteAddr().String())
		refusePlaintext(c.raw.Conn, seen)
	} else if !errors.Is(err, io.EOF) {
		c.log.Warn("closing connection: TLS handshake failed", "remote", c.raw.RemoteAddr().String(), "err", err)
	}
	c.err = &tlsHandshakeError{err: err}
}

// tlsHandshakeError ends the connection quietly: handshake() has logged it already.
type tlsHandshakeError struct{ err error }

func (e *tlsHandshakeError) Error() string { return "tls handshake: " + e.err.Error() }

// reason names the failure for the metrics, or "" for a client that just went away.
func (e *tlsHandshakeError) reason() string {
	var rh tls.RecordHeaderError
	var ne net.Error
	switch {
	case errors.As(e.err, &rh) && rh.Conn != nil:
		return "plaintext"
	case errors.Is(e.err, io.EOF):
		return ""
	case errors.As(e.err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "refused"
}
func (e *tlsHandshakeError) Unwrap() error { return io.EOF }

// refusePlaintext reads the plain frame whose first bytes are start, and answers it with an
// ErrorResponse carrying the same request id. Anything that is not a frame is just closed.
func refusePlaintext(nc net.Conn, start []byte) {
	_ = nc.SetDeadline(time.Now().Add(time.Second))
	r := io.MultiReader(bytes.NewReader(start), nc)
	payload, err := wire.ReadFrame(io.LimitReader(r, 64<<10), nil)
	if err != nil {
		return
	}
	msg, err := wire.DecodeMessage(payload)
	req, ok := msg.(*wire.Request)
	if err != nil || !ok {
		return
	}
	frame, err := wire.AppendFrame(nil, &wire.Response{RequestID: req.ID,
		Payload: wire.ErrorResponse{Code: wire.ErrInvalidRequest, Message: PlaintextRefusal}})
	if err == nil {
		_, _ = nc.Write(frame)
	}
}
