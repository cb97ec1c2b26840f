package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readStrings(t *testing.T, db *DB, tenant, sid uint64) []string {
	t.Helper()
	got, _, err := db.Read(ctx, tenant, sid, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range got {
		out = append(out, string(e))
	}
	return out
}

// The database file is not fsynced per commit: a crash of the machine may leave it older than
// what was acknowledged. The write-ahead log brings it back: here the file is a copy taken
// before the last writes (as a lost page cache would leave it), the log a copy taken after.
// Refusals are refused again on replay, and opening twice applies nothing twice.
func TestWriteAheadLogRestoresAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sid := create(t, db, 3, "s")
	appendOK(t, db, 3, sid, 0, "a")
	old := t.TempDir()
	copyFile(t, filepath.Join(dir, FileName), filepath.Join(old, FileName)) // the file as of "a"

	appendOK(t, db, 3, sid, 1, "b", "c")
	r := submit(t, db, Op{Kind: OpAppend, Tenant: 3, StreamID: sid, Expected: 1, Events: evs("refused")})
	wantErr(t, r.Err, wire.ErrOffsetMismatch, "offset mismatch for stream 12884901889: expected 1, actual 3")
	key := Op{Kind: OpAppend, Tenant: 3, StreamID: sid, Expected: 3, Events: evs("d")}
	DefaultWindow.Stamp(&key, "k1", time.Now())
	if r := submit(t, db, key); r.Err != nil || r.FirstOffset != 3 {
		t.Fatalf("keyed append: %+v", r)
	}
	other := create(t, db, 4, "t")
	appendOK(t, db, 4, other, 0, "x")
	copyFile(t, filepath.Join(dir, WALFileName), filepath.Join(old, WALFileName))
	// A torn record at the end, as a crash in the middle of a write leaves it.
	f, err := os.OpenFile(filepath.Join(old, WALFileName), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0, 0, 0, 40, 1, 2, 3}, db.wal.size); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	for round := 0; round < 2; round++ {
		re, err := Open(old)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := readStrings(t, re, 3, sid); !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
			t.Fatalf("round %d: stream holds %q", round, got)
		}
		if got := readStrings(t, re, 4, other); !reflect.DeepEqual(got, []string{"x"}) {
			t.Fatalf("round %d: second stream holds %q", round, got)
		}
		if re.TenantCount() != 2 {
			t.Fatalf("round %d: TenantCount %d", round, re.TenantCount())
		}
		// The key was remembered by the replay too.
		again := key
		again.Expected = 4
		if r := submit(t, re, again); r.Err != nil || r.FirstOffset != 3 {
			t.Fatalf("round %d: repeat of the keyed append: %+v", round, r)
		}
		if err := re.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Groups keep flowing while earlier ones sync, and a clean Close leaves an empty log.
func TestCloseCheckpointsTheLog(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sid := create(t, db, 1, "s")
	var pend []*Pending
	for i := 0; i < 200; i++ {
		pend = append(pend, db.Submit(Op{Kind: OpAppend, Tenant: 1, StreamID: sid, Expected: uint64(i), Events: evs(string(rune('a' + i%26)))}))
	}
	for i, p := range pend {
		if r := p.Wait(ctx); r.Err != nil || r.FirstOffset != uint64(i) {
			t.Fatalf("append %d: %+v", i, r)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db.wal.size != 0 {
		t.Fatalf("log after a clean close ends at %d", db.wal.size)
	}
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.StreamLength(ctx, 1, sid); err != nil || n != 200 {
		t.Fatalf("length after reopen: %d %v", n, err)
	}
	// New records overwrite the old ones from the start of the log; a crash now (the files as
	// they are, without Close) replays only the new ones.
	appendOK(t, db, 1, sid, 200, "after")
	crashed := t.TempDir()
	copyFile(t, filepath.Join(dir, FileName), filepath.Join(crashed, FileName))
	copyFile(t, filepath.Join(dir, WALFileName), filepath.Join(crashed, WALFileName))
	re, err := Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	got := readStrings(t, re, 1, sid)
	if len(got) != 201 || got[200] != "after" {
		t.Fatalf("after a crash: %d events, last %q", len(got), got[len(got)-1])
	}
}

// After Restore, the log's later groups apply on top of the snapshot after a crash, and its
// earlier ones (which the snapshot replaced) do not.
func TestWriteAheadLogAfterRestore(t *testing.T) {
	src := openTest(t)
	sid := create(t, src, 2, "s")
	var want []string
	for i := 0; i < 5; i++ { // the source's log position runs ahead of the target's
		want = append(want, fmt.Sprint("snap", i))
		appendOK(t, src, 2, sid, uint64(i), want[i])
	}
	var snap bytes.Buffer
	if err := src.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mine := create(t, db, 5, "replaced")
	appendOK(t, db, 5, mine, 0, "gone")
	if err := db.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	copyFile(t, filepath.Join(dir, FileName), filepath.Join(crashed, FileName)) // as restored
	appendOK(t, db, 2, sid, 5, "after")
	copyFile(t, filepath.Join(dir, WALFileName), filepath.Join(crashed, WALFileName))
	re, err := Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if got := readStrings(t, re, 2, sid); !reflect.DeepEqual(got, append(want, "after")) {
		t.Fatalf("stream holds %q", got)
	}
	if _, err := re.StreamLength(ctx, 5, mine); err == nil {
		t.Fatal("a stream the snapshot replaced came back")
	}
}
