package main

import (
	"fmt"
	"net"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// client sends raw v5 frames, one request at a time.
type client struct {
	conn net.Conn
	id   uint64
	buf  []byte
	rbuf []byte
}

type serverError struct {
	code wire.ErrorCode
	msg  string
}

func (e *serverError) Error() string { return fmt.Sprintf("%v: %s", e.code, e.msg) }

func dial(addr string) (*client, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	return &client{conn: conn}, nil
}

func (c *client) close() { _ = c.conn.Close() }

func (c *client) call(tenant uint64, p wire.RequestPayload, timeout time.Duration) (wire.ResponsePayload, error) {
	c.id++
	var err error
	c.buf, err = wire.AppendFrame(c.buf[:0], &wire.Request{ID: c.id, TenantID: tenant, Payload: p})
	if err != nil {
		return nil, err
	}
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := c.conn.Write(c.buf); err != nil {
		return nil, err
	}
	payload, err := wire.ReadFrame(c.conn, c.rbuf)
	if err != nil {
		return nil, err
	}
	c.rbuf = payload[:0]
	m, err := wire.DecodeMessage(payload)
	if err != nil {
		return nil, err
	}
	resp, ok := m.(*wire.Response)
	if !ok || resp.RequestID != c.id {
		return nil, fmt.Errorf("unexpected message %#v", m)
	}
	if e, ok := resp.Payload.(wire.ErrorResponse); ok {
		return nil, &serverError{code: e.Code, msg: e.Message}
	}
	return resp.Payload, nil
}

func probeSync(addr string) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.close()
	_, err = c.call(0, wire.SyncRequest{}, 2*time.Second)
	return err
}
