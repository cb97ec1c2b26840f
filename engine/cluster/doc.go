// Package cluster replicates the engine database across nodes with hashicorp/raft.
//
// A Node is a raft member that serves the same server.Backend as a single *engine.DB: writes
// (CreateStream, AppendEvents, Sync) are appended to the raft log and acknowledged only once a
// majority has stored them and this node has applied them to its database; reads on the leader
// are linearizable and reads on a follower see what it has applied so far. A follower, or a
// leader that lost its leadership, refuses writes with NotLeader and names the leader's client
// address, so a client can follow the hint.
//
// Layout of a node's data folder: the engine database as for a single node (not fsynced: the
// raft log is the durable record), and raft's own state under raft/: the log and the stable
// store (term, vote) in raft/log (see logStore, stableStore), snapshots in raft/snapshots.
package cluster
