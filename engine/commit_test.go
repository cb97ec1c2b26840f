package engine

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kimberlite/libkimberlite/wire"
)

func TestSubmitAppliesInSubmissionOrder(t *testing.T) {
	db := openTest(t)
	sid := create(t, db, 1, "s")
	// Expected offsets 0..199 submitted without waiting: each only succeeds if every earlier one
	// was applied before it.
	pending := make([]*Pending, 200)
	for i := range pending {
		pending[i] = db.Submit(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: uint64(i), Events: evs(fmt.Sprint(i))})
	}
	for i, p := range pending {
		if r := p.Wait(ctx); r.Err != nil || r.FirstOffset != uint64(i) {
			t.Fatalf("append %d: %+v", i, r)
		}
	}
}

func TestGroupCommitSharesCommits(t *testing.T) {
	db := openTest(t)
	const writers = 64
	sids := make([]uint64, writers)
	for i := range sids {
		sids[i] = create(t, db, 5, fmt.Sprint("w", i))
	}

	// Hold the store so the committer cannot finish a transaction while 64 goroutines submit:
	// everything they queue meanwhile must go into at most two transactions.
	before := db.Stats()
	db.rw.Lock()
	var submitted, done sync.WaitGroup
	pending := make([]*Pending, writers)
	for i := range writers {
		submitted.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			pending[i] = db.Submit(Op{Kind: OpAppend, Tenant: 5, StreamID: sids[i], Expected: 0, Events: evs("first")})
			submitted.Done()
			if r := pending[i].Wait(ctx); r.Err != nil {
				t.Errorf("writer %d: %v", i, r.Err)
			}
		}()
	}
	submitted.Wait()
	db.rw.Unlock()
	done.Wait()
	after := db.Stats()
	if ops, commits := after.OpCount-before.OpCount, after.CommitCount-before.CommitCount; ops != writers || commits > 2 {
		t.Fatalf("%d ops took %d commits, want at most 2", ops, commits)
	}

	// Free-running: 64 goroutines append continuously; every append succeeds, and the
	// committer still shares transactions between them.
	before = db.Stats()
	const rounds = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(1); n <= rounds; n++ {
				r := db.Submit(Op{Kind: OpAppend, Tenant: 5, StreamID: sids[i], Expected: n, Events: evs(fmt.Sprint(i, "-", n))}).Wait(ctx)
				if r.Err != nil {
					t.Errorf("writer %d round %d: %v", i, n, r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	after = db.Stats()
	ops, commits := after.OpCount-before.OpCount, after.CommitCount-before.CommitCount
	if ops != writers*rounds || commits >= ops {
		t.Fatalf("%d ops took %d commits: no group commit", ops, commits)
	}
	t.Logf("%d ops in %d commits", ops, commits)
	for i, sid := range sids {
		got, _, err := db.Read(ctx, 5, sid, 0, 1<<20)
		if err != nil || len(got) != rounds+1 || string(got[rounds]) != fmt.Sprint(i, "-", rounds) {
			t.Fatalf("stream %d: %q %v", i, got, err)
		}
	}
}

func TestApplyBatchRecordsIndex(t *testing.T) {
	db := openTest(t)
	if idx, err := db.AppliedIndex(); err != nil || idx != 0 {
		t.Fatalf("fresh AppliedIndex = %d, %v", idx, err)
	}
	sid := wire.StreamID(4, 1)
	ops := []Op{
		{Kind: OpCreateStream, Tenant: 4, Name: "s", DataClass: wire.DataClassPII},
		{Kind: OpAppend, Tenant: 4, StreamID: sid, Expected: 0, Events: evs("a", "b")},
		{Kind: OpAppend, Tenant: 4, StreamID: sid, Expected: 0, Events: evs("refused")},
		{Kind: OpAppend, Tenant: 4, StreamID: sid, Expected: 2, Events: evs("c")},
		{Kind: OpAppend, Tenant: 4, StreamID: sid, Expected: 3},
	}
	res, err := db.ApplyBatch(ops, 17)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(ops) || res[0].StreamID != sid || res[0].Err != nil || res[1].FirstOffset != 0 || res[3].FirstOffset != 2 || res[3].Err != nil {
		t.Fatalf("results: %+v", res)
	}
	wantErr(t, res[2].Err, wire.ErrOffsetMismatch, fmt.Sprintf("offset mismatch for stream %d: expected 0, actual 2", sid))
	var e *Error
	if !errors.As(res[4].Err, &e) || e.Code != wire.ErrInvalidRequest {
		t.Fatalf("empty append in a batch: %v", res[4].Err)
	}
	if idx, err := db.AppliedIndex(); err != nil || idx != 17 {
		t.Fatalf("AppliedIndex = %d, %v", idx, err)
	}
	if n, _ := db.StreamLength(ctx, 4, sid); n != 3 {
		t.Fatalf("length = %d", n)
	}
	if _, err := db.ApplyBatch(nil, 18); err != nil {
		t.Fatal(err)
	}
	if idx, _ := db.AppliedIndex(); idx != 18 {
		t.Fatalf("AppliedIndex after an empty batch = %d", idx)
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	src := openTest(t)
	sid := create(t, src, 8, "s")
	appendOK(t, src, 8, sid, 0, "one", "two")
	if _, err := src.ApplyBatch(nil, 33); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := src.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	// Later writes to the source are not in the snapshot.
	appendOK(t, src, 8, sid, 2, "three")

	dst := openTest(t)
	other := create(t, dst, 1, "gone-after-restore")
	create(t, dst, 2, "gone-too")
	if err := dst.Restore(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	if idx, _ := dst.AppliedIndex(); idx != 33 {
		t.Fatalf("AppliedIndex after restore = %d", idx)
	}
	got, _, err := dst.Read(ctx, 8, sid, 0, 100)
	if err != nil || len(got) != 2 || string(got[1]) != "two" {
		t.Fatalf("restored read: %q %v", got, err)
	}
	if _, err := dst.StreamLength(ctx, 1, other); err == nil {
		t.Fatal("content from before the restore survived it")
	}
	if dst.TenantCount() != 1 {
		t.Fatalf("TenantCount after restore = %d", dst.TenantCount())
	}
	// The restored database takes writes and survives a reopen.
	appendOK(t, dst, 8, sid, 2, "after")
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := Open(dst.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if n, _ := re.StreamLength(ctx, 8, sid); n != 3 {
		t.Fatalf("length after reopen = %d", n)
	}

	// Garbage is refused and leaves the content alone.
	if err := re.Restore(bytes.NewReader([]byte("not a database"))); err == nil {
		t.Fatal("restoring garbage succeeded")
	}
	if n, err := re.StreamLength(ctx, 8, sid); err != nil || n != 3 {
		t.Fatalf("after a refused restore: %d %v", n, err)
	}
}
