package engine

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// syncedGroup is a group commit written to the write-ahead log and waiting for its sync.
type syncedGroup struct {
	seq     uint64
	batch   []queuedOp
	results []Result
}

// logGroup applies one group to the file and appends it to the write-ahead log, unsynced. A
// failure here is sticky: the file and the log may disagree, so no later group is accepted.
func (db *DB) logGroup(ops []Op) ([]Result, error) {
	if err := db.walFailure(); err != nil {
		return nil, err
	}
	seq := db.written.Load() + 1
	results, err := db.commit(ops, nil, seq)
	if err == nil {
		err = db.wal.append(seq, ops)
	}
	if err != nil {
		db.failWAL(err)
		return nil, err
	}
	return results, nil
}

// syncer fsyncs the write-ahead log for every group the committer hands over, taking all the
// groups waiting at once, and completes them. It ends when groups is closed.
func (db *DB) syncer(groups <-chan syncedGroup, done chan<- struct{}) {
	defer close(done)
	var pending []syncedGroup
	for g := range groups {
		pending = append(pending[:0], g)
	more:
		for {
			select {
			case g, ok := <-groups:
				if !ok {
					break more
				}
				pending = append(pending, g)
			default:
				break more
			}
		}
		start := time.Now()
		err := db.walFailure()
		if err == nil {
			if err = db.wal.sync(); err != nil {
				db.failWAL(err)
			}
		}
		db.syncCount.Add(1)
		db.syncNanos.Add(int64(time.Since(start)))
		last := pending[len(pending)-1].seq
		if err == nil {
			db.markSynced(last)
		}
		for _, g := range pending {
			for i, q := range g.batch {
				if err != nil {
					q.p.Complete(Result{Err: Errorf(wire.ErrStorageError, "storage error: %v", err)})
				} else {
					q.p.Complete(g.results[i])
				}
			}
		}
		clear(pending)
	}
}

// markSynced records that every group up to seq is durable and wakes the reads waiting for it.
func (db *DB) markSynced(seq uint64) {
	db.syncMu.Lock()
	db.synced = seq
	db.syncCond.Broadcast()
	db.syncMu.Unlock()
}

func (db *DB) failWAL(err error) {
	db.syncMu.Lock()
	if db.walErr == nil {
		db.walErr = fmt.Errorf("write-ahead log: %w", err)
	}
	db.syncCond.Broadcast()
	db.syncMu.Unlock()
}

func (db *DB) walFailure() error {
	db.syncMu.Lock()
	defer db.syncMu.Unlock()
	return db.walErr
}

// waitSynced returns once every group up to seq is durable. A read calls it with the newest
// group it could have seen, so that it never returns a write that a crash could still lose.
func (db *DB) waitSynced(seq uint64) error {
	if db.wal == nil {
		return nil
	}
	db.syncMu.Lock()
	defer db.syncMu.Unlock()
	for db.synced < seq && db.walErr == nil {
		db.syncCond.Wait()
	}
	if db.synced >= seq {
		return nil
	}
	return Errorf(wire.ErrStorageError, "storage error: %v", db.walErr)
}

// durableWait returns nil when every group up to seq is durable, else a function that waits
// for it (waitSynced).
func (db *DB) durableWait(seq uint64) func() error {
	if db.wal == nil {
		return nil
	}
	db.syncMu.Lock()
	done := db.synced >= seq
	db.syncMu.Unlock()
	if done {
		return nil
	}
	return func() error { return db.waitSynced(seq) }
}

// checkpointIfDue empties the write-ahead log once it is large: it waits until every group
// written is durable, fsyncs the database file, then truncates the log. It runs on the
// committer, the log's only writer.
func (db *DB) checkpointIfDue() {
	if db.wal.size < walCheckpointBytes {
		return
	}
	if err := db.checkpoint(); err != nil {
		db.failWAL(err)
	}
}

func (db *DB) checkpoint() error {
	if err := db.waitSynced(db.written.Load()); err != nil {
		return err
	}
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.store == nil {
		return ErrClosed
	}
	if err := db.store.Sync(); err != nil {
		return err
	}
	return db.wal.reset()
}

// recoverWAL applies the log's groups that the file does not hold yet (those past its stored
// sequence number), then checkpoints. It runs in Open, before the committer starts.
func (db *DB) recoverWAL(recs []walRecord) error {
	var last uint64
	err := db.store.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyWALSeq); len(v) == 8 {
			last = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.seq <= last {
			continue
		}
		if r.seq != last+1 {
			return fmt.Errorf("engine: write-ahead log jumps from group %d to %d", last, r.seq)
		}
		if _, err := db.commit(r.ops, nil, r.seq); err != nil {
			return fmt.Errorf("engine: applying write-ahead log group %d: %w", r.seq, err)
		}
		last = r.seq
	}
	db.written.Store(last)
	db.synced = last
	if err := db.store.Sync(); err != nil {
		return err
	}
	return db.wal.reset()
}
