package cluster

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kimberlite/libkimberlite/engine"
)

// Status is what a node knows of the cluster right now, for metrics, readiness and
// `kimberlite status`.
type Status struct {
	ID           string        // this node's id
	Role         string        // "leader", "follower", "candidate" or "shutdown"
	Term         uint64        // current raft term (the view of NotLeader answers)
	LeaderID     string        // "" when no leader is known
	LeaderAddr   string        // the leader's client address, "" when unknown
	LastLogIndex uint64        // last entry in this node's raft log
	CommitIndex  uint64        // last entry known committed
	AppliedIndex uint64        // last entry applied to the database
	LastContact  time.Duration // a follower's time since it last heard from the leader; 0 on the leader
	Peers        int           // members of the configuration, this one included
}

// Status returns the node's current view (no network traffic).
func (n *Node) Status() Status {
	st := n.raft.Stats()
	u := func(k string) uint64 { v, _ := strconv.ParseUint(st[k], 10, 64); return v }
	s := Status{
		ID: n.cfg.NodeID, Term: u("term"), LastLogIndex: u("last_log_index"),
		CommitIndex: u("commit_index"), AppliedIndex: u("applied_index"), Peers: len(n.cfg.Peers),
	}
	switch n.raft.State() {
	case raft.Leader:
		s.Role = "leader"
	case raft.Follower:
		s.Role = "follower"
	case raft.Candidate:
		s.Role = "candidate"
	default:
		s.Role = "shutdown"
	}
	s.LeaderID, s.LeaderAddr = n.Leader()
	if s.Role != "leader" {
		if lc := n.raft.LastContact(); !lc.IsZero() {
			s.LastContact = time.Since(lc)
		}
	}
	return s
}

// Ready says whether the node can serve: it knows a leader, has applied every entry it knows
// committed, and (a follower) heard from the leader within a few election timeouts. The error
// says why not.
func (n *Node) Ready() error {
	s := n.Status()
	switch {
	case s.LeaderID == "":
		return fmt.Errorf("no leader (role %s, term %d)", s.Role, s.Term)
	case s.AppliedIndex < s.CommitIndex:
		return fmt.Errorf("catching up: applied %d of %d committed entries", s.AppliedIndex, s.CommitIndex)
	case s.Role == "follower" && s.LastContact > 4*n.cfg.ElectionTimeout:
		return fmt.Errorf("no contact with leader %s for %v", s.LeaderID, s.LastContact.Round(time.Millisecond))
	}
	return nil
}

// ObserveCommits sets the database's CommitObserver (see engine.DB.ObserveCommits).
func (n *Node) ObserveCommits(f engine.CommitObserver) {
	if o, ok := n.db.(interface{ ObserveCommits(engine.CommitObserver) }); ok {
		o.ObserveCommits(f)
	}
}
