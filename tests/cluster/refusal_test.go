package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/wire"
)

// Refused writes get the same errors from a cluster as from a single node, and leave every
// replica unchanged.
func TestClusterRefusesBadWrites(t *testing.T) {
	c := testserver.StartCluster(t, 3)
	sid := leaderCreate(t, c, 5, "refusals")
	leaderAppend(t, c, 5, sid, 0, "a")
	cases := []struct {
		tenant uint64
		req    wire.RequestPayload
		code   wire.ErrorCode
		say    string
	}{
		{5, wire.AppendEventsRequest{StreamID: sid, ExpectedOffset: 1}, wire.ErrInvalidRequest, ""},
		{5, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("x")}, ExpectedOffset: 7}, wire.ErrOffsetMismatch,
			"expected 7, actual 1"},
		{6, wire.AppendEventsRequest{StreamID: sid, Events: [][]byte{[]byte("x")}, ExpectedOffset: 1}, wire.ErrStreamNotFound, ""},
		{5, wire.AppendEventsRequest{StreamID: wire.StreamID(5, 99), Events: [][]byte{[]byte("x")}}, wire.ErrStreamNotFound, ""},
	}
	for _, tc := range cases {
		deadline := time.Now().Add(30 * time.Second)
		for {
			// Ask whichever node leads; a NotLeader or a lost connection (leadership moved)
			// is no verdict, so ask again.
			var err error
			var cl *client
			if cl, err = dial(c.Nodes[c.WaitLeader(20*time.Second)].Addr); err == nil {
				_, err = cl.call(tc.tenant, tc.req)
				cl.close()
			}
			code, msg, ok := errCode(err)
			if ok && code != wire.ErrNotLeader {
				if code != tc.code || !strings.Contains(msg, tc.say) {
					t.Fatalf("%+v: got %v, want %v mentioning %q", tc.req, err, tc.code, tc.say)
				}
				break
			}
			if err == nil {
				t.Fatalf("%+v succeeded", tc.req)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%+v: %v", tc.req, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	leaderAppend(t, c, 5, sid, 1, "b")
	for _, a := range c.Addrs() {
		waitStream(t, a, 5, sid, []string{"a", "b"})
	}
}
