package pool_test

import (
	"bufio"
	"net"
	"testing"

	"github.com/kimberlite/libkimberlite/wire"
)

// benchRawRead is the same read as a minimal hand-written client sends it: one connection,
// write the frame, read the answer, nothing else.
func benchRawRead(b *testing.B, addr string, tenant, id uint64) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 64<<10)
	var buf, rbuf []byte
	var reqID uint64
	call := func(p wire.RequestPayload) wire.ResponsePayload {
		reqID++
		buf, err = wire.AppendFrame(buf[:0], &wire.Request{ID: reqID, TenantID: tenant, Payload: p})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := nc.Write(buf); err != nil {
			b.Fatal(err)
		}
		payload, err := wire.ReadFrame(r, rbuf)
		if err != nil {
			b.Fatal(err)
		}
		rbuf = payload[:0]
		m, err := wire.DecodeMessage(payload)
		if err != nil {
			b.Fatal(err)
		}
		return m.(*wire.Response).Payload
	}
	call(wire.HandshakeRequest{ClientVersion: wire.Version})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := call(wire.ReadEventsRequest{StreamID: id, FromOffset: 0, MaxBytes: 100}).(wire.ReadEventsResponse); !ok {
			b.Fatal("not a read answer")
		}
	}
}
