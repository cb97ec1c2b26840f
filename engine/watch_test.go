package engine

import (
	"bytes"
	"fmt"
	"testing"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// StreamChanged is closed by the commit of an accepted append to its stream, and only then: not
// by a refused append, not by another stream's. The events are readable once it is closed.
func TestStreamChangedFiresOnCommit(t *testing.T) {
	db := openTest(t)
	a, b := create(t, db, 1, "a"), create(t, db, 1, "b")
	chA, chB := db.StreamChanged(a), db.StreamChanged(b)
	if chA2 := db.StreamChanged(a); chA2 != chA {
		t.Fatal("two waiters of one stream got different channels")
	}
	if r := submit(t, db, Op{Kind: OpAppend, Tenant: 1, StreamID: a, Events: [][]byte{[]byte("x")}, Expected: 5}); r.Err == nil {
		t.Fatal("append at a wrong offset was accepted")
	}
	if closed(chA) {
		t.Fatal("a refused append woke the stream's watchers")
	}
	if r := submit(t, db, Op{Kind: OpAppend, Tenant: 1, StreamID: a, Events: [][]byte{[]byte("e0")}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if !closed(chA) {
		t.Fatal("the commit of an append did not wake its stream's watchers")
	}
	if closed(chB) {
		t.Fatal("an append to another stream woke this one's watchers")
	}
	evs, err := db.ReadCommitted(ctx, 1, a, 0, 1<<20, 10)
	if err != nil || len(evs) != 1 || !bytes.Equal(evs[0], []byte("e0")) {
		t.Fatalf("read after the wake-up: %q %v", evs, err)
	}
	if db.StreamChanged(a) == chA {
		t.Fatal("a fired channel was handed out again")
	}
}

// ReadCommitted bounds a read by events as well as bytes, and keeps tenants apart.
func TestReadCommittedBounds(t *testing.T) {
	db := openTest(t)
	s := create(t, db, 1, "s")
	evs := make([][]byte, 10)
	for i := range evs {
		evs[i] = []byte(fmt.Sprintf("e%d", i))
	}
	if r := submit(t, db, Op{Kind: OpAppend, Tenant: 1, StreamID: s, Events: evs}); r.Err != nil {
		t.Fatal(r.Err)
	}
	got, err := db.ReadCommitted(ctx, 1, s, 2, 1<<20, 3)
	if err != nil || fmt.Sprintf("%q", got) != `["e2" "e3" "e4"]` {
		t.Fatalf("3 events from 2: %q %v", got, err)
	}
	if got, _ := db.ReadCommitted(ctx, 1, s, 0, 1, 100); len(got) != 1 {
		t.Fatalf("1 byte: %d events, want one whole event", len(got))
	}
	if got, _ := db.ReadCommitted(ctx, 1, s, 0, 1<<20, 0); len(got) != 0 {
		t.Fatalf("0 events: %q", got)
	}
	if _, err := db.ReadCommitted(ctx, 2, s, 0, 1<<20, 1); err == nil {
		t.Fatal("another tenant read the stream")
	}
}
