package pool

import (
	"strconv"
	"strings"

	"github.com/kimberlite/libkimberlite/wire"
)

// nodeRole is what a server says about itself in its ServerInfo capabilities: informational
// "role:leader", "term:7" and "leader:HOST:PORT" entries. A server without them (Kimberlite 0.8)
// gives known == false, and the health check asks it with Sync instead.
type nodeRole struct {
	known  bool
	leads  bool
	term   uint64
	leader string // the leader's client address, "" when not known
}

// parseRole reads the informational entries of a ServerInfo capabilities list.
func parseRole(caps []string) nodeRole {
	var r nodeRole
	for _, c := range caps {
		key, value, ok := strings.Cut(c, ":")
		if !ok {
			continue
		}
		switch key {
		case "role":
			r.known = true
			r.leads = value == "leader"
		case "term":
			if t, err := strconv.ParseUint(value, 10, 64); err == nil {
				r.term = t
			}
		case "leader":
			r.leader = value
		}
	}
	return r
}

// learnRole applies what n said about its role: a leader that just confirmed its leadership in
// term T leads (unless a newer term is already known); a follower's answer is a NotLeader hint.
func (r *cluster) learnRole(n *node, role nodeRole) {
	r.sawTerm(role.term)
	if !role.leads {
		r.notLeader(n, role.term, role.leader)
		return
	}
	if role.term == 0 { // a standalone server
		r.confirmed(n)
		return
	}
	r.mu.Lock()
	if role.term < r.view {
		r.mu.Unlock()
		return // it led in an older term; a newer leader is known
	}
	old := r.leader
	r.leader = n
	r.view = role.term
	r.mu.Unlock()
	r.changed(old, n)
}

// serverInfoRole returns the role n reported in a ServerInfo answer, if it reported one.
func serverInfoRole(p wire.ResponsePayload) (nodeRole, bool) {
	si, ok := p.(wire.ServerInfoResponse)
	if !ok {
		return nodeRole{}, false
	}
	role := parseRole(si.Capabilities)
	return role, role.known
}
