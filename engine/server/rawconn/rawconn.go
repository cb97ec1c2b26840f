// Package rawconn is a minimal protocol v5 client for tests and benchmarks of the server: it
// writes request frames exactly as given, pipelines as many as the caller wants, and reads
// responses back one by one. It has no pooling, retries or leader tracking (that is pool/).
package rawconn

import (
	"bufio"
	"fmt"
	"net"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// Conn is one client connection. It is not safe for concurrent use.
type Conn struct {
	nc     net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	nextID uint64
	buf    []byte
}

// Dial connects to addr.
func Dial(addr string, timeout time.Duration) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return New(nc), nil
}

// New wraps an established connection.
func New(nc net.Conn) *Conn {
	return &Conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10), nextID: 1}
}

// NetConn is the underlying connection (for deadlines and raw writes).
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Send buffers one request for tenant and returns its id; Flush sends it.
func (c *Conn) Send(tenant uint64, p wire.RequestPayload) (uint64, error) {
	return c.SendRequest(&wire.Request{TenantID: tenant, Payload: p})
}

// SendRequest buffers req (with its audit metadata) under the next request id, which it sets
// in req and returns; Flush sends it.
func (c *Conn) SendRequest(req *wire.Request) (uint64, error) {
	id := c.nextID
	c.nextID++
	req.ID = id
	frame, err := wire.AppendFrame(c.buf[:0], req)
	if err != nil {
		return 0, err
	}
	c.buf = frame
	_, err = c.w.Write(frame)
	return id, err
}

// WriteRaw buffers raw bytes (a hand-made or corrupted frame).
func (c *Conn) WriteRaw(b []byte) error {
	_, err := c.w.Write(b)
	return err
}

// Flush sends everything buffered.
func (c *Conn) Flush() error { return c.w.Flush() }

// Recv reads the next frame and returns it as a response.
func (c *Conn) Recv() (*wire.Response, error) {
	payload, err := wire.ReadFrame(c.r, nil)
	if err != nil {
		return nil, err
	}
	m, err := wire.DecodeMessage(payload)
	if err != nil {
		return nil, err
	}
	resp, ok := m.(*wire.Response)
	if !ok {
		return nil, fmt.Errorf("rawconn: got %T, want a response", m)
	}
	return resp, nil
}

// Call sends one request and waits for its response, checking the request id.
func (c *Conn) Call(tenant uint64, p wire.RequestPayload) (wire.ResponsePayload, error) {
	return c.CallRequest(&wire.Request{TenantID: tenant, Payload: p})
}

// CallRequest sends req and waits for its response, checking the request id.
func (c *Conn) CallRequest(req *wire.Request) (wire.ResponsePayload, error) {
	id, err := c.SendRequest(req)
	if err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	resp, err := c.Recv()
	if err != nil {
		return nil, err
	}
	if resp.RequestID != id {
		return nil, fmt.Errorf("rawconn: response to request %d, want %d", resp.RequestID, id)
	}
	return resp.Payload, nil
}

// Handshake performs a v5 handshake with an optional token.
func (c *Conn) Handshake(tenant uint64, token *string) (wire.ResponsePayload, error) {
	return c.Call(tenant, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: token})
}

// RoundTrip dials addr, sends one request for tenant 0 and returns the response payload, all
// within timeout. It is the probe behind readiness and leader checks: a wire.ErrorResponse is
// returned as a payload, not as an error, so the caller decides what a refusal means.
func RoundTrip(addr string, timeout time.Duration, p wire.RequestPayload) (wire.ResponsePayload, error) {
	c, err := Dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	return c.Call(0, p)
}
