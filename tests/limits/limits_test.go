package limits

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

const (
	tenant = 1
	token  = "limits-token"
	mib    = 1 << 20
	// served is how quickly another client must be answered while the server is under attack.
	served = 2 * time.Second
)

// readRSS is the resident memory of process pid in bytes, from /proc.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func rss(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := readRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// peakRSS samples the server's RSS until stop is closed and returns the highest value seen.
func peakRSS(t *testing.T, pid int, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := readRSS(pid); err == nil {
				peak = max(peak, n)
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// dialFrom connects to addr from the local IP from (a loopback address such as 127.0.0.2), so a
// client counts as another address than the attacker's.
func dialFrom(t *testing.T, from, addr string) *rawconn.Conn {
	t.Helper()
	d := net.Dialer{Timeout: served, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return rawconn.New(nc)
}

// mustCall makes one call that must be answered within the served deadline.
func mustCall(t *testing.T, c *rawconn.Conn, p wire.RequestPayload) wire.ResponsePayload {
	t.Helper()
	_ = c.NetConn().SetDeadline(time.Now().Add(served))
	resp, err := c.Call(tenant, p)
	if err != nil {
		t.Fatalf("%T not answered within %v: %v", p, served, err) // server log in the cleanup
	}
	if e, ok := resp.(wire.ErrorResponse); ok {
		t.Fatalf("%T: %v %q", p, e.Code, e.Message)
	}
	return resp
}

// otherClient checks that a fresh client from another address is served within the deadline:
// it authenticates when the server wants a token, then appends a distinct event and reads it back.
func otherClient(t *testing.T, addr string, sid uint64, tag string) {
	t.Helper()
	c := dialFrom(t, "127.0.0.2", addr)
	defer c.Close()
	tok := token
	if hs := mustCall(t, c, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: &tok}); !hs.(wire.HandshakeResponse).Authenticated {
		t.Fatalf("handshake: %#v", hs)
	}
	info := mustCall(t, c, wire.StreamInfoRequest{StreamID: sid}).(wire.StreamInfoResponse)
	ev := []byte("other client " + tag)
	a := mustCall(t, c, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{ev}, ExpectedOffset: info.Length}).(wire.AppendEventsResponse)
	r := mustCall(t, c, wire.ReadEventsRequest{StreamID: sid, FromOffset: a.FirstOffset, MaxBytes: 1 << 10}).(wire.ReadEventsResponse)
	if len(r.Events) != 1 || !bytes.Equal(r.Events[0], ev) {
		t.Fatalf("read back %q, want %q", r.Events, ev)
	}
}

// setup starts an authenticating server and creates a stream on an authenticated connection.
func setup(t *testing.T, extra ...string) (*testserver.Process, *rawconn.Conn, uint64) {
	t.Helper()
	p := testserver.StartServer(t, append([]string{"--auth-token", token + "=" + strconv.Itoa(tenant)}, extra...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", p.Output())
		}
	})
	c := dialFrom(t, "127.0.0.1", p.Addr)
	tok := token
	mustCall(t, c, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: &tok})
	sid := mustCall(t, c, wire.CreateStreamRequest{Name: "limits", Placement: wire.PlacementGlobal}).(wire.CreateStreamResponse).StreamID
	return p, c, sid
}

// authed dials from the attacker's address and authenticates.
func authed(t *testing.T, addr string) *rawconn.Conn {
	t.Helper()
	c := dialFrom(t, "127.0.0.1", addr)
	tok := token
	mustCall(t, c, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: &tok})
	return c
}

// Item 1: pipelined large reads on connections that never read their answers. The stream is
// 4 MiB (the answers of 5 x 40 reads would be 1.6 GB held at once without the response budget);
// the server may grow by at most 512 MiB.
func TestPipelinedReadsNeverReadAreBounded(t *testing.T) {
	const (
		streamBytes = 4 * mib
		eventSize   = 64 << 10
		conns       = 5
		reads       = 40
		maxGrowth   = 512 * mib
	)
	p, c, sid := setup(t)
	var off uint64
	for off*eventSize < streamBytes {
		batch := make([][]byte, 16)
		for i := range batch {
			batch[i] = bytes.Repeat([]byte{byte('a' + (int(off)+i)%26)}, eventSize)
		}
		a := mustCall(t, c, wire.AppendEventsRequest{StreamID: sid, Events: batch, ExpectedOffset: off}).(wire.AppendEventsResponse)
		off = a.FirstOffset + uint64(a.Count)
	}
	base := rss(t, p.Pid())

	stop := make(chan struct{})
	peak := peakRSS(t, p.Pid(), stop)
	for range conns {
		h := authed(t, p.Addr)
		for range reads {
			if _, err := h.Send(tenant, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 16 * mib}); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// While the answers pile up, another client is served, then memory is watched a while longer.
	otherClient(t, p.Addr, sid, "during reads")
	watch := time.Now().Add(3 * time.Second)
	for time.Now().Before(watch) {
		otherClient(t, p.Addr, sid, "watch "+time.Now().Format(time.RFC3339Nano))
	}
	close(stop)
	growth := <-peak - base
	t.Logf("server RSS %d MiB before, peak growth %d MiB with %d x %d unread 16 MiB reads of a %d MiB stream",
		base/mib, growth/mib, conns, reads, streamBytes/mib)
	if growth > maxGrowth {
		t.Fatalf("server grew by %d MiB, limit %d MiB", growth/mib, maxGrowth/mib)
	}
}

// emptyEventsFrame is one AppendEvents request frame carrying n empty events, built without
// materialising n slices in the test.
func emptyEventsFrame(t *testing.T, id, sid uint64, n int) []byte {
	t.Helper()
	// The message with no events ends with the event count (0) and the expected offset (0).
	msg := wire.AppendMessage(nil, &wire.Request{ID: id, TenantID: tenant, Payload: wire.AppendEventsRequest{StreamID: sid}})
	if !bytes.HasSuffix(msg, []byte{0, 0}) {
		t.Fatalf("unexpected encoding % x", msg)
	}
	payload := binary.AppendUvarint(msg[:len(msg)-2], uint64(n))
	payload = append(payload, make([]byte, n)...) // n empty events: a zero length each
	payload = append(payload, 0)                  // expected offset
	return wire.AppendRawFrame(nil, payload)
}

// Item 2: frames of millions of empty events are refused while decoding, naming the limit; the
// connection stays usable and memory stays bounded (at most 512 MiB growth).
func TestEmptyEventFloodRefused(t *testing.T) {
	const (
		events    = wire.MaxPayloadSize - 64
		frames    = 3
		maxGrowth = 512 * mib
	)
	p, c, sid := setup(t)
	base := rss(t, p.Pid())
	stop := make(chan struct{})
	peak := peakRSS(t, p.Pid(), stop)

	h := authed(t, p.Addr)
	for i := range frames {
		if err := h.WriteRaw(emptyEventsFrame(t, uint64(100+i), sid, events)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	otherClient(t, p.Addr, sid, "during flood")
	_ = h.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
	want := fmt.Sprintf("append carries %d events; the server accepts at most 100000 events per append (max-events-per-append)", events)
	for i := range frames {
		resp, err := h.Recv()
		if err != nil {
			t.Fatal(err)
		}
		e, ok := resp.Payload.(wire.ErrorResponse)
		if resp.RequestID != uint64(100+i) || !ok || e.Code != wire.ErrInvalidRequest || e.Message != want {
			t.Fatalf("response %d: id %d %#v, want InvalidRequest %q", i, resp.RequestID, resp.Payload, want)
		}
	}
	// The same connection still appends, and nothing of the refused frames was written.
	a := mustCall(t, h, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("after flood")}, ExpectedOffset: 1}).(wire.AppendEventsResponse)
	if a.FirstOffset != 1 {
		t.Fatalf("append after the flood at offset %d, want 1 (only the other client's event before it)", a.FirstOffset)
	}
	close(stop)
	growth := <-peak - base
	t.Logf("server RSS %d MiB before, peak growth %d MiB with %d frames of %d empty events", base/mib, growth/mib, frames, events)
	if growth > maxGrowth {
		t.Fatalf("server grew by %d MiB, limit %d MiB", growth/mib, maxGrowth/mib)
	}
	mustCall(t, c, wire.SyncRequest{})
}

// Item 3: connections that never authenticate, each announcing a 16 MiB frame and sending
// almost all of it, cost the server at most 128 MiB together.
func TestUnauthenticatedLargeFramesCostLittle(t *testing.T) {
	const (
		conns     = 30
		maxGrowth = 128 * mib
	)
	p, _, sid := setup(t)
	base := rss(t, p.Pid())
	stop := make(chan struct{})
	peak := peakRSS(t, p.Pid(), stop)

	var hdr [wire.HeaderSize]byte
	binary.BigEndian.PutUint32(hdr[0:4], wire.Magic)
	binary.BigEndian.PutUint16(hdr[4:6], wire.Version)
	binary.BigEndian.PutUint32(hdr[6:10], wire.MaxPayloadSize)
	body := make([]byte, wire.MaxPayloadSize-1)
	var wg sync.WaitGroup
	closed := make(chan error, conns)
	for range conns {
		c := dialFrom(t, "127.0.0.1", p.Addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := c.NetConn()
			_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
			_, _ = nc.Write(hdr[:])
			_, _ = nc.Write(body) // fails once the server has closed the connection
			// The server must have closed it: a read ends without any response.
			_, err := c.Recv()
			closed <- err
		}()
	}
	otherClient(t, p.Addr, sid, "during frames")
	wg.Wait()
	close(closed)
	for err := range closed {
		if err == nil {
			t.Fatal("an unauthenticated 16 MiB frame got a response")
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("an unauthenticated 16 MiB frame left the connection open: %v", err)
		}
	}
	close(stop)
	growth := <-peak - base
	t.Logf("server RSS %d MiB before, peak growth %d MiB with %d unauthenticated 16 MiB frames", base/mib, growth/mib, conns)
	if growth > maxGrowth {
		t.Fatalf("server grew by %d MiB, limit %d MiB", growth/mib, maxGrowth/mib)
	}
}

// Item 4: idle connections that never handshake, from one address, neither lock out another
// address (per-address cap) nor stay open (handshake deadline), even sending a byte now and then.
func TestIdleUnauthenticatedConnectionsDoNotLockOut(t *testing.T) {
	const (
		maxConns = 16
		perAddr  = 8
		attempts = 24
	)
	p, c, sid := setup(t, "--max-conns", strconv.Itoa(maxConns), "--max-conns-per-addr", strconv.Itoa(perAddr),
		"--handshake-timeout", "1s")
	_ = c.Close()

	ends := make(chan error, attempts)
	for i := range attempts {
		a := dialFrom(t, "127.0.0.1", p.Addr)
		go func() {
			nc := a.NetConn()
			_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
			if i == 0 {
				// One byte at a time, never a whole frame: only the handshake deadline ends it.
				go func() {
					for range 50 {
						if _, err := nc.Write([]byte{0x56}); err != nil {
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}()
			}
			_, err := a.Recv()
			ends <- err
		}()
	}
	otherClient(t, p.Addr, sid, "beside idle connections")
	for range attempts {
		err := <-ends
		if err == nil {
			t.Fatal("an idle connection got a response")
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("an idle unauthenticated connection stayed open: %v", err)
		}
	}
	// Every slot is free again: the attacker's address can connect and authenticate.
	authed(t, p.Addr)
	if out := p.Output(); !strings.Contains(out, "no handshake in time") || !strings.Contains(out, "per-address connection limit reached") {
		t.Fatalf("server log does not show both limits:\n%s", out)
	}
}

// Item 7: failed handshakes are answered slowly and close the connection after the limit.
func TestFailedHandshakesCloseTheConnection(t *testing.T) {
	p, _, _ := setup(t, "--max-auth-failures", "3")
	h := dialFrom(t, "127.0.0.1", p.Addr)
	for i := range 6 {
		bad := fmt.Sprintf("guess-%d", i)
		if _, err := h.Send(tenant, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: &bad}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = h.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
	for i := range 3 {
		resp, err := h.Recv()
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if e, ok := resp.Payload.(wire.ErrorResponse); !ok || e.Code != wire.ErrAuthenticationFailed {
			t.Fatalf("answer %d: %#v", i, resp.Payload)
		}
	}
	if resp, err := h.Recv(); err == nil {
		t.Fatalf("a fourth guess was answered: %#v", resp.Payload)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection stayed open after 3 failed handshakes: %v", err)
	}
}
