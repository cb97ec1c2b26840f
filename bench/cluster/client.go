package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

// client sends raw v5 frames, one request at a time (rawconn), turning an Error response into a
// *serverError.
type client struct{ rc *rawconn.Conn }

type serverError struct {
	code wire.ErrorCode
	msg  string
}

func (e *serverError) Error() string { return fmt.Sprintf("%v: %s", e.code, e.msg) }

func dial(addr string) (*client, error) {
	rc, err := rawconn.Dial(addr, time.Second)
	if err != nil {
		return nil, err
	}
	return &client{rc: rc}, nil
}

func (c *client) close() { _ = c.rc.Close() }

func (c *client) call(tenant uint64, p wire.RequestPayload, timeout time.Duration) (wire.ResponsePayload, error) {
	_ = c.rc.NetConn().SetDeadline(time.Now().Add(timeout))
	resp, err := c.rc.Call(tenant, p)
	if err != nil {
		return nil, err
	}
	if e, ok := resp.(wire.ErrorResponse); ok {
		return nil, &serverError{code: e.Code, msg: e.Message}
	}
	return resp, nil
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

// term returns the raft term a node reports in its ServerInfo ("term:N").
func term(addr string) (uint64, error) {
	c, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.close()
	p, err := c.call(0, wire.GetServerInfoRequest{}, 5*time.Second)
	if err != nil {
		return 0, err
	}
	for _, cp := range p.(wire.ServerInfoResponse).Capabilities {
		if v, ok := strings.CutPrefix(cp, "term:"); ok {
			return strconv.ParseUint(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("%s reports no term", addr)
}
