package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// entry is the test log entry at index i in term t: its data depends only on (i, t), so any
// entry read back can be checked byte for byte.
func entry(i, t uint64) *raft.Log {
	data := []byte(fmt.Sprintf("i%d-t%d:", i, t))
	data = append(data, bytes.Repeat([]byte{byte('a' + i%26)}, int(i*7919%200))...)
	l := &raft.Log{Index: i, Term: t, Type: raft.LogCommand, Data: data, AppendedAt: time.Unix(1700000000, int64(i))}
	if i%7 == 0 {
		l.Extensions = []byte(fmt.Sprint("ext", i))
	}
	return l
}

func entries(from, to, term uint64) []*raft.Log {
	var ls []*raft.Log
	for i := from; i <= to; i++ {
		ls = append(ls, entry(i, term))
	}
	return ls
}

func openTestLog(t *testing.T, dir string, segBytes int64) *logStore {
	t.Helper()
	s, err := openLogStore(dir, segBytes, nil, func(err error) { t.Errorf("store failed: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// storeInBatches stores from..to in batches of 5, so that segments of a few KiB fill up.
func storeInBatches(t *testing.T, s *logStore, from, to, term uint64) {
	t.Helper()
	for i := from; i <= to; i += 5 {
		storeOK(t, s, entries(i, min(i+4, to), term))
	}
}

func storeOK(t *testing.T, s *logStore, ls []*raft.Log) {
	t.Helper()
	if err := s.StoreLogs(ls); err != nil {
		t.Fatal(err)
	}
}

// wantLog checks that s holds exactly the indexes first..last, each entry with the term that
// termOf gives.
func wantLog(t *testing.T, s *logStore, first, last uint64, termOf func(uint64) uint64) {
	t.Helper()
	f, err1 := s.FirstIndex()
	l, err2 := s.LastIndex()
	if err1 != nil || err2 != nil || f != first || l != last {
		t.Fatalf("log spans %d-%d (%v %v), want %d-%d", f, l, err1, err2, first, last)
	}
	if first == 0 {
		return
	}
	for _, i := range []uint64{first - 1, last + 1} {
		var got raft.Log
		if err := s.GetLog(i, &got); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("index %d outside the log: %v, want ErrLogNotFound", i, err)
		}
	}
	for i := first; i <= last; i++ {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("index %d: %v", i, err)
		}
		want := entry(i, termOf(i))
		if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type ||
			!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Extensions, want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
			t.Fatalf("index %d: got %+v, want %+v", i, got, *want)
		}
	}
}

func inTerm(t uint64) func(uint64) uint64 { return func(uint64) uint64 { return t } }

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func TestLogStoreKeepsEntriesAcrossRestartsAndSegments(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 4096)
	wantLog(t, s, 0, 0, nil)
	storeOK(t, s, entries(1, 1, 1))
	for i := uint64(2); i <= 300; i += 10 {
		storeOK(t, s, entries(i, i+9, 1))
	}
	wantLog(t, s, 1, 301, inTerm(1))
	if n := len(segFiles(t, dir)); n < 5 {
		t.Fatalf("%d segments, want several of 4 KiB", n)
	}
	_ = s.Close()
	if err := s.StoreLogs(entries(302, 302, 1)); !errors.Is(err, errLogStoreClosed) {
		t.Fatalf("store after close: %v", err)
	}
	s = openTestLog(t, dir, 4096)
	wantLog(t, s, 1, 301, inTerm(1))
	storeOK(t, s, entries(302, 320, 2))
	_ = s.Close()
	s = openTestLog(t, dir, 4096)
	wantLog(t, s, 1, 320, func(i uint64) uint64 { return map[bool]uint64{true: 1, false: 2}[i < 302] })
}

func TestLogStoreRefusesEntriesOutOfOrder(t *testing.T) {
	s := openTestLog(t, t.TempDir(), 0)
	if err := s.StoreLogs([]*raft.Log{entry(1, 1), entry(3, 1)}); err == nil {
		t.Fatal("stored a batch with a hole")
	}
	wantLog(t, s, 0, 0, nil)
}

// lastSeg returns the newest segment's path and its size.
func lastSeg(t *testing.T, dir string) (string, int64) {
	t.Helper()
	segs := segFiles(t, dir)
	st, err := os.Stat(segs[len(segs)-1])
	if err != nil {
		t.Fatal(err)
	}
	return segs[len(segs)-1], st.Size()
}

// recordEnd returns where the record of index i ends in its segment.
func recordEnd(s *logStore, i uint64) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seg := s.segs[len(s.segs)-1]
	return seg.end(i)
}

func TestLogStoreCutsATornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, path string, end9, end10 int64)
	}{
		{"record cut short", func(t *testing.T, path string, end9, end10 int64) {
			if err := os.Truncate(path, end10-5); err != nil {
				t.Fatal(err)
			}
		}},
		{"body corrupt", func(t *testing.T, path string, end9, end10 int64) {
			flipByte(t, path, end10-3)
		}},
		{"length corrupt", func(t *testing.T, path string, end9, end10 int64) {
			flipByte(t, path, end9+2)
		}},
		{"garbage after zeros", func(t *testing.T, path string, end9, end10 int64) {
			writeAt(t, path, end10+100, []byte("garbage that is never read"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestLog(t, dir, 1<<20)
			storeOK(t, s, entries(1, 9, 1))
			storeOK(t, s, entries(10, 10, 1))
			end9, end10 := recordEnd(s, 9), recordEnd(s, 10)
			_ = s.Close()
			path, _ := lastSeg(t, dir)
			tc.tear(t, path, end9, end10)
			s = openTestLog(t, dir, 1<<20)
			last := uint64(9)
			if tc.name == "garbage after zeros" {
				last = 10
			}
			wantLog(t, s, 1, last, inTerm(1))
			// The log goes on from there, and again after a restart.
			storeOK(t, s, entries(last+1, 20, 2))
			_ = s.Close()
			s = openTestLog(t, dir, 1<<20)
			wantLog(t, s, 1, 20, func(i uint64) uint64 { return map[bool]uint64{true: 1, false: 2}[i <= last] })
		})
	}
}

// Stale records past a cut tail are physically gone: a later shorter write followed by a
// crash must not bring an old record back as if it followed the new ones.
func TestLogStoreNeverResurrectsRecordsPastTheTail(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 1<<20)
	storeOK(t, s, entries(1, 5, 1))
	storeOK(t, s, entries(6, 30, 1))
	end5 := recordEnd(s, 5)
	_ = s.Close()
	path, _ := lastSeg(t, dir)
	flipByte(t, path, end5+10) // record 6 torn; 7..30 intact on disk
	s = openTestLog(t, dir, 1<<20)
	wantLog(t, s, 1, 5, inTerm(1))
	// Index 6 again, in a new term and of another size: what followed the old 6 must not be
	// read as 7 later.
	storeOK(t, s, []*raft.Log{{Index: 6, Term: 2, Type: raft.LogCommand, Data: []byte("x")}})
	_ = s.Close()
	s = openTestLog(t, dir, 1<<20)
	if last, _ := s.LastIndex(); last != 6 {
		t.Fatalf("last index %d after a restart, want 6", last)
	}
}

func TestLogStoreTruncatesTheTail(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 2048)
	storeInBatches(t, s, 1, 100, 1)
	segsBefore := len(segFiles(t, dir))
	// A conflict, as a follower sees it: 40.. is replaced by the leader's entries of term 2.
	if err := s.DeleteRange(40, 100); err != nil {
		t.Fatal(err)
	}
	wantLog(t, s, 1, 39, inTerm(1))
	if n := len(segFiles(t, dir)); n >= segsBefore {
		t.Fatalf("%d segments after truncating most of the log, had %d", n, segsBefore)
	}
	storeOK(t, s, entries(40, 60, 2))
	termOf := func(i uint64) uint64 { return map[bool]uint64{true: 1, false: 2}[i < 40] }
	wantLog(t, s, 1, 60, termOf)
	_ = s.Close()
	s = openTestLog(t, dir, 2048)
	wantLog(t, s, 1, 60, termOf)
	// Storing over the end replaces the log from there on.
	storeOK(t, s, entries(55, 56, 3))
	_ = s.Close()
	s = openTestLog(t, dir, 2048)
	wantLog(t, s, 1, 56, func(i uint64) uint64 {
		if i >= 55 {
			return 3
		}
		return termOf(i)
	})
	// Everything.
	if err := s.DeleteRange(1, 56); err != nil {
		t.Fatal(err)
	}
	wantLog(t, s, 0, 0, nil)
	storeOK(t, s, entries(57, 60, 4))
	_ = s.Close()
	s = openTestLog(t, dir, 2048)
	wantLog(t, s, 57, 60, inTerm(4))
}

func TestLogStoreCompactsTheHead(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 2048)
	storeInBatches(t, s, 1, 200, 1)
	n := len(segFiles(t, dir))
	if err := s.DeleteRange(1, 150); err != nil {
		t.Fatal(err)
	}
	wantLog(t, s, 151, 200, inTerm(1))
	if m := len(segFiles(t, dir)); m >= n {
		t.Fatalf("%d segments after compaction, had %d", m, n)
	}
	storeOK(t, s, entries(201, 210, 1))
	_ = s.Close()
	// Entries of the first kept segment before 151 may come back after a restart (they are
	// committed and still correct), but nothing of the removed segments does.
	s = openTestLog(t, dir, 2048)
	first, _ := s.FirstIndex()
	if first > 151 || first < 100 {
		t.Fatalf("first index %d after restart", first)
	}
	wantLog(t, s, first, 210, inTerm(1))
	if err := s.DeleteRange(first+1, 205); err == nil {
		t.Fatal("deleted from the middle")
	}
}

// After a snapshot install raft appends past a gap: the log restarts there.
func TestLogStoreStartsAgainAfterAGap(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 0)
	storeOK(t, s, entries(1, 50, 1))
	storeOK(t, s, entries(1000, 1010, 3))
	wantLog(t, s, 1000, 1010, inTerm(3))
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments, want the new one only", n)
	}
	_ = s.Close()
	s = openTestLog(t, dir, 0)
	wantLog(t, s, 1000, 1010, inTerm(3))
}

// A crash between the gap segment's sync and the removal of the older ones.
func TestLogStoreOpenDropsSegmentsBeforeAGap(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 0)
	storeOK(t, s, entries(1, 50, 1))
	_ = s.Close()
	old := segFiles(t, dir)[0]
	keep, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	s = openTestLog(t, dir, 0)
	storeOK(t, s, entries(1000, 1010, 3))
	_ = s.Close()
	if err := os.WriteFile(old, keep, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTestLog(t, dir, 0)
	wantLog(t, s, 1000, 1010, inTerm(3))
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments, want the new one only", n)
	}
}

// A segment created but never written to (its header torn) is dropped.
func TestLogStoreDropsAnEmptyNewSegment(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 0)
	storeOK(t, s, entries(1, 5, 1))
	_ = s.Close()
	if err := os.WriteFile(filepath.Join(dir, segName(6)), []byte("kmbr"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTestLog(t, dir, 0)
	wantLog(t, s, 1, 5, inTerm(1))
	storeOK(t, s, entries(6, 7, 1))
	_ = s.Close()
	s = openTestLog(t, dir, 0)
	wantLog(t, s, 1, 7, inTerm(1))
}

// Corruption anywhere but the tail of the newest segment is not a torn write: acknowledged
// entries are damaged, and the node must not start as if nothing happened.
func TestLogStoreRefusesCorruptionBeforeTheTail(t *testing.T) {
	dir := t.TempDir()
	s := openTestLog(t, dir, 2048)
	storeInBatches(t, s, 1, 100, 1)
	_ = s.Close()
	first := segFiles(t, dir)[0]
	flipByte(t, first, segHeaderLen+20)
	_, err := openLogStore(dir, 2048, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), "catches up from the leader") {
		t.Fatalf("open of a corrupt log: %v", err)
	}
}

func TestLogStoreReportsAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	failed := make(chan error, 1)
	s, err := openLogStore(dir, 0, nil, func(err error) { failed <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storeOK(t, s, entries(1, 3, 1))
	// Make the next write fail: the file is closed under the store.
	s.mu.RLock()
	_ = s.segs[0].f.Close()
	s.mu.RUnlock()
	if err := s.StoreLogs(entries(4, 4, 1)); err == nil {
		t.Fatal("write to a closed file succeeded")
	}
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the failure was not reported")
	}
	// No later write is tried.
	if err := s.StoreLogs(entries(4, 4, 1)); err == nil || !strings.Contains(err.Error(), "raft log") {
		t.Fatalf("write after a failure: %v", err)
	}
}

func TestStableStoreKeepsKeysAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stable")
	s, err := openStableStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("missing key: %v (raft wants the text \"not found\")", err)
	}
	if _, err := s.Get([]byte("LastVoteCand")); err == nil || err.Error() != "not found" {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 8); err != nil {
		t.Fatal(err)
	}
	// A Set that crashed before its rename leaves a temporary file: ignored.
	if err := os.WriteFile(path+".tmp", []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = openStableStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 8 {
		t.Fatalf("term %d %v", v, err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "node-2" {
		t.Fatalf("vote %q %v", v, err)
	}
	flipByte(t, path, 10)
	if _, err := openStableStore(path); err == nil {
		t.Fatal("opened a corrupt state file")
	}
}

// A data folder written by an earlier version (raft-boltdb's raft.db) is migrated once.
func TestOldBoltLogIsMigrated(t *testing.T) {
	raftDir := t.TempDir()
	old := filepath.Join(raftDir, oldBoltFile)
	bs, err := raftboltdb.New(raftboltdb.Options{Path: old})
	if err != nil {
		t.Fatal(err)
	}
	// A log with a gap, as raft-boltdb holds after a snapshot install.
	if err := bs.StoreLogs(entries(1, 20, 1)); err != nil {
		t.Fatal(err)
	}
	if err := bs.StoreLogs(entries(500, 900, 2)); err != nil {
		t.Fatal(err)
	}
	if err := bs.SetUint64([]byte("CurrentTerm"), 2); err != nil {
		t.Fatal(err)
	}
	if err := bs.Set([]byte("LastVoteCand"), []byte("3")); err != nil {
		t.Fatal(err)
	}
	_ = bs.Close()
	ls, ss, err := openRaftState(raftDir, 8192, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantLog(t, ls, 500, 900, inTerm(2))
	if v, err := ss.GetUint64([]byte("CurrentTerm")); err != nil || v != 2 {
		t.Fatalf("term %d %v", v, err)
	}
	if v, err := ss.Get([]byte("LastVoteCand")); err != nil || string(v) != "3" {
		t.Fatalf("vote %q %v", v, err)
	}
	if _, err := ss.Get([]byte("LastVoteTerm")); err == nil {
		t.Fatal("a key the old store did not hold appeared")
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old file is still there: %v", err)
	}
	storeOK(t, ls, entries(901, 905, 3))
	_ = ls.Close()
	// Once only: the next open uses the new log as it is.
	ls, _, err = openRaftState(raftDir, 8192, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	wantLog(t, ls, 500, 905, func(i uint64) uint64 { return map[bool]uint64{true: 2, false: 3}[i <= 900] })
}

// A migration that crashed half way (the temporary folder written, not renamed) starts again.
func TestInterruptedMigrationStartsAgain(t *testing.T) {
	raftDir := t.TempDir()
	old := filepath.Join(raftDir, oldBoltFile)
	bs, err := raftboltdb.New(raftboltdb.Options{Path: old})
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.StoreLogs(entries(1, 30, 1)); err != nil {
		t.Fatal(err)
	}
	_ = bs.Close()
	tmp := filepath.Join(raftDir, raftLogDir+".migrating")
	half := openTestLog(t, tmp, 0)
	storeOK(t, half, entries(1, 3, 9)) // wrong and partial: must not survive
	_ = half.Close()
	ls, _, err := openRaftState(raftDir, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	wantLog(t, ls, 1, 30, inTerm(1))
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary folder left: %v", err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// toBolt rewrites a stopped node's raft state as an earlier version kept it (raft-boltdb's
// raft.db), so the upgrade path runs on a real node's data.
func toBolt(t *testing.T, raftDir string) {
	t.Helper()
	dir := filepath.Join(raftDir, raftLogDir)
	ls, err := openLogStore(dir, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := openStableStore(filepath.Join(dir, raftStableFile))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, oldBoltFile)})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ls.FirstIndex()
	last, _ := ls.LastIndex()
	for i := first; i != 0 && i <= last; i++ {
		var l raft.Log
		if err := ls.GetLog(i, &l); err != nil {
			t.Fatal(err)
		}
		if err := bs.StoreLog(&l); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range stableKeys {
		if v, err := ss.Get([]byte(k)); err == nil {
			if err := bs.Set([]byte(k), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = bs.Close()
	_ = ls.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

// A whole cluster upgraded from the raft-boltdb format keeps its data, its term and its
// membership, and goes on taking writes.
func TestClusterUpgradedFromBoltKeepsItsData(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lead := c.leader()
	sid := c.submit(lead, createOp("s")).StreamID
	var want []string
	for i := 0; i < 10; i++ {
		want = append(want, fmt.Sprint("before-", i))
		if r := c.submit(lead, appendOp(sid, uint64(i), want[i])); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	for i := range c.nodes {
		c.waitStream(i, sid, want)
	}
	termBefore := c.nodes[lead].Term()
	for i := range c.nodes {
		c.stop(i)
		toBolt(t, filepath.Join(c.cfgs[i].DataDir, "raft"))
	}
	for i := range c.nodes {
		c.start(i)
	}
	lead = c.leader()
	if got := c.nodes[lead].Term(); got <= termBefore {
		t.Fatalf("term %d after the upgrade, was %d before: the stored term was lost", got, termBefore)
	}
	want = append(want, "after")
	if r := c.submit(lead, appendOp(sid, 10, "after")); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := range c.nodes {
		c.waitStream(i, sid, want)
		if _, err := os.Stat(filepath.Join(c.cfgs[i].DataDir, "raft", oldBoltFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("node %d kept raft.db: %v", i+1, err)
		}
	}
}

// logWriterEnv makes the test binary a writer process for TestLogStoreSurvivesKillNine.
const logWriterEnv = "KMB_TEST_LOG_WRITER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(logWriterEnv); dir != "" {
		os.Exit(runLogWriter(dir))
	}
	os.Exit(m.Run())
}

// runLogWriter appends batches of entries, with a tail truncation now and then as a follower
// does on a conflict, and prints the last index of each StoreLogs that returned, and
// "truncate FROM" before each truncation.
func runLogWriter(dir string) int {
	s, err := openLogStore(dir, 64<<10, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	last, _ := s.LastIndex()
	for k := 0; ; k++ {
		if k%50 == 49 && last > 10 {
			// Replace the last few entries, in the same term (the content depends on the index
			// and the term only, so the check below holds either way).
			fmt.Println("truncate", last-3)
			if err := s.DeleteRange(last-3, last); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			last -= 4
		}
		n := uint64(1 + k%9)
		if err := s.StoreLogs(entries(last+1, last+n, 1)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		last += n
		fmt.Println(last)
	}
}

// kill -9 of a process writing the log at any moment loses no entry whose StoreLogs returned
// (truncated ones aside), and the log stays readable and contiguous.
func TestLogStoreSurvivesKillNine(t *testing.T) {
	dir := t.TempDir()
	var acked uint64
	for round := 0; round < 6; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), logWriterEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		// A truncation takes back what was acknowledged at and after its first index.
		take := func(line string) {
			if from, ok := strings.CutPrefix(line, "truncate "); ok {
				v, err := strconv.ParseUint(from, 10, 64)
				if err != nil {
					t.Fatalf("writer said %q", line)
				}
				acked = min(acked, v-1)
				return
			}
			v, err := strconv.ParseUint(line, 10, 64)
			if err != nil {
				t.Fatalf("writer said %q", line)
			}
			acked = v
		}
		// Kill after a number of lines that differs per round, then take the lines the writer
		// printed before it died: it may have gone on, and truncated, meanwhile.
		for i := 0; i < 200+round*137 && sc.Scan(); i++ {
			take(sc.Text())
		}
		_ = cmd.Process.Kill()
		for sc.Scan() {
			take(sc.Text())
		}
		_ = cmd.Wait()
		if acked == 0 {
			t.Fatalf("the writer acknowledged nothing: %s", stderr.String())
		}
		s, err := openLogStore(dir, 64<<10, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := s.LastIndex()
		if last < acked {
			_ = s.Close()
			t.Fatalf("round %d: last index %d, but %d was acknowledged", round, last, acked)
		}
		first, _ := s.FirstIndex()
		for i := first; i <= last; i++ {
			var l raft.Log
			if err := s.GetLog(i, &l); err != nil || !bytes.Equal(l.Data, entry(i, 1).Data) {
				_ = s.Close()
				t.Fatalf("round %d: index %d: %v %q", round, i, err, l.Data)
			}
		}
		_ = s.Close()
	}
}
