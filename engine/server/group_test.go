package server_test

import (
	"fmt"
	"testing"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/wire"
)

// A lone write is made durable on the connection's reader (engine.DB.WriteNow), but only while
// the client has sent nothing more: appends pipelined in one flush still share commits, and
// every one is answered, in order, at its own offset.
func TestPipelinedAppendsStillShareCommits(t *testing.T) {
	ts := start(t, server.Options{}, nil)
	c := dial(t, ts.addr)
	sid := call(t, c, 1, wire.CreateStreamRequest{Name: "pipelined"}).(wire.CreateStreamResponse).StreamID
	call(t, c, 1, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("lone")}})
	const n = 64
	before := ts.db.Stats().CommitCount
	for i := range n {
		if _, err := c.Send(1, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte(fmt.Sprintf("p-%d", i))},
			ExpectedOffset: uint64(1 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r, err := c.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := r.Payload.(wire.AppendEventsResponse); !ok || a.FirstOffset != uint64(1+i) {
			t.Fatalf("append %d: %#v", i, r.Payload)
		}
	}
	commits := ts.db.Stats().CommitCount - before
	t.Logf("%d pipelined appends in %d commits", n, commits)
	if commits >= n/2 {
		t.Fatalf("%d pipelined appends took %d commits: they were made durable one by one", n, commits)
	}
	events := call(t, c, 1, wire.ReadEventsRequest{StreamID: sid, MaxBytes: 1 << 20}).(wire.ReadEventsResponse).Events
	if len(events) != n+1 || string(events[0]) != "lone" || string(events[n]) != fmt.Sprintf("p-%d", n-1) {
		t.Fatalf("stream holds %d events: %q ... %q", len(events), events[0], events[len(events)-1])
	}
}
