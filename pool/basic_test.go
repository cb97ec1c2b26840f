package pool_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func TestOperationsAgainstServer(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	ctx := pooltest.Ctx(t, 20*time.Second)

	id, err := c.CreateStream(ctx, "orders", wire.DataClassPII, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateStream(ctx, "orders", wire.DataClassPHI, wire.PlacementGlobal)
	if err != nil || again != id {
		t.Fatalf("CreateStream is not idempotent: %d vs %d (%v)", again, id, err)
	}
	first, err := c.Append(ctx, id, [][]byte{[]byte("a"), nil, []byte("c")}, pool.AppendOptions{})
	if err != nil || first != 0 {
		t.Fatalf("append: %d %v", first, err)
	}
	first, err = c.Append(ctx, id, [][]byte{[]byte("d")}, pool.AppendOptions{})
	if err != nil || first != 3 {
		t.Fatalf("second append: %d %v", first, err)
	}
	exp := uint64(4)
	if first, err = c.Append(ctx, id, [][]byte{[]byte("e")}, pool.AppendOptions{ExpectedOffset: &exp}); err != nil || first != 4 {
		t.Fatalf("conditional append: %d %v", first, err)
	}
	exp = 2
	_, err = c.Append(ctx, id, [][]byte{[]byte("x")}, pool.AppendOptions{ExpectedOffset: &exp})
	if !errors.Is(err, pool.ErrOffsetMismatch) {
		t.Fatalf("stale expected offset: got %v, want OffsetMismatch", err)
	}
	if pool.IsRetryable(err) {
		t.Fatalf("OffsetMismatch must not be retryable")
	}
	n, err := c.StreamLength(ctx, id)
	if err != nil || n != 5 {
		t.Fatalf("length %d %v", n, err)
	}
	r, err := c.Read(ctx, id, 1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "c", "d", "e"}
	if len(r.Events) != len(want) || r.NextOffset != 5 || !r.HasMore {
		t.Fatalf("read: %+v", r)
	}
	for i, e := range r.Events {
		if e.Offset != uint64(1+i) || string(e.Data) != want[i] {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	r, err = c.Read(ctx, id, 5, 100)
	if err != nil || len(r.Events) != 0 || r.NextOffset != 5 || r.HasMore {
		t.Fatalf("read at end: %+v %v", r, err)
	}
	var all [][]byte
	it := c.ReadAll(ctx, id, 0, 1)
	for it.Next() {
		all = append(all, it.Event().Data)
	}
	if it.Err() != nil || len(all) != 5 || !bytes.Equal(all[4], []byte("e")) {
		t.Fatalf("ReadAll: %q %v", all, it.Err())
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := c.ServerInfo(ctx)
	if err != nil || info.ProtocolVersion != 5 {
		t.Fatalf("server info %+v %v", info, err)
	}
	_, err = c.StreamLength(ctx, id+1000)
	if !errors.Is(err, pool.ErrNotFound) {
		t.Fatalf("missing stream length: %v", err)
	}
	_, err = c.Append(ctx, id+1000, [][]byte{[]byte("x")}, pool.AppendOptions{})
	if !errors.Is(err, pool.ErrNotFound) {
		t.Fatalf("append to missing stream: %v", err)
	}
	st := c.Stats()
	if st.OperationsCount["append"] != 5 || st.Leader != s.Addr || st.ErrorsCount["StreamNotFound"] != 2 {
		t.Fatalf("stats: %+v", st)
	}
}
