package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

func openDB(t *testing.T, dir string) *engine.DB {
	t.Helper()
	db, err := engine.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func cmd(index uint64, op engine.Op) *raft.Log {
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: engine.EncodeOp(op)}
}

func appendOp(sid, expected uint64, events ...string) engine.Op {
	op := engine.Op{Kind: engine.OpAppend, Tenant: 0, StreamID: sid, Expected: expected}
	for _, e := range events {
		op.Events = append(op.Events, []byte(e))
	}
	return op
}

func readAll(t *testing.T, db store, sid uint64) []string {
	t.Helper()
	evs, _, err := db.Read(context.Background(), 0, sid, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e))
	}
	return out
}

// A restarted node replays entries its database already holds. Here the refused append
// (expected 2 while the stream had 1 event) would succeed on replay, because by then the
// stream has 2 events: the FSM must skip what the database has applied.
func TestFSMSkipsEntriesAlreadyApplied(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	f, err := newFSM(db, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	create := engine.Op{Kind: engine.OpCreateStream, Name: "s", DataClass: wire.DataClassPublic, Placement: wire.PlacementGlobal}
	logs := []*raft.Log{
		{Index: 1, Term: 1, Type: raft.LogConfiguration},
		cmd(2, create),
		cmd(3, appendOp(1, 0, "a")),
		cmd(4, appendOp(1, 2, "refused")),
		cmd(5, appendOp(1, 1, "b")),
	}
	resp := f.ApplyBatch(logs)
	if len(resp) != len(logs) || resp[0] != nil {
		t.Fatalf("responses %v", resp)
	}
	if r := resp[1].(engine.Result); r.Err != nil || r.StreamID != 1 {
		t.Fatalf("create: %+v", r)
	}
	if r := resp[3].(engine.Result); r.Err == nil {
		t.Fatalf("append at 2 on a 1-event stream succeeded")
	}
	if r := resp[4].(engine.Result); r.Err != nil || r.FirstOffset != 1 {
		t.Fatalf("append b: %+v", r)
	}
	if got, _ := db.AppliedIndex(); got != 5 {
		t.Fatalf("applied index %d, want 5", got)
	}

	// Restart: a new FSM over the same database gets the whole log again, then a new entry.
	f2, err := newFSM(db, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp = f2.ApplyBatch(append(logs[2:], cmd(6, appendOp(1, 2, "c"))))
	for i, r := range resp[:3] {
		if r != nil {
			t.Fatalf("replayed entry %d got a result: %v", i, r)
		}
	}
	if r := resp[3].(engine.Result); r.Err != nil || r.FirstOffset != 2 {
		t.Fatalf("append c: %+v", r)
	}
	if got := readAll(t, db, 1); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("stream holds %q, want [a b c]", got)
	}
	if applied := f2.appliedIndex(); applied != 6 {
		t.Fatalf("fsm applied %d, want 6", applied)
	}
}

func TestFSMRefusesMalformedCommandEverywhereAlike(t *testing.T) {
	db := openDB(t, t.TempDir())
	f, err := newFSM(db, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: []byte{9, 9}}})
	var e *engine.Error
	if r := resp[0].(engine.Result); !errors.As(r.Err, &e) || e.Code != wire.ErrInternalError {
		t.Fatalf("got %+v", r)
	}
}

func TestFSMStopsAfterStorageFailure(t *testing.T) {
	db := openDB(t, t.TempDir())
	failed := make(chan error, 1)
	f, err := newFSM(db, slog.New(slog.DiscardHandler), func(err error) { failed <- err })
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close() // every ApplyBatch now fails
	create := engine.Op{Kind: engine.OpCreateStream, Name: "s", Placement: wire.PlacementGlobal}
	for i := uint64(1); i <= 2; i++ {
		r := f.ApplyBatch([]*raft.Log{cmd(i, create)})[0].(engine.Result)
		var e *engine.Error
		if !errors.As(r.Err, &e) || e.Code != wire.ErrStorageError {
			t.Fatalf("entry %d: got %+v, want StorageError", i, r)
		}
	}
	if err := <-failed; err == nil {
		t.Fatal("onFail got nil")
	}
	if applied := f.appliedIndex(); applied != 0 {
		t.Fatalf("applied index moved to %d after a failure", applied)
	}
}

func TestFSMSnapshotRestore(t *testing.T) {
	src := openDB(t, t.TempDir())
	f, _ := newFSM(src, slog.New(slog.DiscardHandler), nil)
	f.ApplyBatch([]*raft.Log{
		cmd(1, engine.Op{Kind: engine.OpCreateStream, Name: "s", Placement: wire.PlacementGlobal}),
		cmd(2, appendOp(1, 0, "x", "y")),
	})
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil || !sink.closed {
		t.Fatalf("persist: %v closed=%v", err, sink.closed)
	}
	snap.Release()

	dst := openDB(t, t.TempDir())
	g, _ := newFSM(dst, slog.New(slog.DiscardHandler), nil)
	if err := g.Restore(readCloser{bytes.NewReader(sink.Bytes())}); err != nil {
		t.Fatal(err)
	}
	if applied := g.appliedIndex(); applied != 2 {
		t.Fatalf("applied after restore %d, want 2", applied)
	}
	if got := readAll(t, dst, 1); len(got) != 2 || got[1] != "y" {
		t.Fatalf("restored stream %q", got)
	}
	if err := g.Restore(readCloser{bytes.NewReader([]byte("not a database"))}); err == nil {
		t.Fatal("restoring garbage succeeded")
	}
	if got := readAll(t, dst, 1); len(got) != 2 {
		t.Fatalf("a refused restore changed the data: %q", got)
	}
}

type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
