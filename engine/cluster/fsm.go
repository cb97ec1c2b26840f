package cluster

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// store is what a Node needs from the engine database; *engine.DB implements it.
type store interface {
	ApplyBatch(ops []engine.Op, index uint64) ([]engine.Result, error)
	AppliedIndex() (uint64, error)
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
	Read(ctx context.Context, tenant, streamID, from, maxBytes uint64) ([][]byte, *uint64, error)
	StreamLength(ctx context.Context, tenant, streamID uint64) (uint64, error)
	Sync(ctx context.Context) error
	TenantCount() uint32
	Close() error
}

// fsm applies committed raft entries to the database. It implements raft.BatchingFSM so that
// every batch raft hands over becomes one database transaction, which is not fsynced: the raft
// log is the durable record (see engine.OpenReplica).
type fsm struct {
	db  store
	log *slog.Logger

	mu      sync.Mutex
	applied uint64 // last raft index reflected in db
	failed  error  // a storage failure: the node must stop applying
	onFail  func(error)
}

func newFSM(db store, log *slog.Logger, onFail func(error)) (*fsm, error) {
	applied, err := db.AppliedIndex()
	if err != nil {
		return nil, err
	}
	return &fsm{db: db, log: log, applied: applied, onFail: onFail}, nil
}

// appliedIndex returns the last raft index reflected in the database.
func (f *fsm) appliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// Apply applies one entry; raft uses ApplyBatch instead, this satisfies raft.FSM.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies the command entries of one committed batch in a single transaction and
// records the batch's last index. Entries at or below the database's applied index are skipped:
// a restarted node replays its log into a database that already holds them, and applying an
// entry twice could turn a refused append into an accepted one. Each command entry's response
// is its engine.Result.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := make([]any, len(logs))
	if f.failed != nil {
		for i := range resp {
			resp[i] = engine.Result{Err: storageError(f.failed)}
		}
		return resp
	}
	ops := make([]engine.Op, 0, len(logs))
	slot := make([]int, 0, len(logs)) // index in logs of each op
	var last uint64
	for i, l := range logs {
		if l.Index <= f.applied {
			continue
		}
		last = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		op, err := engine.DecodeOp(l.Data)
		if err != nil {
			// Deterministic on every node: the entry is refused everywhere alike.
			resp[i] = engine.Result{Err: engine.Errorf(wire.ErrInternalError, "%v", err)}
			continue
		}
		ops = append(ops, op)
		slot = append(slot, i)
	}
	if last == 0 {
		return resp
	}
	if len(ops) == 0 {
		// Nothing for the database; the entries are re-delivered harmlessly after a restart.
		return resp
	}
	results, err := f.db.ApplyBatch(ops, last)
	if err == nil && len(results) != len(ops) {
		err = errResultCount
	}
	if err != nil {
		f.failed = err
		f.log.Error("applying committed entries failed; the node stops", "err", err)
		for i := range resp {
			resp[i] = engine.Result{Err: storageError(err)}
		}
		if f.onFail != nil {
			go f.onFail(err)
		}
		return resp
	}
	for k, r := range results {
		resp[slot[k]] = r
	}
	f.applied = last
	return resp
}

// Snapshot captures the database for raft. Persist runs concurrently with later applies, so
// the snapshot may hold entries past raft's snapshot index; it also carries the database's
// own applied index, and ApplyBatch skips what it already holds after a restore.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return &fsmSnapshot{db: f.db}, nil }

// Restore replaces the database with a snapshot received from the leader (or read locally).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.Restore(rc); err != nil {
		return err
	}
	applied, err := f.db.AppliedIndex()
	if err != nil {
		return err
	}
	f.applied = applied
	return nil
}

type fsmSnapshot struct{ db store }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	// The database does not fsync its commits (the log is the record); syncing it once per
	// snapshot bounds what a machine crash makes the node apply again.
	if err := s.db.Sync(context.Background()); err != nil {
		_ = sink.Cancel()
		return err
	}
	if err := s.db.Snapshot(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
