package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

func recvMsg(t *testing.T, c *rawconn.Conn) wire.Message {
	t.Helper()
	m, err := c.RecvMessage()
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

func subscribeRaw(t *testing.T, c *rawconn.Conn, tenant, sid, from uint64, credits uint32) wire.SubscribeResponse {
	t.Helper()
	resp := call(t, c, tenant, wire.SubscribeRequest{StreamID: sid, FromOffset: from, InitialCredits: credits})
	r, ok := resp.(wire.SubscribeResponse)
	if !ok {
		t.Fatalf("subscribe: %#v", resp)
	}
	if r.StartOffset != from || r.Credits != credits || r.SubscriptionID == 0 {
		t.Fatalf("subscribe answered %#v for from %d, credits %d", r, from, credits)
	}
	return r
}

// The core promise: every committed event is pushed once, in order, at the right offset, with
// the credit balance after each batch, while another connection appends.
func TestSubscribeDeliversEveryEventOnceInOrder(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	w := dial(t, ts.addr)
	sid := createStream(t, w, 1, "follow")
	sub := dial(t, ts.addr)
	const total = 10_000
	r := subscribeRaw(t, sub, 1, sid, 0, total)

	go func() {
		for off := 0; off < total; off += 100 {
			evs := make([][]byte, 100)
			for i := range evs {
				evs[i] = []byte(fmt.Sprintf("event-%d", off+i))
			}
			if _, err := w.Send(1, wire.AppendEventsRequest{StreamID: sid, Events: evs, ExpectedOffset: uint64(off)}); err != nil {
				return
			}
		}
		_ = w.Flush()
	}()

	next, batches := uint64(0), 0
	for next < total {
		m := recvMsg(t, sub)
		p, ok := m.(*wire.Push)
		if !ok {
			t.Fatalf("got %#v, want a push", m)
		}
		ev, ok := p.Payload.(wire.SubscriptionEvents)
		if !ok {
			t.Fatalf("got %#v, want events", p.Payload)
		}
		if ev.SubscriptionID != r.SubscriptionID || ev.StartOffset != next || len(ev.Events) == 0 {
			t.Fatalf("push for subscription %d from %d with %d events, want %d from %d", ev.SubscriptionID, ev.StartOffset, len(ev.Events), r.SubscriptionID, next)
		}
		for i, e := range ev.Events {
			if want := fmt.Sprintf("event-%d", next+uint64(i)); string(e) != want {
				t.Fatalf("event at %d is %q, want %q", next+uint64(i), e, want)
			}
		}
		next += uint64(len(ev.Events))
		if ev.CreditsRemaining != uint32(total-next) {
			t.Fatalf("credits after offset %d: %d, want %d", next, ev.CreditsRemaining, total-next)
		}
		batches++
	}
	for i := 0; i < total/100; i++ { // the writer's answers, all accepted
		if resp, err := w.Recv(); err != nil {
			t.Fatal(err)
		} else if _, ok := resp.Payload.(wire.AppendEventsResponse); !ok {
			t.Fatalf("append: %#v", resp.Payload)
		}
	}
	t.Logf("%d events in %d pushes", total, batches)
}

// A subscription without credits pushes nothing until credits are granted, then exactly as many
// events as granted.
func TestSubscribeCreditsGateTheFlow(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	w := dial(t, ts.addr)
	sid := createStream(t, w, 1, "gated")
	for i := range 10 {
		appendEvents(t, w, 1, sid, uint64(i), fmt.Sprintf("e%d", i))
	}
	c := dial(t, ts.addr)
	r := subscribeRaw(t, c, 1, sid, 2, 0)
	// A round trip on the connection: with no credits nothing may come before its answer.
	if m := recvAfter(t, c, wire.GetServerInfoRequest{}); len(m) != 0 {
		t.Fatalf("pushed %#v without credits", m)
	}
	if _, err := c.Send(1, wire.SubscribeCreditRequest{SubscriptionID: r.SubscriptionID, AdditionalCredits: 3}); err != nil {
		t.Fatal(err)
	}
	_ = c.Flush()
	var got []string
	acked := false
	for !acked || len(got) < 3 {
		switch m := recvMsg(t, c).(type) {
		case *wire.Response:
			if m.Payload != (wire.SubscriptionAckResponse{SubscriptionID: r.SubscriptionID, CreditsRemaining: 3}) {
				t.Fatalf("credit answer %#v", m.Payload)
			}
			acked = true
		case *wire.Push:
			ev := m.Payload.(wire.SubscriptionEvents)
			if ev.StartOffset != uint64(2+len(got)) {
				t.Fatalf("push from %d after %d events", ev.StartOffset, len(got))
			}
			for _, e := range ev.Events {
				got = append(got, string(e))
			}
			if ev.CreditsRemaining != uint32(3-len(got)) {
				t.Fatalf("credits remaining %d after %d events", ev.CreditsRemaining, len(got))
			}
		}
	}
	if fmt.Sprint(got) != "[e2 e3 e4]" {
		t.Fatalf("events %v, want [e2 e3 e4]", got)
	}
	// Unsubscribe: answer, then SubscriptionClosed{ClientCancelled}, and no event beyond the
	// three granted anywhere in between.
	m := recvAfter(t, c, wire.UnsubscribeRequest{SubscriptionID: r.SubscriptionID})
	if len(m) != 0 {
		t.Fatalf("pushed %#v beyond the credits", m)
	}
	closed, ok := recvMsg(t, c).(*wire.Push)
	if !ok || closed.Payload != (wire.SubscriptionClosed{SubscriptionID: r.SubscriptionID, Reason: wire.CloseClientCancelled}) {
		t.Fatalf("after Unsubscribe: %#v, want SubscriptionClosed{ClientCancelled}", closed)
	}
	notFound := fmt.Sprintf("subscription %d not found", r.SubscriptionID)
	wantError(t, call(t, c, 1, wire.UnsubscribeRequest{SubscriptionID: r.SubscriptionID}), wire.ErrSubscriptionNotFound, notFound)
	wantError(t, call(t, c, 1, wire.SubscribeCreditRequest{SubscriptionID: r.SubscriptionID, AdditionalCredits: 1}), wire.ErrSubscriptionNotFound, notFound)
	// After the close nothing more comes: the next frame is the answer to this request.
	if m := recvAfter(t, c, wire.GetServerInfoRequest{}); len(m) != 0 {
		t.Fatalf("pushed %#v after the subscription closed", m)
	}
}

// recvAfter sends p and returns the pushes received before its answer, which it checks is not
// an error unless p is expected to fail.
func recvAfter(t *testing.T, c *rawconn.Conn, p wire.RequestPayload) []*wire.Push {
	t.Helper()
	id, err := c.Send(1, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	var pushes []*wire.Push
	for {
		switch m := recvMsg(t, c).(type) {
		case *wire.Push:
			pushes = append(pushes, m)
		case *wire.Response:
			if m.RequestID != id {
				t.Fatalf("answer to %d, want %d", m.RequestID, id)
			}
			if e, ok := m.Payload.(wire.ErrorResponse); ok {
				t.Fatalf("%T: %v", p, e)
			}
			return pushes
		}
	}
}

func TestSubscribeRefusals(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "mine")
	wantError(t, call(t, c, 2, wire.SubscribeRequest{StreamID: sid, InitialCredits: 10}), wire.ErrStreamNotFound,
		fmt.Sprintf("stream with id %d not found", sid))
	group := "workers"
	wantError(t, call(t, c, 1, wire.SubscribeRequest{StreamID: sid, InitialCredits: 10, ConsumerGroup: &group}), wire.ErrInvalidRequest,
		`consumer groups are not implemented (consumer_group "workers"): subscribe without one`)
	wantError(t, call(t, c, 1, wire.SubscribeCreditRequest{SubscriptionID: 12345, AdditionalCredits: 1}), wire.ErrSubscriptionNotFound, "subscription 12345 not found")
	wantError(t, call(t, c, 1, wire.UnsubscribeRequest{SubscriptionID: 12345}), wire.ErrSubscriptionNotFound, "subscription 12345 not found")
}

func TestSubscribeTenantIsolationWithAuth(t *testing.T) {
	ts := start(t, server.Options{AuthTokens: map[string]uint64{"one": 1, "two": 2}}, nil)
	a := dial(t, ts.addr)
	call(t, a, 1, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: tokenPtr("one")})
	sid := createStream(t, a, 1, "private")
	b := dial(t, ts.addr)
	call(t, b, 2, wire.HandshakeRequest{ClientVersion: wire.Version, AuthToken: tokenPtr("two")})
	wantError(t, call(t, b, 2, wire.SubscribeRequest{StreamID: sid, InitialCredits: 10}), wire.ErrStreamNotFound,
		fmt.Sprintf("stream with id %d not found", sid))
	wantError(t, call(t, b, 1, wire.SubscribeRequest{StreamID: sid, InitialCredits: 10}), wire.ErrAuthenticationFailed,
		"tenant ID mismatch: token is for tenant 2, request targets tenant 1")
	anon := dial(t, ts.addr)
	wantError(t, call(t, anon, 1, wire.SubscribeRequest{StreamID: sid, InitialCredits: 10}), wire.ErrAuthenticationFailed,
		"must authenticate via Handshake first")
}

func TestSubscriptionCaps(t *testing.T) {
	ts := start(t, server.Options{MaxSubscriptionsPerConn: 2, MaxSubscriptions: 3}, nil)
	a := dial(t, ts.addr)
	sid := createStream(t, a, 1, "capped")
	first := subscribeRaw(t, a, 1, sid, 0, 1)
	subscribeRaw(t, a, 1, sid, 0, 0)
	wantError(t, call(t, a, 1, wire.SubscribeRequest{StreamID: sid}), wire.ErrRateLimited,
		"this connection has 2 subscriptions, the most the server allows per connection (max-subscriptions-per-conn); unsubscribe one or use another connection")
	b := dial(t, ts.addr)
	subscribeRaw(t, b, 1, sid, 0, 0)
	wantError(t, call(t, b, 1, wire.SubscribeRequest{StreamID: sid}), wire.ErrRateLimited,
		"the server has 3 subscriptions open, its limit (max-subscriptions); try again later")
	recvAfter(t, a, wire.UnsubscribeRequest{SubscriptionID: first.SubscriptionID})
	subscribeRaw(t, b, 1, sid, 0, 0)
	// A closed connection gives its subscriptions back.
	_ = a.Close()
	c := dial(t, ts.addr)
	waitFor(t, "the closed connection's subscription to be released", func() bool {
		resp := call(t, c, 1, wire.SubscribeRequest{StreamID: sid})
		_, ok := resp.(wire.SubscribeResponse)
		return ok
	})
}

// Shutdown tells every open subscription ServerShutdown before the connection closes.
func TestSubscribeServerShutdown(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := createStream(t, c, 1, "s")
	r := subscribeRaw(t, c, 1, sid, 0, 10)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	p, ok := recvMsg(t, c).(*wire.Push)
	if !ok || p.Payload != (wire.SubscriptionClosed{SubscriptionID: r.SubscriptionID, Reason: wire.CloseServerShutdown}) {
		t.Fatalf("got %#v, want SubscriptionClosed{ServerShutdown}", p)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// probeSubscribe proves the subscribe capability: a subscriber receives an event appended
// after it subscribed, then unsubscribes.
func probeSubscribe(t *testing.T, addr string, w *rawconn.Conn, sid uint64) {
	c := dial(t, addr)
	n := call(t, w, 1, wire.StreamInfoRequest{StreamID: sid}).(wire.StreamInfoResponse).Length
	r := subscribeRaw(t, c, 1, sid, n, 1)
	appendEvents(t, w, 1, sid, n, "pushed")
	p, ok := recvMsg(t, c).(*wire.Push)
	if !ok || fmt.Sprint(p.Payload) != fmt.Sprint(wire.SubscriptionEvents{SubscriptionID: r.SubscriptionID, StartOffset: n, Events: [][]byte{[]byte("pushed")}}) {
		t.Fatalf("got %#v, want the appended event", p)
	}
	recvAfter(t, c, wire.UnsubscribeRequest{SubscriptionID: r.SubscriptionID})
}

// A connection holding a subscription is listening, not idle: the idle timeout that closes a
// silent connection leaves it open.
func TestSubscriptionKeepsConnectionFromIdleTimeout(t *testing.T) {
	ts := start(t, server.Options{IdleTimeout: 200 * time.Millisecond}, nil)
	sub := dial(t, ts.addr)
	sid := createStream(t, sub, 1, "quiet")
	r := subscribeRaw(t, sub, 1, sid, 0, 10)
	idle := dial(t, ts.addr)
	call(t, idle, 1, wire.GetServerInfoRequest{})
	wantClosed(t, idle) // the idle timeout has passed for both connections
	w := dial(t, ts.addr)
	appendEvents(t, w, 1, sid, 0, "late")
	p, ok := recvMsg(t, sub).(*wire.Push)
	if !ok || fmt.Sprint(p.Payload) != fmt.Sprint(wire.SubscriptionEvents{SubscriptionID: r.SubscriptionID, StartOffset: 0, Events: [][]byte{[]byte("late")}, CreditsRemaining: 9}) {
		t.Fatalf("got %#v after the idle timeout, want the event", p)
	}
}
