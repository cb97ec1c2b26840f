package server

import (
	"context"
	"strconv"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// RoleReporter is implemented by a backend that can say, without writing anything, which role
// it plays in its cluster. GetServerInfo carries the answer as informational capabilities
// ("role:leader", "term:7", "leader:127.0.0.1:7001"), which lets a client check health and find
// the leader without a Sync (a Sync in a cluster commits a log entry on every node).
type RoleReporter interface {
	// Role reports this node's role ("leader", "follower" or "candidate"), the current term
	// and the leader's client address ("" when no leader is known). A node that reports
	// "leader" has just confirmed with a majority that it still leads.
	Role(ctx context.Context) (role string, term uint64, leader string)
}

// Informational ServerInfo capabilities are "key:value" strings with these keys.
const (
	InfoRole   = "role"
	InfoTerm   = "term"
	InfoLeader = "leader"
)

// roleCapabilities returns the informational capabilities for the backend's role. A backend
// that cannot report one is a standalone database: it takes every write, so it leads.
func roleCapabilities(ctx context.Context, b Backend) []string {
	r, ok := b.(RoleReporter)
	if !ok {
		if b.Mode() == wire.ClusterStandalone {
			return []string{InfoRole + ":leader"}
		}
		return nil
	}
	role, term, leader := r.Role(ctx)
	out := []string{InfoRole + ":" + role, InfoTerm + ":" + strconv.FormatUint(term, 10)}
	if leader != "" {
		out = append(out, InfoLeader+":"+leader)
	}
	return out
}

// serverInfo answers GetServerInfo. A replicated backend confirms its leadership first (a
// heartbeat round, no log entry), so the answer runs in its own goroutine.
func (c *conn) serverInfo(s *slot) {
	_, caps := c.capabilities()
	b := c.s.backend
	info := func(ctx context.Context) wire.ResponsePayload {
		all := append(append([]string(nil), caps...), roleCapabilities(ctx, b)...)
		return wire.ServerInfoResponse{
			BuildVersion:    c.s.opts.Version,
			ProtocolVersion: wire.Version,
			Capabilities:    all,
			UptimeSecs:      uint64(time.Since(c.s.started) / time.Second),
			ClusterMode:     b.Mode(),
			TenantCount:     b.TenantCount(),
		}
	}
	if _, ok := b.(RoleReporter); !ok {
		s.resp = info(c.ctx)
		return
	}
	done := make(chan struct{})
	s.done = done
	go func() {
		defer close(done)
		s.resp = info(c.ctx)
	}()
}
