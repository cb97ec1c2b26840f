package engine

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// WriteNow takes the write path only when it is idle, and then answers as Submit would.
func TestWriteNowOnlyWhenIdle(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "s")
	waitIdle(t, db)
	r, done := db.WriteNow(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 0, Events: evs("a", "b")})
	if !done || r.Err != nil || r.FirstOffset != 0 {
		t.Fatalf("idle WriteNow: done %v, %+v", done, r)
	}
	r, done = db.WriteNow(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 5, Events: evs("refused")})
	if !done {
		t.Fatal("idle WriteNow declined")
	}
	wantErr(t, r.Err, wire.ErrOffsetMismatch, fmt.Sprintf("offset mismatch for stream %d: expected 5, actual 2", sid))

	// A sync in flight, or a write queued, leaves the op to Submit, and nothing is written.
	db.q.syncing.Add(1)
	if _, done := db.WriteNow(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 2, Events: evs("no")}); done {
		t.Fatal("WriteNow took the write path while a sync was in flight")
	}
	db.q.syncing.Add(-1)
	db.q.mu.Lock()
	db.q.claimed = true // holds the goroutine back, so the Submit below stays queued
	db.q.mu.Unlock()
	p := db.Submit(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 2, Events: evs("c")})
	db.q.mu.Lock()
	db.q.claimed = false
	db.q.mu.Unlock()
	if _, done := db.WriteNow(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 3, Events: evs("no")}); done {
		t.Fatal("WriteNow took the write path with a write queued")
	}
	db.q.unclaim()
	if r := p.Wait(ctx); r.Err != nil || r.FirstOffset != 2 {
		t.Fatalf("queued append: %+v", r)
	}
	if got := readStrings(t, db, 1, sid); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("stream holds %q", got)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, done := db.WriteNow(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 3, Events: evs("late")}); done {
		t.Fatal("WriteNow on a closed database")
	}
	if r := submit(t, db, Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: 3, Events: evs("late")}); r.Err != ErrClosed {
		t.Fatalf("Submit after Close: %+v", r)
	}
}

// waitIdle waits until the write path is idle, as WriteNow needs it: after a Submit is
// answered, the committer may not be back at its queue yet.
func waitIdle(t *testing.T, db *DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		db.q.mu.Lock()
		busy := db.q.busyLocked()
		db.q.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the write path did not go idle within 10 s")
		}
	}
}

// A WriteNow answer means the write is in the synced log: with the file as it was before the
// writes (a lost page cache) and the log as it is after, reopening brings every write back.
func TestWriteNowIsDurableInTheLog(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sid := create(t, db, 2, "s")
	waitIdle(t, db)
	old := t.TempDir()
	copyFile(t, filepath.Join(dir, FileName), filepath.Join(old, FileName))
	var want []string
	for i := range 5 {
		e := fmt.Sprintf("now-%d", i)
		r, done := db.WriteNow(Op{Kind: OpAppend, Tenant: 2, StreamID: sid, Expected: uint64(i), Events: evs(e)})
		if !done || r.Err != nil || r.FirstOffset != uint64(i) {
			t.Fatalf("WriteNow %d: done %v, %+v", i, done, r)
		}
		want = append(want, e)
	}
	copyFile(t, filepath.Join(dir, WALFileName), filepath.Join(old, WALFileName))
	re, err := Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if got := readStrings(t, re, 2, sid); !reflect.DeepEqual(got, want) {
		t.Fatalf("reopened stream holds %q, want %q", got, want)
	}
}

// Writers mixing WriteNow and Submit share one order: every write lands once, at the offset it
// was answered with, in the database and in its write-ahead log alike (the log replayed over
// the file as it was before the writes).
func TestWriteNowAndSubmitShareOneOrder(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 6, 150
	sids := make([]uint64, writers)
	for w := range sids {
		sids[w] = create(t, db, 1, fmt.Sprintf("w%d", w))
	}
	shared := create(t, db, 1, "shared")
	old := t.TempDir()
	copyFile(t, filepath.Join(dir, FileName), filepath.Join(old, FileName))
	var now, queued atomic.Int64
	var mu sync.Mutex
	sharedAt := map[uint64]string{} // offset in the shared stream -> payload answered there
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			write := func(op Op) Result {
				if r, done := db.WriteNow(op); done {
					now.Add(1)
					return r
				}
				queued.Add(1)
				return db.Submit(op).Wait(ctx)
			}
			for i := range each {
				e := fmt.Sprintf("w%d-%d", w, i)
				if r := write(Op{Kind: OpAppend, Tenant: 1, StreamID: sids[w], Expected: uint64(i), Events: evs(e)}); r.Err != nil || r.FirstOffset != uint64(i) {
					errs <- fmt.Errorf("writer %d append %d: %+v", w, i, r)
					return
				}
				// The shared stream: contended expected offsets, retried on mismatch.
				for {
					n, err := db.StreamLength(ctx, 1, shared)
					if err != nil {
						errs <- err
						return
					}
					r := write(Op{Kind: OpAppend, Tenant: 1, StreamID: shared, Expected: n, Events: evs(e)})
					if r.Err == nil {
						mu.Lock()
						sharedAt[r.FirstOffset] = e
						mu.Unlock()
						break
					}
					if e, ok := r.Err.(*Error); !ok || e.Code != wire.ErrOffsetMismatch {
						errs <- fmt.Errorf("writer %d shared append: %v", w, r.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if now.Load() == 0 {
		t.Fatal("no write went through WriteNow")
	}
	t.Logf("%d writes through WriteNow, %d through Submit", now.Load(), queued.Load())
	copyFile(t, filepath.Join(dir, WALFileName), filepath.Join(old, WALFileName))
	check(t, db, sids, shared, sharedAt, writers*each)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	check(t, re, sids, shared, sharedAt, writers*each)
}

// check compares the streams of TestWriteNowAndSubmitShareOneOrder with what was answered.
func check(t *testing.T, re *DB, sids []uint64, shared uint64, sharedAt map[uint64]string, total int) {
	t.Helper()
	each := total / len(sids)
	for w, sid := range sids {
		got := readStrings(t, re, 1, sid)
		if len(got) != each {
			t.Fatalf("writer %d's stream holds %d events, want %d", w, len(got), each)
		}
		for i, e := range got {
			if e != fmt.Sprintf("w%d-%d", w, i) {
				t.Fatalf("writer %d's stream: offset %d holds %q", w, i, e)
			}
		}
	}
	got := readStrings(t, re, 1, shared)
	if len(got) != total || len(sharedAt) != total {
		t.Fatalf("shared stream holds %d events, %d answered, want %d", len(got), len(sharedAt), total)
	}
	for off, e := range got {
		if sharedAt[uint64(off)] != e {
			t.Fatalf("shared stream: offset %d holds %q, answered for %q", off, e, sharedAt[uint64(off)])
		}
	}
}
