package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/kimberlite/libkimberlite/engine/cluster"
	"github.com/kimberlite/libkimberlite/engine/server"
)

func init() { clusterMode = &clusterFlags{cfg: cluster.DefaultConfig()} }

// clusterFlags are `kimberlite server`'s cluster flags. Cluster mode is on when --node-id is
// given; every node gets the same --peer list, naming all nodes including itself.
// The tunables are bound to the fields of a cluster.Config that starts as DefaultConfig, and
// only its Validate checks them (the convention of the server's flags, see options.go).
type clusterFlags struct {
	nodeID string
	peers  peerFlag
	cfg    cluster.Config
}

// peerFlag collects repeated --peer ID=CLIENT_HOST:PORT,RAFT_HOST:PORT values.
type peerFlag []cluster.Peer

func (p *peerFlag) String() string {
	parts := make([]string, len(*p))
	for i, peer := range *p {
		parts[i] = peer.String()
	}
	return strings.Join(parts, " ")
}

func (p *peerFlag) Set(s string) error {
	peer, err := cluster.ParsePeer(s)
	if err != nil {
		return err
	}
	*p = append(*p, peer)
	return nil
}

// RegisterFlags adds --node-id, --peer, --election-timeout and --heartbeat-timeout.
func (c *clusterFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.nodeID, "node-id", "",
		"cluster mode: this node's `ID`, one of the --peer ids (without it the server is a single standalone node)")
	fs.Var(&c.peers, "peer",
		"cluster mode: a member as `ID=CLIENT_HOST:PORT,RAFT_HOST:PORT`; repeat it for every node, this one included.\n"+
			"This node's CLIENT address must equal --listen; it listens for raft on its RAFT address.\n"+
			"Example: --node-id 1 --peer 1=127.0.0.1:5432,127.0.0.1:6432 --peer 2=127.0.0.1:5433,127.0.0.1:6433 --peer 3=127.0.0.1:5434,127.0.0.1:6434")
	fs.Var((*durationValue)(&c.cfg.ElectionTimeout), "election-timeout",
		"cluster mode: how long (`DUR`) a candidate waits for votes (>= --heartbeat-timeout)")
	fs.Var((*durationValue)(&c.cfg.HeartbeatTimeout), "heartbeat-timeout",
		"cluster mode: how long (`DUR`) a follower waits without hearing from the leader before it starts an election (>= 5ms)")
}

// Enabled is true when any cluster flag that names nodes is given, so a --peer list without
// --node-id is reported as an error rather than silently ignored.
func (c *clusterFlags) Enabled() bool { return c.nodeID != "" || len(c.peers) > 0 }

// Open checks the flags against --listen and starts the raft node over the database in dataDir.
func (c *clusterFlags) Open(listenAddr, dataDir string, log *slog.Logger) (server.Backend, io.Closer, error) {
	if c.nodeID == "" {
		return nil, nil, fmt.Errorf("--peer needs --node-id: name this node")
	}
	cfg := c.cfg
	cfg.NodeID = c.nodeID
	cfg.Peers = c.peers
	cfg.DataDir = dataDir
	cfg.Logger = log
	if nodeTLS != nil && nodeTLS.HasPeerCA() {
		cfg.PeerTLS = nodeTLS
	}
	if err := cfg.Validate(); err != nil {
		// Validate names fields; say which flag sets them.
		msg := strings.NewReplacer("HeartbeatTimeout", "--heartbeat-timeout", "ElectionTimeout", "--election-timeout").Replace(err.Error())
		return nil, nil, fmt.Errorf("cluster flags: %s", msg)
	}
	if self := cfg.Self(); !sameAddr(self.ClientAddr, listenAddr) {
		return nil, nil, fmt.Errorf("cluster flags: --peer %s gives this node's client address as %s, but --listen is %s",
			self.String(), self.ClientAddr, listenAddr)
	}
	node, err := cluster.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	log.Info("cluster node started", "node", cfg.NodeID, "raft", cfg.Self().RaftAddr, "peers", len(cfg.Peers))
	return node, node, nil
}

// sameAddr reports whether the client address in the peer list is where --listen serves:
// the same HOST:PORT, "localhost" matching 127.0.0.1, or any host on the same port when
// --listen binds every interface (":PORT", "0.0.0.0:PORT", "[::]:PORT").
func sameAddr(peerAddr, listenAddr string) bool {
	if peerAddr == listenAddr {
		return true
	}
	hp, pp, err1 := net.SplitHostPort(peerAddr)
	hl, pl, err2 := net.SplitHostPort(listenAddr)
	if err1 != nil || err2 != nil || pp != pl {
		return false
	}
	switch hl {
	case "", "0.0.0.0", "::":
		return true
	}
	norm := func(h string) string {
		if h == "localhost" {
			return "127.0.0.1"
		}
		return h
	}
	return norm(hp) == norm(hl)
}
