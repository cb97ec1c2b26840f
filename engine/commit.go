package engine

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// Submit queues a write and returns at once. One committer goroutine takes everything queued,
// appends it to the write-ahead log as one group, hands the group to a syncer goroutine, and
// applies it in submission order in one transaction committed to the file (not fsynced) while
// the syncer fsyncs the log, once for every group written meanwhile. The syncer completes each
// Pending once its group is both synced and applied. The next group forms and is written while
// one syncs, and concurrent writers share fsyncs, so throughput grows with concurrency.
// A Pending completes only once its write is durable, or with an error. After Close, the Pending
// completes at once with ErrClosed.
func (db *DB) Submit(op Op) *Pending {
	return db.q.submit(op)
}

// ApplyBatch applies ops in order in one transaction that also records index as the applied
// index. It is for a replica (OpenReplica), whose raft log holds ops durably already: the
// transaction is written to the file but not fsynced, nor written to a write-ahead log (on a
// database from Open it becomes durable at the next checkpoint or Close). A refused op (OffsetMismatch,
// StreamNotFound, ...) gets its *Error in its Result and does not stop the others. The error is
// only for a storage failure, in which case nothing of the batch was applied.
func (db *DB) ApplyBatch(ops []Op, index uint64) ([]Result, error) {
	return db.commit(ops, &index, 0)
}

// AppliedIndex returns the index recorded by the last ApplyBatch, or 0 if there was none.
func (db *DB) AppliedIndex() (uint64, error) {
	var idx uint64
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return fmt.Errorf("engine: database has no meta bucket")
		}
		if v := b.Get(keyApplied); len(v) == 8 {
			idx = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return idx, err
}

// commit applies ops in one write transaction and commits it. The file is not fsynced: a
// standalone database makes the group durable in its write-ahead log, a replica in its raft
// log. When index is not nil it is stored as the applied index in the same transaction; a
// non-zero seq is stored as the last write-ahead log group applied, and published as written
// before the transaction becomes visible, so that a read that sees it waits for its sync.
func (db *DB) commit(ops []Op, index *uint64, seq uint64) ([]Result, error) {
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.store == nil {
		return nil, ErrClosed
	}
	start := time.Now()
	tx, err := db.store.Begin(true)
	if err != nil {
		return nil, err
	}
	a, err := newApplier(tx)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	results, err := a.applyAll(ops)
	if err == nil && index != nil {
		err = tx.Bucket(bucketMeta).Put(keyApplied, u64Key(*index))
	}
	if err == nil && seq != 0 {
		err = tx.Bucket(bucketMeta).Put(keyWALSeq, u64Key(seq))
	}
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	applied := time.Now()
	if seq != 0 {
		db.written.Store(seq)
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	db.tenants.Add(a.newTenants)
	db.notifyCommitted(ops, results)
	db.commitCount.Add(1)
	db.opCount.Add(int64(len(ops)))
	db.applyNanos.Add(int64(applied.Sub(start)))
	db.commitNanos.Add(int64(time.Since(applied)))
	db.noteCommit(len(ops), applied.Sub(start), time.Since(applied))
	return results, nil
}

// WriteNow makes op durable on the calling goroutine when the write path is idle (nothing
// queued, being written or syncing) and returns its result and true; otherwise it does nothing
// and returns false, and the op is for Submit. A lone writer so pays no hand-off between
// goroutines, each of which can cost a thread's wake-up. The op is written to the log, applied
// to the file (unsynced), and then the log is synced; once it is applied the next group may
// form and be written during that sync. Writes made with WriteNow and Submit are applied in
// the order the calls were made.
func (db *DB) WriteNow(op Op) (Result, bool) {
	if db.wal == nil || !db.q.claim() {
		return Result{}, false
	}
	ops := []Op{op}
	seq, err := db.logNext(ops)
	if err != nil {
		db.q.unclaim()
		return Result{Err: storageError(err)}, true
	}
	// Counted as syncing, the write path is not claimed again before this sync ends: writes
	// that come meanwhile form a group behind it.
	db.q.syncing.Add(1)
	// Applied here, before the sync rather than beside it on another goroutine: waking a
	// thread for the apply made the sync return later than the apply it overlapped
	// (bench/server: p50 150–195 µs beside, 119–130 µs before).
	out := db.applyLogged(ops, seq)
	db.q.unclaim()
	err = db.syncLog()
	if err == nil {
		err = out.err
	}
	if err == nil {
		db.markSynced(seq)
	}
	db.q.syncing.Add(-1)
	if err != nil {
		return Result{Err: storageError(err)}, true
	}
	if db.q.claimFor(db.checkpointDue) {
		db.checkpointIfDue()
		db.q.unclaim()
	}
	return out.results[0], true
}

// storageError is what a client is told of a failure to store: ErrClosed, or StorageError.
func storageError(err error) error {
	if err == ErrClosed {
		return err
	}
	return Errorf(wire.ErrStorageError, "storage error: %v", err)
}

type queuedOp struct {
	op Op
	p  *Pending
}

// committer is the group commit queue: a FIFO of submitted writes and the goroutine that
// drains it, one transaction per drain.
type committer struct {
	db     *DB
	mu     sync.Mutex
	cond   sync.Cond
	queue  []queuedOp
	closed bool
	done   chan struct{}
	// working: the goroutine is writing a group; claimed: a caller of WriteNow is writing
	// one; syncing: groups written to the log whose sync has not ended (the syncer's, and a
	// WriteNow caller's).
	working bool
	claimed bool
	syncing atomic.Int32
}

func (c *committer) init(db *DB) {
	c.db = db
	c.cond.L = &c.mu
	c.done = make(chan struct{})
	go c.run()
}

func (c *committer) submit(op Op) *Pending {
	p := NewPending()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		p.Complete(Result{Err: ErrClosed})
		return p
	}
	c.queue = append(c.queue, queuedOp{op: op, p: p})
	c.cond.Signal()
	c.mu.Unlock()
	return p
}

// claim gives the write path to a caller of WriteNow when it is idle: nothing queued, being
// written or syncing.
func (c *committer) claim() bool {
	return c.claimFor(func() bool { return true })
}

// claimFor claims the write path (see claim) when due, which is called under the claim, says
// there is work for it.
func (c *committer) claimFor(due func() bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busyLocked() || !due() {
		return false
	}
	c.claimed = true
	return true
}

// busyLocked reports whether the write path is in use or closed (under mu).
func (c *committer) busyLocked() bool {
	return c.closed || c.claimed || c.working || len(c.queue) > 0 || c.syncing.Load() > 0
}

// unclaim gives the write path back, to the goroutine if writes were queued meanwhile.
func (c *committer) unclaim() {
	c.mu.Lock()
	c.claimed = false
	if len(c.queue) > 0 || c.closed {
		c.cond.Signal() // only then is the goroutine waiting for the claim
	}
	c.mu.Unlock()
}

// stop refuses new writes, waits until everything already queued is committed, and ends the
// goroutine.
func (c *committer) stop() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	var syncs chan syncedGroup
	if c.db.wal != nil {
		syncs = make(chan syncedGroup, 256)
		synced := make(chan struct{})
		go c.db.syncer(syncs, synced)
		defer func() { close(syncs); <-synced }()
	}
	var ops []Op
	for {
		c.mu.Lock()
		c.working = false
		for c.claimed || (len(c.queue) == 0 && !c.closed) {
			c.cond.Wait()
		}
		batch := c.queue
		c.queue = nil
		c.working = len(batch) > 0
		c.mu.Unlock()
		if len(batch) == 0 {
			return // closed and drained
		}
		ops = ops[:0]
		for _, q := range batch {
			ops = append(ops, q.op)
		}
		var results []Result
		var err error
		if syncs == nil {
			results, err = c.db.commit(ops, nil, 0)
		} else {
			// The group goes to the syncer once it is in the log and before it is applied to
			// the file, so that the sync and the apply overlap; the next group forms and is
			// written while this one syncs.
			if err = c.db.logGroup(ops, batch, syncs); err == nil {
				clear(ops) // drop references to event bytes between batches
				c.db.checkpointIfDue()
				continue // the syncer answers the group
			}
		}
		clear(ops)
		if err != nil {
			err = storageError(err)
			for _, q := range batch {
				q.p.Complete(Result{Err: err})
			}
			continue
		}
		for i, q := range batch {
			q.p.Complete(results[i])
		}
	}
}
