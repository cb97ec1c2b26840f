package cluster

import (
	"context"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// committedStore is what subscriptions need from the database; *engine.DB implements it.
type committedStore interface {
	ReadCommitted(ctx context.Context, tenant, streamID, from, maxBytes uint64, maxEvents int) ([][]byte, error)
	StreamChanged(streamID uint64) <-chan struct{}
}

var _ committedStore = (*engine.DB)(nil)

// ReadCommitted reads events as this node applied them. The FSM applies only entries raft has
// committed, so every node, follower or leader, serves committed events only, without asking
// the leader.
func (n *Node) ReadCommitted(ctx context.Context, tenant, streamID, from, maxBytes uint64, maxEvents int) ([][]byte, error) {
	cs, ok := n.db.(committedStore)
	if !ok {
		return nil, engine.Errorf(wire.ErrInvalidRequest, "subscriptions are not supported by this node's store")
	}
	return cs.ReadCommitted(ctx, tenant, streamID, from, maxBytes, maxEvents)
}

// StreamChanged is closed once this node applies a committed append to streamID (or restores a
// snapshot); see engine.DB.StreamChanged.
func (n *Node) StreamChanged(streamID uint64) <-chan struct{} {
	cs, ok := n.db.(committedStore)
	if !ok {
		return nil // never closed: a store without watchers gets no wake-ups
	}
	return cs.StreamChanged(streamID)
}
