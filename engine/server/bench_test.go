package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

// benchConn is a raw connection with a 1-event stream, for the serial round-trip benchmarks
// (run with -benchmem to see what one request allocates in the server and the test's client).
func benchConn(b *testing.B) (*rawconn.Conn, uint64) {
	b.Helper()
	ts := start(b, server.Options{}, nil)
	c, err := rawconn.Dial(ts.addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	resp, err := c.Call(1, wire.CreateStreamRequest{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	sid := resp.(wire.CreateStreamResponse).StreamID
	if _, err := c.Call(1, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{make([]byte, 100)}}); err != nil {
		b.Fatal(err)
	}
	return c, sid
}

func BenchmarkSerialRead(b *testing.B) {
	c, sid := benchConn(b)
	b.ResetTimer()
	for range b.N {
		resp, err := c.Call(1, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 100})
		if err != nil {
			b.Fatal(err)
		}
		if r, ok := resp.(wire.ReadEventsResponse); !ok || len(r.Events) != 1 {
			b.Fatalf("read: %#v", resp)
		}
	}
}

func BenchmarkSerialStreamInfo(b *testing.B) {
	c, sid := benchConn(b)
	b.ResetTimer()
	for range b.N {
		resp, err := c.Call(1, wire.StreamInfoRequest{StreamID: sid})
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := resp.(wire.StreamInfoResponse); !ok {
			b.Fatalf("stream info: %#v", resp)
		}
	}
}

func BenchmarkSerialAppend(b *testing.B) {
	c, sid := benchConn(b)
	ev := [][]byte{make([]byte, 100)}
	b.ResetTimer()
	for i := range b.N {
		resp, err := c.Call(1, wire.AppendEventsRequest{StreamID: sid, Events: ev, ExpectedOffset: uint64(1 + i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := resp.(wire.AppendEventsResponse); !ok {
			b.Fatalf("append: %s", fmt.Sprintf("%#v", resp))
		}
	}
}
