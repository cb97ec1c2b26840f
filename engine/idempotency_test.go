package engine

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

var t0 = time.Unix(1_800_000_000, 0)

// keyed is an append of events to sid under key, stamped at time at with window w.
func keyed(sid, expected uint64, key string, w IdempotencyWindow, at time.Time, events ...string) Op {
	op := Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: expected, Events: evs(events...)}
	w.Stamp(&op, key, at)
	return op
}

func streamLen(t *testing.T, db *DB, sid uint64) uint64 {
	t.Helper()
	n, err := db.StreamLength(ctx, 1, sid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotentAppendAnswersARepeatWithTheOriginalResult(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "s")
	appendOK(t, db, 1, sid, 0, "before")
	w := DefaultWindow
	r := submit(t, db, keyed(sid, 1, "k1", w, t0, "a", "b"))
	if r.Err != nil || r.FirstOffset != 1 {
		t.Fatalf("first: %+v", r)
	}
	// The same request again (its offset is now taken by itself), and again with a later
	// expected offset, as a client re-sending after a lost answer would.
	for _, exp := range []uint64{1, 3, 0} {
		r := submit(t, db, keyed(sid, exp, "k1", w, t0.Add(time.Second), "a", "b"))
		if r.Err != nil || r.FirstOffset != 1 {
			t.Fatalf("repeat at expected %d: %+v, want first offset 1", exp, r)
		}
	}
	if n := streamLen(t, db, sid); n != 3 {
		t.Fatalf("stream length %d, want 3: a repeat appended", n)
	}
	// Another key appends; a key is per tenant, so tenant 2 may use k1 for itself.
	if r := submit(t, db, keyed(sid, 3, "k2", w, t0, "c")); r.Err != nil || r.FirstOffset != 3 {
		t.Fatalf("k2: %+v", r)
	}
	sid2 := create(t, db, 2, "s")
	op := keyed(sid2, 0, "k1", w, t0, "x", "y")
	op.Tenant = 2
	if r := submit(t, db, op); r.Err != nil || r.FirstOffset != 0 {
		t.Fatalf("tenant 2 k1: %+v", r)
	}
}

func TestIdempotencyKeyReusedForOtherContentIsRefused(t *testing.T) {
	db := openTest(t)
	a, b := create(t, db, 1, "a"), create(t, db, 1, "b")
	w := DefaultWindow
	if r := submit(t, db, keyed(a, 0, "k", w, t0, "1", "2")); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := submit(t, db, keyed(a, 2, "k", w, t0, "1", "2", "3"))
	wantErr(t, r.Err, wire.ErrInvalidRequest, fmt.Sprintf(
		`idempotency key "k" was already used for an append of 2 events to stream %d; this append has 3 events for stream %d`, a, a))
	r = submit(t, db, keyed(b, 0, "k", w, t0, "1", "2"))
	wantErr(t, r.Err, wire.ErrInvalidRequest, fmt.Sprintf(
		`idempotency key "k" was already used for an append of 2 events to stream %d; this append has 2 events for stream %d`, a, b))
	long := string(bytes.Repeat([]byte("x"), MaxIdempotencyKeyLen+1))
	r = submit(t, db, keyed(a, 2, long, w, t0, "1"))
	wantErr(t, r.Err, wire.ErrInvalidRequest, "idempotency key is 257 bytes, longer than the maximum 256")
	if n := streamLen(t, db, a); n != 2 {
		t.Fatalf("stream a has %d events, want 2", n)
	}
	if n := streamLen(t, db, b); n != 0 {
		t.Fatalf("stream b has %d events, want 0", n)
	}
}

func TestIdempotencyKeyIsCheckedBeforeTheExpectedOffsetAndNotKeptWhenRefused(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "s")
	w := DefaultWindow
	// A refused append (wrong offset) does not take the key: the corrected request goes in.
	r := submit(t, db, keyed(sid, 5, "k", w, t0, "e"))
	wantErr(t, r.Err, wire.ErrOffsetMismatch, fmt.Sprintf("offset mismatch for stream %d: expected 5, actual 0", sid))
	if r := submit(t, db, keyed(sid, 0, "k", w, t0, "e")); r.Err != nil || r.FirstOffset != 0 {
		t.Fatalf("corrected: %+v", r)
	}
}

func TestIdempotencyWindowExpiresByAgeAndCount(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "s")
	w := IdempotencyWindow{Age: time.Minute, Keys: 3}
	next := uint64(0)
	add := func(key string, at time.Time) Result {
		r := submit(t, db, keyed(sid, next, key, w, at, key+"@"+at.String()))
		if r.Err == nil && r.FirstOffset == next {
			next++
		}
		return r
	}
	add("a", t0)
	// Within the age, a repeat is recognised; at the age, it is forgotten and appends again.
	if r := add("a", t0.Add(59*time.Second)); r.Err != nil || r.FirstOffset != 0 || next != 1 {
		t.Fatalf("repeat within the window: %+v", r)
	}
	if r := add("a", t0.Add(time.Minute)); r.Err != nil || r.FirstOffset != 1 {
		t.Fatalf("repeat after the window: %+v, want a new append at 1", r)
	}
	// Count: after 3 newer keys of the stream, the oldest is forgotten.
	t1 := t0.Add(2 * time.Minute)
	for _, k := range []string{"b", "c", "d"} {
		add(k, t1)
	}
	if r := add("c", t1); r.FirstOffset != 3 {
		t.Fatalf("c is still in the window: %+v", r)
	}
	add("e", t1) // evicts b
	if r := add("b", t1); r.Err != nil || r.FirstOffset != 6 {
		t.Fatalf("b after eviction: %+v, want a new append at 6", r)
	}
	// The window holds at most Keys entries per stream.
	if n := idemRows(t, db, sid); n != 3 {
		t.Fatalf("%d keys kept for the stream, want 3", n)
	}
}

// idemRows counts the keys the window holds for sid, checking both buckets agree.
func idemRows(t *testing.T, db *DB, sid uint64) int {
	t.Helper()
	order, keys := 0, 0
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIdemOrder).Cursor()
		p := u64Key(sid)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if len(k) == 16 {
				order++
			}
		}
		return tx.Bucket(bucketIdemKeys).ForEach(func(_, v []byte) error {
			if e, err := decodeIdemEntry(v); err == nil && e.stream == sid {
				keys++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if order != keys {
		t.Fatalf("window buckets disagree: %d ordered, %d keys", order, keys)
	}
	return order
}

func TestIdempotencyWindowSurvivesRestartAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sid := create(t, db, 1, "s")
	if r := submit(t, db, keyed(sid, 0, "k", DefaultWindow, t0, "e")); r.Err != nil {
		t.Fatal(r.Err)
	}
	var snap bytes.Buffer
	if err := db.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r := submit(t, db, keyed(sid, 1, "k", DefaultWindow, t0, "e")); r.Err != nil || r.FirstOffset != 0 {
		t.Fatalf("after restart: %+v", r)
	}
	other := openTest(t)
	if err := other.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	if r := submit(t, other, keyed(sid, 1, "k", DefaultWindow, t0, "e")); r.Err != nil || r.FirstOffset != 0 {
		t.Fatalf("after restore: %+v", r)
	}
	if n := streamLen(t, other, sid); n != 1 {
		t.Fatalf("restored stream has %d events, want 1", n)
	}
}
