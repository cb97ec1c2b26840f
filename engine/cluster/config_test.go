package cluster

import (
	"strings"
	"testing"
	"time"
)

func TestParsePeer(t *testing.T) {
	p, err := ParsePeer("n1=127.0.0.1:5432,127.0.0.1:6432")
	if err != nil {
		t.Fatal(err)
	}
	if p != (Peer{ID: "n1", ClientAddr: "127.0.0.1:5432", RaftAddr: "127.0.0.1:6432"}) {
		t.Fatalf("got %+v", p)
	}
	if p.String() != "n1=127.0.0.1:5432,127.0.0.1:6432" {
		t.Fatalf("String: %s", p.String())
	}
	if p, err := ParsePeer("2=[::1]:5432,[::1]:6432"); err != nil || p.RaftAddr != "[::1]:6432" {
		t.Fatalf("ipv6: %+v %v", p, err)
	}
	for _, bad := range []string{"", "n1", "=a:1,b:2", "n1=a:1", "n1=a:1;b:2", "n1=a,b:2", "n1=a:1,b", "n1=a:0,b:2", "n1=a:1,"} {
		if _, err := ParsePeer(bad); err == nil {
			t.Errorf("ParsePeer(%q) accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.NodeID = "1"
		c.DataDir = "/tmp/x"
		c.Peers = []Peer{{"1", "h:1", "h:2"}, {"2", "h:3", "h:4"}}
		return c
	}
	c := base()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Config){
		"NodeID is empty":              func(c *Config) { c.NodeID = "" },
		"DataDir is empty":             func(c *Config) { c.DataDir = "" },
		"Peers is empty":               func(c *Config) { c.Peers = nil },
		`NodeID "9" is not in Peers`:   func(c *Config) { c.NodeID = "9" },
		`peer id "1" is listed twice`:  func(c *Config) { c.Peers[1].ID = "1" },
		"address h:1 is used twice":    func(c *Config) { c.Peers[1].RaftAddr = "h:1" },
		"HeartbeatTimeout (1ms)":       func(c *Config) { c.HeartbeatTimeout = time.Millisecond },
		"ElectionTimeout (100ms) must": func(c *Config) { c.ElectionTimeout = 100 * time.Millisecond },
		"ApplyTimeout (-1s)":           func(c *Config) { c.ApplyTimeout = -time.Second },
		"SnapshotInterval (1ms)":       func(c *Config) { c.SnapshotInterval = time.Millisecond },
		"are all required":             func(c *Config) { c.Peers[0].ClientAddr = "" },
	}
	for want, mutate := range cases {
		c := base()
		mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

// A tunable left zero means its default, as in the server's Options: a literal names only what
// it changes, and DefaultConfig spells the same values out.
func TestZeroTunablesAreDefaults(t *testing.T) {
	c := Config{NodeID: "1", DataDir: "/tmp/x", Peers: []Peer{{"1", "h:1", "h:2"}}}
	if err := c.Validate(); err != nil {
		t.Fatalf("zero tunables: %v", err)
	}
	if got, want := c.withDefaults(), DefaultConfig(); got.HeartbeatTimeout != want.HeartbeatTimeout ||
		got.ElectionTimeout != want.ElectionTimeout || got.ApplyTimeout != want.ApplyTimeout ||
		got.SnapshotThreshold != want.SnapshotThreshold || got.TrailingLogs != want.TrailingLogs ||
		got.SnapshotInterval != want.SnapshotInterval {
		t.Fatalf("zero tunables became %+v, DefaultConfig is %+v", got, want)
	}
}
