package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
)

// failoverPool measures what an application sees: a pool.Client appends once before each
// kill, then the leader is killed and one Append is timed from the kill to its success. It
// adds to the cluster's own failover the time the client takes to notice (a broken
// connection, its health check, a follower's leader hint) and its retry backoff.
func failoverPool(cl *procs, kills int) ([]time.Duration, error) {
	var addrs []string
	for _, p := range cl.nodes {
		addrs = append(addrs, p.addr)
	}
	cfg := pool.DefaultConfig()
	cfg.Addresses = addrs
	cfg.TenantID = 11
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pool.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	sid, err := c.CreateStream(ctx, "failover-pool", pool.DataClassPublic, pool.PlacementGlobal)
	if err != nil {
		return nil, err
	}
	var times []time.Duration
	for k := 0; k < kills; k++ {
		leader, err := cl.waitLeader(20 * time.Second)
		if err != nil {
			return nil, err
		}
		actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.Append(actx, sid, [][]byte{[]byte(fmt.Sprintf("before-kill-%d", k))}, pool.AppendOptions{})
		acancel()
		if err != nil {
			return nil, fmt.Errorf("append before kill %d: %w", k+1, err)
		}
		victim := cl.nodes[leader]
		start := time.Now()
		victim.kill()
		actx, acancel = context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.Append(actx, sid, [][]byte{[]byte(fmt.Sprintf("after-kill-%d", k))}, pool.AppendOptions{})
		acancel()
		if err != nil {
			return nil, fmt.Errorf("append after kill %d: %w", k+1, err)
		}
		took := time.Since(start)
		times = append(times, took)
		fmt.Printf("  kill %2d: node %s down, the client's append succeeded after %v\n", k+1, victim.id, took.Round(time.Millisecond))
		if err := victim.start(); err != nil {
			return nil, err
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	median, worst := times[len(times)/2], times[len(times)-1]
	fmt.Printf("through pool.Client: median %v, max %v, min %v\n", median.Round(time.Millisecond), worst.Round(time.Millisecond), times[0].Round(time.Millisecond))
	fmt.Printf("RATIO cluster/failover-client.median-ms %.0f # leader kill -9 -> a pool.Client's Append succeeds, median of %d\n", float64(median)/float64(time.Millisecond), len(times))
	fmt.Printf("RATIO cluster/failover-client.max-ms %.0f # the same, worst of %d\n", float64(worst)/float64(time.Millisecond), len(times))
	return times, nil
}
