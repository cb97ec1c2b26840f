package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A clean Close leaves no mark; a stop without Close (a killed process) leaves the mark, and
// the next Open checks the file: a sound one opens with everything in it, a damaged one is
// refused with ErrDamaged and a reason instead of being served.
func TestUncleanStopChecksTheFile(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sid := create(t, db, 7, "s")
	for i := 0; i < 200; i++ {
		appendOK(t, db, 7, sid, uint64(i), fmt.Sprintf("event-%d-%0400d", i, i))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, DirtyFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a clean Close left the open mark: %v", err)
	}

	// Unclean, file sound: opens, and the events are there.
	if err := os.WriteFile(filepath.Join(dir, DirtyFileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir)
	if err != nil {
		t.Fatalf("a sound file after an unclean stop: %v", err)
	}
	if n, err := db.StreamLength(ctx, 7, sid); err != nil || n != 200 {
		t.Fatalf("length %d, %v", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Unclean, pages torn: every page past the two meta pages and the freelist is overwritten.
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	for i := 4 * page; i < len(data); i++ {
		data[i] = 0xA5
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DirtyFileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir)
	if err == nil {
		_ = db.Close()
		t.Fatal("a damaged file was opened after an unclean stop")
	}
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("damaged file: %v, want ErrDamaged", err)
	}
	t.Logf("refused: %v", err)
}
