package server

import (
	"context"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

// Backend is what the TCP server serves: a local database (*engine.DB) or a replicated node
// (*cluster.Node). Errors that should reach the client with a specific code are *engine.Error;
// any other error is reported as InternalError.
type Backend interface {
	// Submit queues a write. Writes are applied in submission order; the server submits each
	// connection's writes in arrival order. The Pending completes once the write is durable
	// (committed on a majority in a cluster), or with an *engine.Error such as NotLeader.
	Submit(op engine.Op) *engine.Pending
	// Read returns events with offset >= from, bounded by maxBytes as the protocol says, and the
	// next offset when at least one event was returned. A missing stream reads as empty.
	Read(ctx context.Context, tenant, streamID, from, maxBytes uint64) (events [][]byte, next *uint64, err error)
	// StreamLength returns the number of committed events, or StreamNotFound.
	StreamLength(ctx context.Context, tenant, streamID uint64) (uint64, error)
	// Sync makes everything acknowledged so far durable (a cluster also checks it still leads).
	Sync(ctx context.Context) error
	// Mode is Standalone for a single node and Clustered for a raft member.
	Mode() wire.ClusterMode
	// TenantCount is the number of tenants that own at least one stream.
	TenantCount() uint32
}

// NoWaitBackend is a Backend that can answer reads without blocking: each method does what its
// namesake does, except that when the answer depends on a write that is not durable yet it
// returns a non-nil wait, and the answer may be sent only once wait returns nil (an error from
// wait is the answer instead). The server then answers most reads from the connection's reader
// with one write. *engine.DB implements it; a wrapper that embeds it and changes Read,
// StreamLength or Sync must change their NoWait forms alike.
type NoWaitBackend interface {
	ReadNoWait(ctx context.Context, tenant, streamID, from, maxBytes uint64) (events [][]byte, next *uint64, wait func() error, err error)
	StreamLengthNoWait(ctx context.Context, tenant, streamID uint64) (length uint64, wait func() error, err error)
	SyncNoWait(ctx context.Context) (wait func() error, err error)
}

var _ NoWaitBackend = (*engine.DB)(nil)
