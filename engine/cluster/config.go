package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Defaults for Config, chosen for nodes on one machine or one LAN.
var (
	// DefaultHeartbeatTimeout is how long a follower waits without hearing from the leader
	// before it starts an election (raft adds up to as much again at random). With 150ms a
	// killed leader is replaced in about 270ms (median of bench/cluster, 350ms at worst; at
	// 200ms the median was 450ms on a loaded machine), and the leader's heartbeats, sent ten
	// times per timeout, leave room before a loaded machine's scheduling delays look like a
	// dead leader: bench/cluster counts the elections during its load and finds none.
	DefaultHeartbeatTimeout = 150 * time.Millisecond
	// DefaultElectionTimeout is how long a candidate waits for votes before a new election.
	DefaultElectionTimeout = 400 * time.Millisecond
	// DefaultApplyTimeout bounds how long a write waits to be committed before it fails with
	// RateLimited "no_quorum: ...".
	DefaultApplyTimeout = 5 * time.Second
	// DefaultSnapshotThreshold is how many new log entries trigger a snapshot.
	DefaultSnapshotThreshold uint64 = 8192
	// DefaultTrailingLogs is how many entries are kept after a snapshot, so a follower that is
	// a little behind catches up from the log rather than from a full snapshot.
	DefaultTrailingLogs uint64 = 4096
	// DefaultSnapshotInterval is how often raft checks whether to take a snapshot.
	DefaultSnapshotInterval = 30 * time.Second
)

// Peer is one member of the cluster.
type Peer struct {
	ID         string // raft server id, unique in the cluster
	ClientAddr string // HOST:PORT where the node serves the Kimberlite protocol
	RaftAddr   string // HOST:PORT where the node speaks raft to its peers
}

// ParsePeer parses the --peer syntax ID=CLIENT_HOST:PORT,RAFT_HOST:PORT.
func ParsePeer(s string) (Peer, error) {
	id, addrs, ok := strings.Cut(s, "=")
	if !ok || id == "" {
		return Peer{}, fmt.Errorf("peer %q: want ID=CLIENT_HOST:PORT,RAFT_HOST:PORT", s)
	}
	client, raftAddr, ok := strings.Cut(addrs, ",")
	if !ok {
		return Peer{}, fmt.Errorf("peer %q: want ID=CLIENT_HOST:PORT,RAFT_HOST:PORT", s)
	}
	p := Peer{ID: id, ClientAddr: client, RaftAddr: raftAddr}
	for _, a := range []string{client, raftAddr} {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" || port == "0" {
			return Peer{}, fmt.Errorf("peer %q: address %q is not HOST:PORT with a fixed port", s, a)
		}
	}
	return p, nil
}

// String renders the peer in the --peer syntax.
func (p Peer) String() string { return p.ID + "=" + p.ClientAddr + "," + p.RaftAddr }

// Config configures a Node, with the convention of the server's Options: DefaultConfig spells
// every default out, a tunable left zero also means its default, and Validate holds every bound
// and names the field.
type Config struct {
	// NodeID is this node's id; it must name one of Peers.
	NodeID string
	// Peers lists every member, this node included. A cluster forms from this list on its
	// first start; later starts use the membership stored in the raft log.
	Peers []Peer
	// DataDir holds the engine database, and raft's state under DataDir/raft.
	DataDir string
	// HeartbeatTimeout: a follower that hears nothing from the leader for this long (plus
	// jitter) starts an election. Zero means DefaultHeartbeatTimeout; must be >= 5ms.
	HeartbeatTimeout time.Duration
	// ElectionTimeout: a candidate's wait for votes. Zero means DefaultElectionTimeout; must be
	// >= HeartbeatTimeout.
	ElectionTimeout time.Duration
	// ApplyTimeout bounds the wait for a write to commit (and for a leader read to be
	// confirmed). Zero means DefaultApplyTimeout; must be > 0.
	ApplyTimeout time.Duration
	// SnapshotThreshold, TrailingLogs, SnapshotInterval control log compaction; see the
	// Default* values. Zero means the default.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration
	// Logger receives the node's and raft's messages. nil discards them.
	Logger *slog.Logger
	// PeerTLS, when set, carries raft traffic over mutual TLS: each node presents its
	// certificate and accepts only peers whose certificates chain to the peer CA. nil: plain TCP.
	PeerTLS PeerTLS

	// segmentBytes overrides the raft log's segment size (tests); 0 means the default.
	segmentBytes int64
}

// DefaultConfig returns a Config with every tunable set to its default.
func DefaultConfig() Config { return Config{}.withDefaults() }

// withDefaults fills the tunables left zero.
func (c Config) withDefaults() Config {
	fill := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	fill(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	fill(&c.ElectionTimeout, DefaultElectionTimeout)
	fill(&c.ApplyTimeout, DefaultApplyTimeout)
	fill(&c.SnapshotInterval, DefaultSnapshotInterval)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	return c
}

// Validate checks the fields and the relations between them (zero tunables count as their
// defaults), naming the field and the bound.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.NodeID == "" {
		return fmt.Errorf("NodeID is empty")
	}
	if c.DataDir == "" {
		return fmt.Errorf("DataDir is empty")
	}
	if len(c.Peers) == 0 {
		return fmt.Errorf("Peers is empty: list every node, this one included")
	}
	ids := map[string]bool{}
	addrs := map[string]string{}
	for _, p := range c.Peers {
		if p.ID == "" || p.ClientAddr == "" || p.RaftAddr == "" {
			return fmt.Errorf("peer %q: id, client address and raft address are all required", p.String())
		}
		if ids[p.ID] {
			return fmt.Errorf("peer id %q is listed twice", p.ID)
		}
		ids[p.ID] = true
		for _, a := range []string{p.ClientAddr, p.RaftAddr} {
			if other, dup := addrs[a]; dup {
				return fmt.Errorf("address %s is used twice (peers %q and %q)", a, other, p.ID)
			}
			addrs[a] = p.ID
		}
	}
	if !ids[c.NodeID] {
		return fmt.Errorf("NodeID %q is not in Peers", c.NodeID)
	}
	if c.HeartbeatTimeout < 5*time.Millisecond {
		return fmt.Errorf("HeartbeatTimeout (%s) must be >= 5ms", c.HeartbeatTimeout)
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		return fmt.Errorf("ElectionTimeout (%s) must be >= HeartbeatTimeout (%s)", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.ApplyTimeout <= 0 {
		return fmt.Errorf("ApplyTimeout (%s) must be > 0", c.ApplyTimeout)
	}
	if c.SnapshotInterval != 0 && c.SnapshotInterval < 5*time.Millisecond {
		return fmt.Errorf("SnapshotInterval (%s) must be >= 5ms", c.SnapshotInterval)
	}
	return nil
}

// Self returns this node's entry in Peers.
func (c *Config) Self() Peer {
	for _, p := range c.Peers {
		if p.ID == c.NodeID {
			return p
		}
	}
	return Peer{}
}
