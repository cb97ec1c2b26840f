package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// idle measures what idle clients cost the leader's disk: the bytes it writes per second
// (/proc/PID/io write_bytes) with no clients, with 100 and 1,000 idle pool.Clients (each health
// checks every node every 2 s), and, for comparison, with 100 clients that probe with Sync
// every 2 s (what the health check sent before it asked GetServerInfo).
func idle(cl *procs, window time.Duration) error {
	leader, err := cl.waitLeader(20 * time.Second)
	if err != nil {
		return err
	}
	pid := cl.nodes[leader].cmd.Process.Pid
	var addrs []string
	for _, p := range cl.nodes {
		addrs = append(addrs, p.addr)
	}
	fmt.Printf("\nidle clients: leader's disk writes (write_bytes of /proc/%d/io) over %v\n", pid, window)
	fmt.Printf("%-44s %12s\n", "clients", "bytes/s")
	measure := func(name string) (float64, error) {
		time.Sleep(window / 4) // let connections settle and the first checks pass
		b0, err := writeBytes(pid)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		time.Sleep(window)
		b1, err := writeBytes(pid)
		if err != nil {
			return 0, err
		}
		rate := float64(b1-b0) / time.Since(t0).Seconds()
		tm, _ := term(cl.nodes[leader].addr)
		fmt.Printf("%-44s %12.0f  (term %d)\n", name, rate, tm)
		return rate, nil
	}
	none, err := measure("none")
	if err != nil {
		return err
	}
	var results []float64
	for _, n := range []int{100, 1000} {
		clients, err := idleClients(addrs, n)
		if err != nil {
			return err
		}
		r, err := measure(fmt.Sprintf("%d idle pool.Clients (GetServerInfo checks)", n))
		closeClients(clients)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	stop := syncProbers(cl.nodes[leader].addr, 100, 2*time.Second)
	syncRate, err := measure("100 clients probing with Sync every 2s")
	stop()
	if err != nil {
		return err
	}
	fmt.Printf("RATIO cluster/idle.100clients.disk-bytes-per-s-over-none %.0f <=0 # leader write_bytes/s with 100 idle pool.Clients minus with none (%.0f vs %.0f)\n", results[0]-none, results[0], none)
	fmt.Printf("RATIO cluster/idle.1000clients.disk-bytes-per-s-over-none %.0f <=0 # leader write_bytes/s with 1,000 idle pool.Clients minus with none (%.0f vs %.0f)\n", results[1]-none, results[1], none)
	fmt.Printf("RATIO cluster/idle.100sync-probers.disk-bytes-per-s-over-none %.0f # the same for 100 connections sending Sync every 2s, the health check before (%.0f vs %.0f)\n", syncRate-none, syncRate, none)
	return nil
}

// writeBytes reads write_bytes, the bytes a process caused to be written to storage.
func writeBytes(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io has no write_bytes", pid)
}

// idleClients connects n pool.Clients with one connection per node and the default health
// checks, and leaves them idle.
func idleClients(addrs []string, n int) ([]*pool.Client, error) {
	clients := make([]*pool.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cfg := pool.DefaultConfig()
			cfg.Addresses = addrs
			cfg.TenantID = 77
			cfg.MaxConnsPerNode = 1
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			clients[i], errs[i] = pool.Connect(ctx, cfg)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			closeClients(clients)
			return nil, err
		}
	}
	return clients, nil
}

func closeClients(cs []*pool.Client) {
	var wg sync.WaitGroup
	for _, c := range cs {
		if c != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = c.Close(ctx)
			}()
		}
	}
	wg.Wait()
}

// syncProbers runs n connections that each send Sync every period, as the old health check did.
func syncProbers(addr string, n int, period time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(addr)
			if err != nil {
				return
			}
			defer c.close()
			// Spread the probes over the period, as independent clients would be.
			t := time.NewTimer(period * time.Duration(i) / time.Duration(n))
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
				}
				_, _ = c.call(77, wire.SyncRequest{}, 5*time.Second)
				t.Reset(period)
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}
