package pool

import "time"

// maintain runs in the background for the client's life: every tick it reaps idle and expired
// connections, keeps MinIdleConnsPerNode open to the nodes in use, and health-checks each node
// every HealthCheckPeriod with GetServerInfo, which writes nothing on the server (Sync against
// a server that does not report its role). The check confirms the leader, learns a new one from
// a follower's hint, notices a deposed leader (it no longer reports leading) and breaks the
// connections of a node that stopped answering, so calls waiting on it fail over at once.
func (c *Client) maintain() {
	tick := time.Second
	if p := c.cfg.HealthCheckPeriod; p > 0 && p < tick {
		tick = p
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.shutdown:
			return
		case <-c.life.Done():
			return
		case <-t.C:
		}
		if c.closing.Load() {
			continue // let in-flight calls finish; stop opening connections
		}
		leader, _ := c.cluster.currentLeader()
		for _, n := range c.cluster.all() {
			keep := 0
			if n == leader || (c.cfg.ReadFrom == ReadAnyHealthy && n.healthy.Load()) {
				keep = c.cfg.MinIdleConnsPerNode
			}
			n.reap(keep)
			c.healthCheck(n)
		}
		if leader == nil {
			c.cluster.startDiscovery()
		}
	}
}

// healthCheck starts a background probe of n if one is due and none is running.
func (c *Client) healthCheck(n *node) {
	p := c.cfg.HealthCheckPeriod
	if p <= 0 || time.Since(time.Unix(0, n.lastPing.Load())) < p || !n.pinging.CompareAndSwap(false, true) {
		return
	}
	if !c.spawn(func() {
		defer n.pinging.Store(false)
		c.probe(n)
	}) {
		n.pinging.Store(false)
	}
}
