package server_test

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

// TestMutatedRequestsNeverBreakTheServer sends valid frames whose payloads were corrupted at
// random (correct CRC, so they reach the decoder and the handlers), each followed by a Sync. The
// server must either close that connection or answer in order; it must never crash or hang,
// and other connections keep working throughout.
func TestMutatedRequestsNeverBreakTheServer(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	survivor := dial(t, ts.addr)
	sid := createStream(t, survivor, 1, "s")
	appendEvents(t, survivor, 1, sid, 0, "a", "b")

	seeds := []wire.RequestPayload{
		wire.HandshakeRequest{ClientVersion: 5, AuthToken: tokenPtr("tok")},
		wire.CreateStreamRequest{Name: "fuzz", DataClass: wire.DataClassPII, Placement: wire.Placement{Region: wire.Region{Kind: wire.RegionCustom, Custom: "eu"}}},
		wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("x"), []byte("yz")}, ExpectedOffset: 2},
		wire.ReadEventsRequest{StreamID: sid, FromOffset: 0, MaxBytes: 100},
		wire.StreamInfoRequest{StreamID: sid},
		wire.SubscribeRequest{StreamID: sid, InitialCredits: 5},
		wire.GetServerInfoRequest{},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const syncID = 1 << 40
	syncFrame, _ := wire.AppendFrame(nil, &wire.Request{ID: syncID, TenantID: 1, Payload: wire.SyncRequest{}})
	closed, answered := 0, 0
	for i := range 300 {
		seed := seeds[i%len(seeds)]
		payload := wire.AppendMessage(nil, &wire.Request{ID: uint64(i), TenantID: 1, Payload: seed})
		for range 1 + rng.IntN(3) {
			if len(payload) == 0 {
				break
			}
			switch pos := rng.IntN(len(payload)); rng.IntN(3) {
			case 0:
				payload[pos] = byte(rng.IntN(256))
			case 1:
				payload = payload[:pos]
			default:
				payload = append(payload[:pos], append([]byte{byte(rng.IntN(256))}, payload[pos:]...)...)
			}
		}
		nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = nc.Write(append(wire.AppendRawFrame(nil, payload), syncFrame...))
		c := rawconn.New(nc)
		for {
			resp, err := c.Recv()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("case %d (%x): server neither answered nor closed", i, payload)
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
					t.Fatalf("case %d: server sent something unreadable: %v", i, err)
				}
				closed++
				break
			}
			if resp.RequestID == syncID {
				if resp.Payload != (wire.SyncResponse{Success: true}) {
					t.Fatalf("case %d: sync answered %#v", i, resp.Payload)
				}
				answered++
				break
			}
		}
		nc.Close()
	}
	t.Logf("%d connections closed, %d answered", closed, answered)
	if r := call(t, survivor, 1, wire.StreamInfoRequest{StreamID: sid}); r == nil {
		t.Fatal("survivor got no answer")
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}
