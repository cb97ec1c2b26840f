package main

import (
	"bufio"
	"fmt"
	"net"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// rawConn speaks the wire protocol one request at a time, as Kimberlite's own SDKs do: send,
// wait for the answer, send the next.
type rawConn struct {
	nc       net.Conn
	r        *bufio.Reader
	id       uint64
	buf      []byte
	rbuf     []byte
	lastResp int
}

func dialRaw(addr string) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = nc.(*net.TCPConn).SetNoDelay(true)
	c := &rawConn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	if p, _, err := c.call(wire.HandshakeRequest{ClientVersion: wire.Version}); err != nil {
		nc.Close()
		return nil, err
	} else if _, ok := p.(wire.HandshakeResponse); !ok {
		nc.Close()
		return nil, fmt.Errorf("handshake: %#v", p)
	}
	return c, nil
}

// call sends one request and waits for its answer. It returns the answer and the request's
// frame size; lastResp holds the answer's frame size.
func (c *rawConn) call(p wire.RequestPayload) (wire.ResponsePayload, int, error) {
	c.id++
	var err error
	c.buf, err = wire.AppendFrame(c.buf[:0], &wire.Request{ID: c.id, Payload: p})
	if err != nil {
		return nil, 0, err
	}
	if _, err := c.nc.Write(c.buf); err != nil {
		return nil, 0, err
	}
	payload, err := wire.ReadFrame(c.r, c.rbuf)
	if err != nil {
		return nil, 0, err
	}
	c.rbuf = payload[:0]
	c.lastResp = wire.HeaderSize + len(payload)
	m, err := wire.DecodeMessage(payload)
	if err != nil {
		return nil, 0, err
	}
	resp, ok := m.(*wire.Response)
	if !ok || resp.RequestID != c.id {
		return nil, 0, fmt.Errorf("unexpected answer %#v", m)
	}
	return resp.Payload, len(c.buf), nil
}

func (c *rawConn) Close() error { return c.nc.Close() }
