package cluster

import (
	"context"
	"strings"

	"github.com/hashicorp/raft"
)

// Role reports this node's raft role, the current term and the leader's client address, for
// GetServerInfo. It writes nothing: a leader confirms that it still leads with one round of
// heartbeats to a majority (raft's VerifyLeader), and reports "follower" with no leader known
// when that fails. Term and leader are read until the term is stable around the leader, so the
// pair belongs together.
func (n *Node) Role(ctx context.Context) (role string, term uint64, leader string) {
	if n.raft.State() == raft.Leader {
		term = n.raft.CurrentTerm()
		if n.wait(ctx, n.raft.VerifyLeader()) == nil && n.raft.CurrentTerm() == term {
			return "leader", term, n.cfg.Self().ClientAddr
		}
	}
	for range 3 {
		term = n.raft.CurrentTerm()
		_, leader = n.Leader()
		if n.raft.CurrentTerm() == term {
			break
		}
	}
	if leader == n.cfg.Self().ClientAddr {
		leader = "" // it led a moment ago and does not any more
	}
	state := n.raft.State()
	if state == raft.Leader {
		state = raft.Follower // its leadership could not be confirmed
	}
	return strings.ToLower(state.String()), term, leader
}
