package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// The database file is written without fsync between checkpoints (the write-ahead log, or in a
// cluster the raft log, is the durable record). A killed process loses nothing, but a machine
// that loses power may leave the file with pages written out of order, which neither log can
// repair. So the file is checked after every stop that was not a clean Close, and a damaged
// file is refused with a reason instead of being served.

// DirtyFileName marks a database that is open, or was not closed cleanly.
const DirtyFileName = "kimberlite.open"

// ErrDamaged reports a database file that failed its check after an unclean stop.
var ErrDamaged = errors.New("engine: the database file is damaged")

// markOpen records that the database is open and reports whether the last stop was unclean.
func markOpen(dir string) (unclean bool, err error) {
	path := filepath.Join(dir, DirtyFileName)
	if _, err := os.Stat(path); err == nil {
		unclean = true
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return unclean, fmt.Errorf("engine: marking %s open: %w", dir, err)
	}
	return unclean, errors.Join(f.Sync(), f.Close())
}

// markClosed records a clean stop; called once the file is synced and closed.
func markClosed(dir string) error {
	err := os.Remove(filepath.Join(dir, DirtyFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// boltOpen opens a bbolt file; bbolt panics on some damaged pages (the freelist), which is a
// damaged file, not a reason to crash the server.
func boltOpen(path string, opts *bolt.Options) (store *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			store, err = nil, fmt.Errorf("%w: %s cannot be opened (%v); restore it from a backup or, in a "+
				"cluster, remove the node's data folder so it catches up from the others", ErrDamaged, path, r)
		}
	}()
	return bolt.Open(path, 0o600, opts)
}

// checkStore runs bbolt's consistency check over every page of the file.
func checkStore(store *bolt.DB, path string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s failed its check after an unclean stop (%v)", ErrDamaged, path, r)
		}
	}()
	return store.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %s failed its check after an unclean stop (%v); restore it from a "+
				"backup or, in a cluster, remove the node's data folder so it catches up from the others",
				ErrDamaged, path, errors.Join(errs...))
		}
		return nil
	})
}
