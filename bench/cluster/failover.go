package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/kimberlite/libkimberlite/wire"
)

// failover kills the leader kills times and measures, each time, from the kill to the first
// append acknowledged by another node. Before each kill the killed node of the previous round
// is back and has caught up, so the cluster always starts with three healthy nodes.
func failover(cl *procs, kills int) ([]time.Duration, error) {
	const tenant = 9
	leader, err := cl.waitLeader(20 * time.Second)
	if err != nil {
		return nil, err
	}
	c, err := dial(cl.nodes[leader].addr)
	if err != nil {
		return nil, err
	}
	p, err := c.call(tenant, wire.CreateStreamRequest{Name: "failover", Placement: wire.PlacementGlobal}, 10*time.Second)
	c.close()
	if err != nil {
		return nil, err
	}
	sid := p.(wire.CreateStreamResponse).StreamID
	var length uint64
	var times []time.Duration
	for k := 0; k < kills; k++ {
		if leader, err = cl.waitLeader(20 * time.Second); err != nil {
			return nil, err
		}
		if err := waitCaughtUp(cl, tenant, sid, length); err != nil {
			return nil, err
		}
		victim := cl.nodes[leader]
		start := time.Now()
		victim.kill()
		winner, err := firstWrite(cl, victim, tenant, sid, length, 30*time.Second)
		if err != nil {
			return nil, fmt.Errorf("kill %d: %w", k+1, err)
		}
		took := time.Since(start)
		times = append(times, took)
		length++
		fmt.Printf("  kill %2d: node %s down, node %s took the write after %v\n", k+1, victim.id, winner, took.Round(time.Millisecond))
		if err := victim.start(); err != nil {
			return nil, err
		}
	}
	return times, nil
}

// firstWrite appends at offset length to every live node in turn until one acknowledges it.
func firstWrite(cl *procs, dead *proc, tenant, sid, length uint64, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	ev := [][]byte{[]byte(fmt.Sprintf("failover-%d", length))}
	for time.Now().Before(deadline) {
		for _, p := range cl.nodes {
			if p == dead {
				continue
			}
			c, err := dial(p.addr)
			if err != nil {
				continue
			}
			_, err = c.call(tenant, wire.AppendEventsRequest{StreamID: sid, Events: ev, ExpectedOffset: length}, 10*time.Second)
			c.close()
			if err == nil {
				return p.id, nil
			}
			var se *serverError
			if errors.As(err, &se) && se.code == wire.ErrOffsetMismatch {
				return "", fmt.Errorf("node %s: %v (an earlier attempt committed after all?)", p.id, err)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return "", fmt.Errorf("no node took a write within %v", timeout)
}

// waitCaughtUp waits until every node has applied the stream up to length.
func waitCaughtUp(cl *procs, tenant, sid, length uint64) error {
	for _, p := range cl.nodes {
		if err := waitCaughtUpAt(p.addr, tenant, sid, length); err != nil {
			return fmt.Errorf("node %s: %w", p.id, err)
		}
	}
	return nil
}

// waitCaughtUpAt waits until the node at addr has applied the stream up to length.
func waitCaughtUpAt(addr string, tenant, sid, length uint64) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := dial(addr)
		if err == nil {
			var r wire.ResponsePayload
			r, err = c.call(tenant, wire.StreamInfoRequest{StreamID: sid}, 2*time.Second)
			c.close()
			if err == nil && r.(wire.StreamInfoResponse).Length == length {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not catch up: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
