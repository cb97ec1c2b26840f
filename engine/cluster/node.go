package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// Node is one member of a replicated cluster. It implements server.Backend. All methods are
// safe for concurrent use.
type Node struct {
	cfg        Config
	log        *slog.Logger
	db         store
	fsm        *fsm
	raft       *raft.Raft
	transport  *raft.NetworkTransport
	logStore   *logStore
	stable     *stableStore
	clientAddr map[raft.ServerID]string
	raftAddrs  peerAddrs

	// readyTerm is the term in which this node, as leader, committed a barrier: from then on
	// its commit index covers every entry committed by earlier leaders, so it can serve
	// linearizable reads with the read-index check.
	readyTerm atomic.Uint64

	// failed receives the storage failure that stopped this node (at most one).
	failed chan error

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the engine database in cfg.DataDir and joins the cluster described
// by cfg. On the first start of a node the cluster is bootstrapped from cfg.Peers; on later
// starts the node rejoins with its data and catches up from the leader.
func Open(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	db, err := engine.OpenReplica(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	n, err := open(cfg, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return n, nil
}

func open(cfg Config, db store) (*Node, error) {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.NodeID)
	hl := newHCLogger(log)

	n := &Node{cfg: cfg, log: log, db: db, clientAddr: map[raft.ServerID]string{}, raftAddrs: peerAddrs{}, failed: make(chan error, 1)}
	servers := make([]raft.Server, 0, len(cfg.Peers))
	for _, p := range cfg.Peers {
		n.clientAddr[raft.ServerID(p.ID)] = p.ClientAddr
		n.raftAddrs[raft.ServerID(p.ID)] = raft.ServerAddress(p.RaftAddr)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr)})
	}

	raftDir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o755); err != nil {
		return nil, err
	}
	var err error
	started := make(chan struct{}) // closed once n.raft is set (or open failed)
	defer close(started)
	// A storage failure (applying committed entries, or writing the raft log): stop taking
	// part, so the node cannot diverge from the others, and tell the process (Failed) so that
	// it can exit instead of serving stale reads.
	stop := func(failure error) {
		<-started
		if n.raft != nil {
			_ = n.raft.Shutdown()
		}
		select {
		case n.failed <- failure:
		default:
		}
	}
	n.fsm, err = newFSM(db, log, stop)
	if err != nil {
		return nil, fmt.Errorf("reading the applied index: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hl)
	if err != nil {
		return nil, err
	}
	if err := n.restoreIfBehind(snaps); err != nil {
		return nil, err
	}

	n.logStore, n.stable, err = openRaftState(raftDir, cfg.segmentBytes, log, stop)
	if err != nil {
		return nil, fmt.Errorf("opening the raft log: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			n.closeRaftParts()
		}
	}()
	logs, err := raft.NewLogCache(1024, n.logStore)
	if err != nil {
		return nil, err
	}

	self := cfg.Self()
	advertise, err := net.ResolveTCPAddr("tcp", self.RaftAddr)
	if err != nil {
		return nil, fmt.Errorf("raft address %s: %w", self.RaftAddr, err)
	}
	n.transport, err = newTransport(cfg, advertise, hl, n.raftAddrs)
	if err != nil {
		return nil, fmt.Errorf("listening for raft on %s: %w", self.RaftAddr, err)
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hl
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.HeartbeatTimeout
	rc.CommitTimeout = 10 * time.Millisecond
	// Entries per replication message and per FSM batch. An append may be up to 16 MiB, so
	// this also bounds a catch-up message: 64 entries (raft's default) keep it at 1 GiB at worst.
	rc.MaxAppendEntries = 64
	rc.BatchApplyCh = true
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.SnapshotInterval = cfg.SnapshotInterval
	// The database is durable on its own: replaying the log after the last applied index is
	// enough, restoring the whole snapshot on every start would only cost time.
	rc.NoSnapshotRestoreOnStart = true
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, err
	}

	has, err := raft.HasExistingState(logs, n.stable, snaps)
	if err != nil {
		return nil, err
	}
	if !has {
		err := raft.BootstrapCluster(rc, logs, n.stable, snaps, n.transport, raft.Configuration{Servers: servers})
		if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("bootstrapping the cluster: %w", err)
		}
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, logs, n.stable, snaps, n.transport)
	if err != nil {
		return nil, err
	}
	ok = true
	n.warnIfMembershipDiffers()
	return n, nil
}

// warnIfMembershipDiffers logs when the stored membership names other nodes than the peer
// list: membership is fixed when the cluster first forms, and this node keeps using it.
func (n *Node) warnIfMembershipDiffers() {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	stored := map[raft.ServerID]bool{}
	for _, s := range f.Configuration().Servers {
		stored[s.ID] = true
	}
	same := len(stored) == len(n.clientAddr)
	for id := range n.clientAddr {
		same = same && stored[id]
	}
	if !same {
		n.log.Warn("the peer list differs from the cluster membership stored in the raft log; the stored membership is used",
			"stored", len(stored), "peers", len(n.clientAddr))
	}
}

// peerAddrs resolves a peer's raft address from the peer list given at start, not from the
// membership stored in the raft log: a node restarted with a new raft port (as `kimberlite dev`
// may pick) is still reached.
type peerAddrs map[raft.ServerID]raft.ServerAddress

func (p peerAddrs) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	if a, ok := p[id]; ok {
		return a, nil
	}
	return "", fmt.Errorf("server id %q is not in the peer list", id)
}

// restoreIfBehind restores the newest snapshot when the database is older than it (the
// database was lost or replaced while raft's state was kept): the log before the snapshot
// may already be compacted away.
func (n *Node) restoreIfBehind(snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	applied := n.fsm.appliedIndex()
	if list[0].Index <= applied {
		return nil
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return err
	}
	n.log.Warn("database is behind the newest raft snapshot; restoring it", "applied", applied, "snapshot", list[0].Index)
	return n.fsm.Restore(rc)
}

func (n *Node) closeRaftParts() {
	if n.transport != nil {
		_ = n.transport.Close()
	}
	if n.logStore != nil {
		_ = n.logStore.Close()
	}
}

// Failed delivers the storage failure that made this node stop taking part in the cluster
// (applying committed entries failed, so its database can no longer follow the log). After it,
// writes answer NotLeader and reads would be stale: the process should stop and be restarted,
// which replays the log from the last snapshot.
func (n *Node) Failed() <-chan error { return n.failed }

// Close leaves the cluster (without changing its membership), then closes raft's state and
// the database. A leader first hands its leadership to the most up-to-date follower (waiting
// at most twice the election timeout), so a planned stop does not leave the cluster without
// a leader until an election timeout fires. Close waits for the entries being applied to
// finish. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		if n.raft.State() == raft.Leader && len(n.cfg.Peers) > 1 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.ElectionTimeout)
			if err := n.wait(ctx, n.raft.LeadershipTransfer()); err != nil {
				n.log.Info("leadership transfer before stopping did not complete", "err", err)
			}
			cancel()
		}
		err := n.raft.Shutdown().Error()
		n.closeRaftParts()
		n.closeErr = errors.Join(err, n.db.Close())
	})
	return n.closeErr
}

// Submit replicates a write. The Pending completes once the write is committed on a majority
// and applied here, with the database's result (which may be a refusal such as
// OffsetMismatch). It completes with NotLeader on a follower or when this node loses its
// leadership, and with RateLimited "no_quorum: commit timed out after {ms}ms" when no majority
// commits it within Config.ApplyTimeout. After a NotLeader from a lost leadership or a
// no_quorum error, the outcome is unknown: the write may still commit. A client re-sends an
// append with the same idempotency key (or, without one, reads the stream at its expected
// offset) rather than appending it again.
func (n *Node) Submit(op engine.Op) *engine.Pending {
	p := engine.NewPending()
	if n.raft.State() != raft.Leader {
		p.Complete(engine.Result{Err: n.notLeader()})
		return p
	}
	f := n.raft.Apply(engine.EncodeOp(op), n.cfg.ApplyTimeout)
	// One goroutine waits for raft and completes p itself (no hand-off to another waiter on
	// the answer's path); a timer completes it first when no majority commits in time.
	var completed atomic.Bool
	complete := func(r engine.Result) {
		if completed.CompareAndSwap(false, true) {
			p.Complete(r)
		}
	}
	timeout := time.AfterFunc(n.cfg.ApplyTimeout, func() { complete(engine.Result{Err: noQuorumError(n.cfg.ApplyTimeout)}) })
	go func() {
		err := f.Error()
		timeout.Stop()
		if err != nil {
			complete(engine.Result{Err: n.mapError(err)})
			return
		}
		res, ok := f.Response().(engine.Result)
		if !ok {
			res = engine.Result{Err: engine.Errorf(wire.ErrInternalError, "no result for log entry %d", f.Index())}
		}
		complete(res)
	}()
	return p
}

// wait waits for f within Config.ApplyTimeout and ctx, and maps raft's errors to the errors a
// client receives.
func (n *Node) wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	t := time.NewTimer(n.cfg.ApplyTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return n.mapError(err)
	case <-t.C:
		return noQuorumError(n.cfg.ApplyTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Node) mapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrAbortedByRestore),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return n.notLeader()
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return busyError()
	default:
		return engine.Errorf(wire.ErrInternalError, "replication: %v", err)
	}
}

// notLeader builds the NotLeader error: the current term and the leader's client address, or
// "unknown" while no other node is known to lead.
func (n *Node) notLeader() *engine.Error {
	_, hint := n.Leader()
	if hint == n.cfg.Self().ClientAddr {
		hint = "" // we were the leader a moment ago; the new one is not known yet
	}
	return &engine.Error{Code: wire.ErrNotLeader, Message: wire.FormatNotLeader(n.raft.CurrentTerm(), hint)}
}

// Leader returns the id and client address of the node this node believes leads, or empty
// strings when it knows none.
func (n *Node) Leader() (id, clientAddr string) {
	_, sid := n.raft.LeaderWithID()
	if sid == "" {
		return "", ""
	}
	return string(sid), n.clientAddr[sid]
}

// IsLeader reports whether this node is the leader right now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Term is the current raft term (the "view" of NotLeader messages).
func (n *Node) Term() uint64 { return n.raft.CurrentTerm() }

// Sync returns once every write acknowledged before it is committed and applied, and the
// database has synced. Only the leader answers; others return NotLeader.
func (n *Node) Sync(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return n.notLeader()
	}
	if err := n.wait(ctx, n.raft.Barrier(n.cfg.ApplyTimeout)); err != nil {
		return err
	}
	return n.db.Sync(ctx)
}

// readFence makes a leader read linearizable. Every write this leader acknowledged was applied
// here before its acknowledgement, and a barrier committed once per term makes the writes of
// earlier leaders applied too; confirming with a majority that this node still leads then
// rules out a newer leader that acknowledged writes this node lacks. A follower reads what it
// has applied, with no fence.
func (n *Node) readFence(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return nil
	}
	if term := n.raft.CurrentTerm(); n.readyTerm.Load() != term {
		if err := n.wait(ctx, n.raft.Barrier(n.cfg.ApplyTimeout)); err != nil {
			return err
		}
		n.readyTerm.Store(term)
	}
	return n.wait(ctx, n.raft.VerifyLeader())
}

// Read returns events as *engine.DB.Read does: linearizable on the leader, as applied on a
// follower. A leader that cannot confirm its leadership answers NotLeader.
func (n *Node) Read(ctx context.Context, tenant, streamID, from, maxBytes uint64) ([][]byte, *uint64, error) {
	if err := n.readFence(ctx); err != nil {
		return nil, nil, err
	}
	return n.db.Read(ctx, tenant, streamID, from, maxBytes)
}

// StreamLength returns a stream's length with the same consistency as Read.
func (n *Node) StreamLength(ctx context.Context, tenant, streamID uint64) (uint64, error) {
	if err := n.readFence(ctx); err != nil {
		return 0, err
	}
	return n.db.StreamLength(ctx, tenant, streamID)
}

// Mode is always Clustered.
func (n *Node) Mode() wire.ClusterMode { return wire.ClusterClustered }

// TenantCount is the number of tenants with at least one stream, as applied on this node.
func (n *Node) TenantCount() uint32 { return n.db.TenantCount() }
