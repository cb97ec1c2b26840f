package engine

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// syncedGroup is a group commit written to the write-ahead log and waiting for its sync.
// applied gets the outcome of applying it to the file, which runs during the sync.
type syncedGroup struct {
	seq     uint64
	batch   []queuedOp
	applied chan groupOutcome
}

// groupOutcome is what applying a group to the file gave: a result per op, or a failure.
type groupOutcome struct {
	results []Result
	err     error
}

// logNext appends ops to the write-ahead log, unsynced, as the group after the last one
// written, and returns its sequence number. The caller then applies it (applyLogged). Only the
// holder of the write path (the committer goroutine, or a WriteNow that claimed it) calls it.
func (db *DB) logNext(ops []Op) (uint64, error) {
	if err := db.walFailure(); err != nil {
		return 0, err
	}
	seq := db.written.Load() + 1
	if err := db.wal.append(seq, ops); err != nil {
		db.failWAL(err)
		return 0, err
	}
	return seq, nil
}

// applyLogged applies the group seq, already in the write-ahead log, to the file (unsynced). A
// failure here is sticky: the file and the log disagree, so no later group is accepted, and
// reopening the database applies the group from the log.
func (db *DB) applyLogged(ops []Op, seq uint64) groupOutcome {
	results, err := db.commit(ops, nil, seq)
	if err != nil {
		db.failWAL(err)
	}
	return groupOutcome{results, err}
}

// logGroup appends one group to the write-ahead log, hands it to syncs, and applies it to the
// file while the syncer syncs the log; the syncer then answers it. An error means the group
// never reached the log, and the caller answers it.
func (db *DB) logGroup(ops []Op, batch []queuedOp, syncs chan<- syncedGroup) error {
	seq, err := db.logNext(ops)
	if err != nil {
		return err
	}
	applied := make(chan groupOutcome, 1)
	db.q.syncing.Add(1)
	syncs <- syncedGroup{seq: seq, batch: batch, applied: applied}
	applied <- db.applyLogged(ops, seq)
	return nil
}

// syncer fsyncs the write-ahead log for every group the committer hands over, taking all the
// groups waiting at once, and completes each once it is applied to the file too, so that a read
// after the answer finds the write. It ends when groups is closed.
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
		err := db.syncLog()
		for _, g := range pending {
			out := <-g.applied
			gerr := err
			if gerr == nil {
				gerr = out.err
			}
			if gerr == nil {
				db.markSynced(g.seq)
			}
			// Synced and applied, the group no longer holds the write path, even before its
			// writers hear: a writer's next call can then take WriteNow instead of queueing.
			db.q.syncing.Add(-1)
			for i, q := range g.batch {
				if gerr != nil {
					q.p.Complete(Result{Err: storageError(gerr)})
				} else {
					q.p.Complete(out.results[i])
				}
			}
		}
		clear(pending)
	}
}

// syncLog fsyncs the write-ahead log, unless it failed before; a failure is sticky.
func (db *DB) syncLog() error {
	start := time.Now()
	err := db.walFailure()
	if err == nil {
		if err = db.wal.sync(); err != nil {
			db.failWAL(err)
		}
	}
	db.syncCount.Add(1)
	db.syncNanos.Add(int64(time.Since(start)))
	return err
}

// markSynced records that every group up to seq is durable and wakes the reads waiting for it.
func (db *DB) markSynced(seq uint64) {
	db.syncMu.Lock()
	db.synced = max(db.synced, seq) // a later group's sync may end first, and covers this one
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

// checkpointDue reports whether the write-ahead log is large enough to be emptied. Only the
// holder of the write path calls it.
func (db *DB) checkpointDue() bool { return db.wal.size >= walCheckpointBytes }

// checkpointIfDue empties the write-ahead log once it is large: it waits until every group
// written is durable, fsyncs the database file, then truncates the log. It runs on the
// committer, the log's only writer.
func (db *DB) checkpointIfDue() {
	if !db.checkpointDue() {
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
