package engine

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// Submit queues a write and returns at once. One committer goroutine takes everything queued,
// applies it in submission order in one transaction, commits it to the file and appends it to
// the write-ahead log; a syncer goroutine then fsyncs the log once for every group written
// meanwhile and completes each Pending. The next group forms and is written while one syncs,
// and concurrent writers share fsyncs, so throughput grows with concurrency.
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
	g, err := db.apply(ops, index, seq)
	if err != nil {
		return nil, err
	}
	return g.results, g.commit()
}

// appliedGroup is a write transaction with a group applied, not yet committed.
type appliedGroup struct {
	db      *DB
	tx      *bolt.Tx
	a       *applier
	ops     []Op
	results []Result
	start   time.Time
	applied time.Time
}

// apply applies ops in a new write transaction (see commit). The caller holds db.rw for
// reading until the group is committed.
func (db *DB) apply(ops []Op, index *uint64, seq uint64) (*appliedGroup, error) {
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
	if seq != 0 {
		db.written.Store(seq)
	}
	return &appliedGroup{db: db, tx: tx, a: a, ops: ops, results: results, start: start, applied: time.Now()}, nil
}

// commit writes the group's transaction to the file (not fsynced) and makes it visible.
func (g *appliedGroup) commit() error {
	db := g.db
	if err := g.tx.Commit(); err != nil {
		return err
	}
	db.tenants.Add(g.a.newTenants)
	db.notifyCommitted(g.ops, g.results)
	db.commitCount.Add(1)
	db.opCount.Add(int64(len(g.ops)))
	applyTime, commitTime := g.applied.Sub(g.start), time.Since(g.applied)
	db.applyNanos.Add(int64(applyTime))
	db.commitNanos.Add(int64(commitTime))
	db.noteCommit(len(g.ops), applyTime, commitTime)
	return nil
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
	var syncs chan *syncedGroup
	if c.db.wal != nil {
		syncs = make(chan *syncedGroup, 256)
		synced := make(chan struct{})
		go c.db.syncer(syncs, synced)
		defer func() { close(syncs); <-synced }()
	}
	var ops []Op
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.cond.Wait()
		}
		batch := c.queue
		c.queue = nil
		c.mu.Unlock()
		if len(batch) == 0 {
			return // closed and drained
		}
		ops = ops[:0]
		for _, q := range batch {
			ops = append(ops, q.op)
		}
		if syncs != nil {
			// The group's record is in the log before its transaction is committed, so that
			// the sync and the commit run side by side; the next group forms and is written
			// while this one syncs.
			if err := c.db.logGroup(ops, batch, syncs); err != nil {
				completeAll(batch, err)
			}
			clear(ops) // drop references to event bytes between batches
			c.db.checkpointIfDue()
			continue
		}
		results, err := c.db.commit(ops, nil, 0)
		clear(ops)
		if err != nil {
			completeAll(batch, err)
			continue
		}
		for i, q := range batch {
			q.p.Complete(results[i])
		}
	}
}

// completeAll fails every write of a group that could not be written.
func completeAll(batch []queuedOp, err error) {
	if err != ErrClosed {
		err = Errorf(wire.ErrStorageError, "storage error: %v", err)
	}
	for _, q := range batch {
		q.p.Complete(Result{Err: err})
	}
}
