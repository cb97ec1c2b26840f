// Package engine is Kimberlite's embedded database: tenants, streams and their events, stored
// in one bbolt file whose durable record is a write-ahead log (or, in a cluster, the raft log).
// Writes go through a group committer, so concurrent appends share one fsync. The TCP server (engine/server) serves a *DB, and a replicated node applies its raft log
// to one with ApplyBatch.
package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// FileName is the database file inside the data folder given to Open.
const FileName = "kimberlite.db"

// ErrClosed is returned by every operation on a closed DB.
var ErrClosed = errors.New("engine: database is closed")

// DB is an open database. All methods are safe for concurrent use.
type DB struct {
	dir  string
	path string
	// unsynced: a replica (OpenReplica), with no write-ahead log of its own.
	unsynced bool

	// wal is the write-ahead log of a standalone database (nil for a replica). written is the
	// last group applied to the file, synced the last one durable in the log; reads wait for
	// synced to cover what they saw (syncMu, syncCond).
	wal      *wal
	written  atomic.Uint64
	syncMu   sync.Mutex
	syncCond sync.Cond
	synced   uint64
	walErr   error

	// rw guards store: everything that uses the bbolt handle holds it for reading; Restore and
	// Close, which replace or drop the handle, hold it for writing.
	rw    sync.RWMutex
	store *bolt.DB

	tenants atomic.Uint32 // number of tenants owning at least one stream

	q committer

	watch watchers // wakes subscriptions waiting for a stream's next events

	commitCount atomic.Int64
	opCount     atomic.Int64
	applyNanos  atomic.Int64
	commitNanos atomic.Int64
	syncCount   atomic.Int64
	syncNanos   atomic.Int64
	observer    atomic.Pointer[commitObserverBox] // see ObserveCommits

	closeOnce sync.Once
	closeErr  error
}

// Stats is a snapshot of the write path's counters since Open.
type Stats struct {
	// CommitCount is the number of write transactions committed (each one fsync round).
	CommitCount int64
	// OpCount is the number of write operations applied (creates and appends, refused ones too).
	OpCount int64
	// ApplyTime is the time spent applying operations inside transactions, before commit.
	ApplyTime time.Duration
	// CommitTime is the time spent in commit: writing pages to the file (not fsynced).
	CommitTime time.Duration
	// SyncCount and SyncTime count the write-ahead log's fsyncs and the time they took (a
	// standalone database; one fsync may cover several group commits).
	SyncCount int64
	SyncTime  time.Duration
}

// Open opens (creating if needed) the database in folder dir. Only one process may have a folder
// open at a time; a second Open fails after a second.
func Open(dir string) (*DB, error) { return open(dir, false) }

// OpenReplica opens the database of a replicated node, whose raft log is the durable record
// of every write: its commits write to the file without fsyncing it. A process killed at any
// moment loses nothing (the kernel holds what was written), and whatever a crash of the machine
// loses is applied again from the raft log, past the applied index stored with each batch
// (ApplyBatch skips nothing it has not applied, and a node whose database is behind the newest
// snapshot restores the snapshot). Sync still fsyncs.
func OpenReplica(dir string) (*DB, error) { return open(dir, true) }

func open(dir string, unsynced bool) (*DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: creating data folder: %w", err)
	}
	db := &DB{dir: dir, path: filepath.Join(dir, FileName), unsynced: unsynced}
	// A restore that crashed before its rename leaves a temporary file behind; it is garbage.
	_ = os.Remove(db.restorePath())
	unclean, err := markOpen(dir)
	if err != nil {
		return nil, err
	}
	store, err := db.openStore(db.path)
	if err != nil {
		return nil, err
	}
	if unclean {
		if err := checkStore(store, db.path); err != nil {
			_ = store.Close()
			return nil, err
		}
	}
	db.store = store
	db.syncCond.L = &db.syncMu
	if err := db.loadCounters(); err != nil {
		_ = store.Close()
		return nil, err
	}
	if !unsynced {
		w, recs, err := openWAL(filepath.Join(dir, WALFileName))
		if err != nil {
			_ = store.Close()
			return nil, err
		}
		db.wal = w
		if err := db.recoverWAL(recs); err != nil {
			_ = w.close()
			_ = store.Close()
			return nil, err
		}
	}
	db.q.init(db)
	return db, nil
}

// openStore opens the file at path for commits that do not fsync it.
func (db *DB) openStore(path string) (*bolt.DB, error) {
	store, err := openStore(path)
	if err == nil {
		store.NoSync = true // the write-ahead log or the raft log is the durable record
	}
	return store, err
}

func openStore(path string) (*bolt.DB, error) {
	store, err := boltOpen(path, &bolt.Options{
		Timeout: time.Second,
		// Reserve address space up front so the file can grow to 1 GiB without remapping, which
		// would have to wait for every open read transaction.
		InitialMmapSize: 1 << 30,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("engine: %s is in use by another process", path)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: opening %s: %w", path, err)
	}
	err = store.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("engine: initialising %s: %w", path, err)
	}
	return store, nil
}

func (db *DB) loadCounters() error {
	return db.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTenants)
		if b == nil {
			return fmt.Errorf("engine: %s has no tenants bucket", db.path)
		}
		db.tenants.Store(uint32(b.Stats().KeyN))
		return nil
	})
}

// Mode reports a single local database as Standalone.
func (db *DB) Mode() wire.ClusterMode { return wire.ClusterStandalone }

// TenantCount is the number of tenants that own at least one stream.
func (db *DB) TenantCount() uint32 { return db.tenants.Load() }

// Stats returns the write path's counters.
func (db *DB) Stats() Stats {
	return Stats{
		CommitCount: db.commitCount.Load(),
		OpCount:     db.opCount.Load(),
		ApplyTime:   time.Duration(db.applyNanos.Load()),
		CommitTime:  time.Duration(db.commitNanos.Load()),
		SyncCount:   db.syncCount.Load(),
		SyncTime:    time.Duration(db.syncNanos.Load()),
	}
}

// Close finishes every write already submitted, then closes the file. Later calls return the
// first call's result; operations after Close fail with ErrClosed.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.q.stop()
		var errs []error
		if db.wal != nil {
			if db.walFailure() == nil {
				errs = append(errs, db.checkpoint())
			}
			errs = append(errs, db.wal.close())
		} else {
			errs = append(errs, db.store.Sync())
		}
		db.rw.Lock()
		defer db.rw.Unlock()
		errs = append(errs, db.store.Close())
		if err := errors.Join(errs...); err == nil {
			err = markClosed(db.dir)
			errs = append(errs, err)
		}
		db.closeErr = errors.Join(errs...)
		db.store = nil
	})
	return db.closeErr
}

// view runs fn in a read transaction and returns once what it saw is durable.
func (db *DB) view(fn func(tx *bolt.Tx) error) error {
	wait, err := db.viewNoWait(fn)
	if err == nil && wait != nil {
		err = wait()
	}
	return err
}

// viewNoWait runs fn in a read transaction; when the transaction may hold a group whose sync
// has not finished, wait is not nil and what fn read may be used only once wait returns nil.
func (db *DB) viewNoWait(fn func(tx *bolt.Tx) error) (wait func() error, err error) {
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.store == nil {
		return nil, ErrClosed
	}
	var seen uint64
	err = db.store.View(func(tx *bolt.Tx) error {
		seen = db.written.Load() // published before its group is visible: >= what tx sees
		return fn(tx)
	})
	if err != nil {
		return nil, err
	}
	return db.durableWait(seen), nil
}
