package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

func (db *DB) restorePath() string { return filepath.Join(db.dir, FileName+".restore") }

// Snapshot writes a consistent copy of the whole database to w (a bbolt file image). Writes may
// continue meanwhile; the copy reflects the moment the snapshot began.
func (db *DB) Snapshot(w io.Writer) error {
	return db.view(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}

// Restore replaces the whole content of the database with a snapshot made by Snapshot, durably,
// while the database stays open. The snapshot is written to a temporary file, checked, and
// renamed over the database file, so a crash leaves either the old or the new content. Reads and
// writes wait while the files are swapped. A snapshot that is not a database is refused and the
// content is left unchanged.
func (db *DB) Restore(r io.Reader) error {
	tmp := db.restorePath()
	if err := writeFileSync(tmp, r); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("engine: writing snapshot: %w", err)
	}
	check, err := openStore(tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("engine: snapshot is not a usable database: %w", err)
	}
	if err := check.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("engine: closing snapshot: %w", err)
	}

	db.rw.Lock()
	defer db.rw.Unlock()
	if db.store == nil {
		_ = os.Remove(tmp)
		return ErrClosed
	}
	if err := db.store.Close(); err != nil {
		return fmt.Errorf("engine: closing database for restore: %w", err)
	}
	db.store = nil
	if err := os.Rename(tmp, db.path); err != nil {
		return fmt.Errorf("engine: installing snapshot: %w", err)
	}
	if err := syncDir(db.dir); err != nil {
		return fmt.Errorf("engine: installing snapshot: %w", err)
	}
	store, err := db.openStore(db.path)
	if err != nil {
		return fmt.Errorf("engine: reopening after restore: %w", err)
	}
	db.store = store
	defer db.notifyAll()
	if db.wal != nil {
		// The snapshot came with another database's log position. Record this one's, durably
		// before any later group: the log's groups up to it are replaced by the snapshot, and
		// the ones after it must be applied on top of it after a crash.
		seq := db.written.Load()
		err := store.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyWALSeq, u64Key(seq)) })
		if err == nil {
			err = store.Sync()
		}
		if err != nil {
			return fmt.Errorf("engine: recording the log position after restore: %w", err)
		}
	}
	return db.loadCounters()
}

func writeFileSync(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
