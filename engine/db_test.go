package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

var ctx = context.Background()

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func submit(t *testing.T, db *DB, op Op) Result {
	t.Helper()
	return db.Submit(op).Wait(ctx)
}

func create(t *testing.T, db *DB, tenant uint64, name string) uint64 {
	t.Helper()
	r := submit(t, db, Op{Kind: OpCreateStream, Tenant: tenant, Name: name, DataClass: wire.DataClassPublic, Placement: wire.PlacementGlobal})
	if r.Err != nil {
		t.Fatalf("create %q: %v", name, r.Err)
	}
	return r.StreamID
}

func appendOK(t *testing.T, db *DB, tenant, sid, expected uint64, events ...string) uint64 {
	t.Helper()
	r := submit(t, db, Op{Kind: OpAppend, Tenant: tenant, StreamID: sid, Expected: expected, Events: evs(events...)})
	if r.Err != nil {
		t.Fatalf("append: %v", r.Err)
	}
	return r.FirstOffset
}

func evs(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, e := range s {
		out[i] = []byte(e)
	}
	return out
}

// wantErr checks that err is an *Error with the given code and exact message.
func wantErr(t *testing.T, err error, code wire.ErrorCode, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want *engine.Error %v %q", err, err, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Fatalf("got %v %q, want %v %q", e.Code, e.Message, code, msg)
	}
}

func TestStreamIDsPerTenantAndIdempotentCreate(t *testing.T) {
	db := openTest(t)
	if got := create(t, db, 42, "events"); got != 180388626433 {
		t.Fatalf("tenant 42's first stream = %d, want 180388626433", got)
	}
	if got := create(t, db, 42, "other"); got != wire.StreamID(42, 2) {
		t.Fatalf("second stream = %d", got)
	}
	if got := create(t, db, 42, "events"); got != 180388626433 {
		t.Fatalf("create again = %d, want the same id", got)
	}
	if got := create(t, db, 0, "events"); got != 1 {
		t.Fatalf("tenant 0's first stream = %d, want 1", got)
	}
	if got := create(t, db, 7, ""); got != wire.StreamID(7, 1) {
		t.Fatalf("empty name: %d", got)
	}
	// Stream ids keep 32 bits of tenant: a tenant above 2^32 lives in the id and name space of
	// its low 32 bits, so ids never collide.
	if got := create(t, db, 1<<32|7, "other"); got != wire.StreamID(7, 2) {
		t.Fatalf("tenant 2^32+7: %d, want %d", got, wire.StreamID(7, 2))
	}
	if n := db.TenantCount(); n != 3 {
		t.Fatalf("TenantCount = %d, want 3", n)
	}
}

func TestAllDataClassesStored(t *testing.T) {
	db := openTest(t)
	for c := 0; c < wire.DataClassCount; c++ {
		r := submit(t, db, Op{Kind: OpCreateStream, Tenant: 1, Name: fmt.Sprint("s", c), DataClass: wire.DataClass(c)})
		if r.Err != nil {
			t.Fatalf("class %d: %v", c, r.Err)
		}
		err := db.view(func(tx *bolt.Tx) error {
			rec, err := decodeStreamRecord(tx.Bucket(bucketStreams).Get(u64Key(r.StreamID)))
			if err == nil && rec.dataClass != wire.DataClass(c) {
				err = fmt.Errorf("stored class %d, want %d", rec.dataClass, c)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := submit(t, db, Op{Kind: OpCreateStream, Tenant: 1, Name: "bad", DataClass: 8})
	wantErr(t, r.Err, wire.ErrInvalidRequest, "unknown data class 8")
	r = submit(t, db, Op{Kind: OpCreateStream, Tenant: 1, Name: strings.Repeat("n", MaxStreamNameLen+1)})
	if r.Err == nil {
		t.Fatal("an over-long name was accepted")
	}
}

func TestAppendAndOffsets(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 42, "s")
	if first := appendOK(t, db, 42, sid, 0, "a", "b"); first != 0 {
		t.Fatalf("first = %d", first)
	}
	if first := appendOK(t, db, 42, sid, 2, "c"); first != 2 {
		t.Fatalf("first = %d", first)
	}
	n, err := db.StreamLength(ctx, 42, sid)
	if err != nil || n != 3 {
		t.Fatalf("length = %d, %v", n, err)
	}
	r := submit(t, db, Op{Kind: OpAppend, Tenant: 42, StreamID: sid, Expected: 1, Events: evs("x")})
	wantErr(t, r.Err, wire.ErrOffsetMismatch, fmt.Sprintf("offset mismatch for stream %d: expected 1, actual 3", sid))
	r = submit(t, db, Op{Kind: OpAppend, Tenant: 42, StreamID: sid, Expected: 3})
	if e := (*Error)(nil); !errors.As(r.Err, &e) || e.Code != wire.ErrInvalidRequest {
		t.Fatalf("empty append: %v", r.Err)
	}
	missing := wire.StreamID(42, 99)
	r = submit(t, db, Op{Kind: OpAppend, Tenant: 42, StreamID: missing, Events: evs("x")})
	wantErr(t, r.Err, wire.ErrStreamNotFound, fmt.Sprintf("stream with id %d not found", missing))
	_, err = db.StreamLength(ctx, 42, missing)
	wantErr(t, err, wire.ErrStreamNotFound, fmt.Sprintf("stream not found: %d", missing))
	r = submit(t, db, Op{Kind: 99, Tenant: 42})
	wantErr(t, r.Err, wire.ErrInvalidRequest, "unknown operation kind 99")
}

func TestEmptyEventIsStored(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "s")
	appendOK(t, db, 1, sid, 0, "", "x", "")
	got, next, err := db.Read(ctx, 1, sid, 0, 100)
	if err != nil || len(got) != 3 || len(got[0]) != 0 || string(got[1]) != "x" || len(got[2]) != 0 || *next != 3 {
		t.Fatalf("got %q next %v err %v", got, next, err)
	}
}

func TestTenantIsolation(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "mine")
	appendOK(t, db, 1, sid, 0, "secret")
	// Tenant 2 knows tenant 1's stream id: every operation says the stream does not exist.
	r := submit(t, db, Op{Kind: OpAppend, Tenant: 2, StreamID: sid, Expected: 1, Events: evs("x")})
	wantErr(t, r.Err, wire.ErrStreamNotFound, fmt.Sprintf("stream with id %d not found", sid))
	_, _, err := db.Read(ctx, 2, sid, 0, 1000)
	wantErr(t, err, wire.ErrStreamNotFound, fmt.Sprintf("stream with id %d not found", sid))
	_, err = db.StreamLength(ctx, 2, sid)
	wantErr(t, err, wire.ErrStreamNotFound, fmt.Sprintf("stream not found: %d", sid))
	// The same name in another tenant is another stream.
	if other := create(t, db, 2, "mine"); other == sid || other != wire.StreamID(2, 1) {
		t.Fatalf("tenant 2's stream = %d", other)
	}
	// A missing stream of the request's own tenant reads as empty.
	ev, next, err := db.Read(ctx, 1, wire.StreamID(1, 50), 0, 1000)
	if err != nil || len(ev) != 0 || next != nil {
		t.Fatalf("missing own stream: %q %v %v", ev, next, err)
	}
}

func TestReadBounds(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 3, "s")
	appendOK(t, db, 3, sid, 0, "aaaa", "bbbb", "cccc", "dddd")
	cases := []struct {
		from, max uint64
		want      []string
		next      int64 // -1 = None
	}{
		{0, 0, nil, -1},                     // max_bytes 0 yields nothing
		{0, 1, []string{"aaaa"}, 1},         // one event even when it exceeds the limit
		{0, 4, []string{"aaaa"}, 1},         // limit reached exactly
		{0, 5, []string{"aaaa", "bbbb"}, 2}, // overshoot by one event
		{1, 1000, []string{"bbbb", "cccc", "dddd"}, 4},
		{3, 1000, []string{"dddd"}, 4},
		{4, 1000, nil, -1},   // at the end: None
		{100, 1000, nil, -1}, // past the end: None
	}
	for _, c := range cases {
		got, next, err := db.Read(ctx, 3, sid, c.from, c.max)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("from %d max %d: got %q, want %q", c.from, c.max, got, c.want)
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Fatalf("from %d max %d: got %q, want %q", c.from, c.max, got, c.want)
			}
		}
		if (next == nil) != (c.next < 0) || (next != nil && *next != uint64(c.next)) {
			t.Fatalf("from %d max %d: next %v, want %d", c.from, c.max, next, c.next)
		}
	}
	// Events of a neighbouring stream never leak into a read.
	sid2 := create(t, db, 3, "t")
	appendOK(t, db, 3, sid2, 0, "zzzz")
	got, _, _ := db.Read(ctx, 3, sid, 3, 1000)
	if len(got) != 1 || string(got[0]) != "dddd" {
		t.Fatalf("read crossed into the next stream: %q", got)
	}
}

func TestReadStopsBeforeFrameLimit(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "big")
	big := bytes.Repeat([]byte("x"), 6<<20)
	for i := uint64(0); i < 3; i++ {
		if r := submit(t, db, Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: i, Events: [][]byte{big}}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	got, next, err := db.Read(ctx, 1, sid, 0, 1<<40)
	if err != nil || len(got) != 2 || *next != 2 {
		t.Fatalf("got %d events, next %v, err %v; want 2 (18 MiB would not fit a frame)", len(got), next, err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sid := create(t, db, 9, "s")
	appendOK(t, db, 9, sid, 0, "one", "two")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if r := db.Submit(Op{Kind: OpAppend, Tenant: 9, StreamID: sid, Expected: 2, Events: evs("x")}).Wait(ctx); !errors.Is(r.Err, ErrClosed) {
		t.Fatalf("append after close: %v", r.Err)
	}
	if _, err := db.StreamLength(ctx, 9, sid); !errors.Is(err, ErrClosed) {
		t.Fatalf("length after close: %v", err)
	}
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, _, err := db.Read(ctx, 9, sid, 0, 100)
	if err != nil || len(got) != 2 || string(got[0]) != "one" || string(got[1]) != "two" {
		t.Fatalf("after reopen: %q %v", got, err)
	}
	if db.TenantCount() != 1 {
		t.Fatalf("TenantCount after reopen = %d", db.TenantCount())
	}
	if got := create(t, db, 9, "s2"); got != wire.StreamID(9, 2) {
		t.Fatalf("next id after reopen = %d", got)
	}
	if err := db.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenOfSameFolderFails(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db2, err := Open(dir); err == nil {
		db2.Close()
		t.Fatal("a second Open of the same folder succeeded")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("unexpected error: %v", err)
	}
}
