package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// serial compares one-at-a-time round trips: the client, raw wire frames to the same server,
// and a loopback ping-pong that only moves bytes of the same sizes.
func serial(ctx context.Context, c *pool.Client, addr string) error {
	fmt.Println("serial round trips (mean latency; lower is better):")
	id, err := c.CreateStream(ctx, "serial", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return err
	}
	ev := bytes.Repeat([]byte("e"), eventSize)
	n := *serialN

	// Append, three ways, interleaved in rounds so that drift in fsync cost (the stream and the
	// file grow) falls on all of them alike.
	raw, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	const rounds = 10
	per := n / rounds
	var clientT, explicitT, rawT time.Duration
	var reqLen, respLen int
	for r := 0; r < rounds; r++ {
		start := time.Now()
		for i := 0; i < per; i++ {
			if _, err := c.Append(ctx, id, [][]byte{ev}, pool.AppendOptions{}); err != nil {
				return err
			}
		}
		clientT += time.Since(start)

		// With an explicit expected offset: no append queue, the caller's goroutine sends.
		tail, err := c.StreamLength(ctx, id)
		if err != nil {
			return err
		}
		start = time.Now()
		for i := 0; i < per; i++ {
			exp := tail + uint64(i)
			if _, err := c.Append(ctx, id, [][]byte{ev}, pool.AppendOptions{ExpectedOffset: &exp}); err != nil {
				return err
			}
		}
		explicitT += time.Since(start)

		tail += uint64(per)
		start = time.Now()
		for i := 0; i < per; i++ {
			p, q, err := raw.call(wire.AppendEventsRequest{StreamID: id, Events: [][]byte{ev}, ExpectedOffset: tail})
			if err != nil {
				return err
			}
			if _, ok := p.(wire.AppendEventsResponse); !ok {
				return fmt.Errorf("raw append: %#v", p)
			}
			reqLen, respLen = q, raw.lastResp
			tail++
		}
		rawT += time.Since(start)
	}
	clientAppend, clientExplicit, rawAppend := perOp(clientT, rounds*per), perOp(explicitT, rounds*per), perOp(rawT, rounds*per)
	pingAppend, err := pingPong(reqLen, respLen, n)
	if err != nil {
		return err
	}
	report("append 1 event: client vs raw wire", us(clientAppend), "client", us(rawAppend), "raw wire", "us")
	report("append 1 event, expected offset given", us(clientExplicit), "client", us(rawAppend), "raw wire", "us")
	report(fmt.Sprintf("append 1 event: client vs ping-pong %d/%d B", reqLen, respLen), us(clientAppend), "client", us(pingAppend), "ping-pong", "us")

	// Small read: one event, interleaved the same way, with a ping-pong of the same frame sizes
	// in each round too, so that every round gives its own ratio.
	var readT, rawReadT, pingReadT time.Duration
	for r := 0; r < rounds; r++ {
		start := time.Now()
		for i := 0; i < per; i++ {
			res, err := c.Read(ctx, id, uint64(i), eventSize)
			if err != nil {
				return err
			}
			if len(res.Events) != 1 {
				return fmt.Errorf("read %d events", len(res.Events))
			}
		}
		clientR := time.Since(start)
		readT += clientR
		start = time.Now()
		for i := 0; i < per; i++ {
			p, q, err := raw.call(wire.ReadEventsRequest{StreamID: id, FromOffset: uint64(i), MaxBytes: eventSize})
			if err != nil {
				return err
			}
			if res, ok := p.(wire.ReadEventsResponse); !ok || len(res.Events) != 1 {
				return fmt.Errorf("raw read: %#v", p)
			}
			reqLen, respLen = q, raw.lastResp
		}
		rawR := time.Since(start)
		rawReadT += rawR
		ping, err := pingPong(reqLen, respLen, per)
		if err != nil {
			return err
		}
		pingReadT += ping * time.Duration(per)
		fmt.Printf("RATIO go/ping-pong.read %.3f <=1.6 # Go client serial 1-event read / loopback ping-pong of the same frame sizes\n",
			float64(clientR)/float64(ping*time.Duration(per)))
		fmt.Printf("RATIO go/raw-wire.read %.3f # Go client serial 1-event read / the same frame on a raw connection\n",
			float64(clientR)/float64(rawR))
	}
	clientRead, rawRead, pingRead := perOp(readT, rounds*per), perOp(rawReadT, rounds*per), perOp(pingReadT, rounds*per)
	report("read 1 event: client vs raw wire", us(clientRead), "client", us(rawRead), "raw wire", "us")
	report(fmt.Sprintf("read 1 event: client vs ping-pong %d/%d B", reqLen, respLen), us(clientRead), "client", us(pingRead), "ping-pong", "us")
	return nil
}

func perOp(d time.Duration, n int) time.Duration { return d / time.Duration(n) }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// pingPong measures a loopback round trip that sends req bytes and answers resp bytes, with no
// decoding and no server logic: the floor for a request of that size.
func pingPong(req, resp, n int) (time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	go func() {
		s, err := l.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		in, out := make([]byte, req), make([]byte, resp)
		for {
			if _, err := io.ReadFull(s, in); err != nil {
				return
			}
			if _, err := s.Write(out); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	out, in := make([]byte, req), make([]byte, resp)
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Write(out); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, in); err != nil {
			return 0, err
		}
	}
	return perOp(time.Since(start), n), nil
}
