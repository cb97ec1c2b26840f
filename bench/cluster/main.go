// Command cluster benchmarks replication: append throughput of a 3-node cluster against a
// single node under the same workload in the same run, and leader failover time (kill -9 of
// the leader to the first committed write on a new leader) over repeated kills.
//
//	go run ./bench/cluster [-duration 4s] [-kills 10]
//
// It runs the `kimberlite` binary named by $KIMBERLITE_BIN, or builds ./cmd/kimberlite.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	duration := flag.Duration("duration", 4*time.Second, "how long each throughput workload runs")
	kills := flag.Int("kills", 10, "how many times the leader is killed")
	parts := flag.String("parts", "throughput,reads,idle,failover,failover-client", "which measurements to run, comma-separated")
	flag.StringVar(&nodeArgs, "node-args", "", "extra flags for every cluster node, space-separated (say \"--heartbeat-timeout 150ms\")")
	flag.Parse()
	for _, p := range strings.Split(*parts, ",") {
		want[p] = true
	}
	if err := run(*duration, *kills); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

// want holds the parts of -parts.
var want = map[string]bool{}

func run(duration time.Duration, kills int) error {
	tmp, err := os.MkdirTemp("", "kimberlite-bench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := binary(tmp)
	if err != nil {
		return err
	}

	single, err := startSingle(bin, filepath.Join(tmp, "single"))
	if err != nil {
		return err
	}
	defer single.stopAll()
	cl, err := startCluster(bin, filepath.Join(tmp, "cluster"), 3)
	if err != nil {
		return err
	}
	defer cl.stopAll()
	// Idle first, on a young log: a raft snapshot (after SnapshotThreshold entries, which the
	// throughput runs write) copies the whole database and would land in some window at random.
	if want["idle"] {
		if err := idle(cl, 6*time.Second); err != nil {
			return err
		}
	}
	if want["throughput"] {
		if err := throughput(single, cl, duration); err != nil {
			return err
		}
	}
	if want["reads"] {
		if err := reads(single, cl, duration/2); err != nil {
			return err
		}
	}
	single.stopAll()
	if want["failover-client"] {
		fmt.Printf("\nleader failover seen by an application over %d kills (kill -9 of the leader -> a pool.Client's Append succeeds)\n", kills)
		if _, err := failoverPool(cl, kills); err != nil {
			return err
		}
	}
	if !want["failover"] {
		return nil
	}

	fmt.Printf("\nleader failover over %d kills (kill -9 of the leader -> first committed write on a new leader)\n", kills)
	times, err := failover(cl, kills)
	if err != nil {
		return err
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	var all []string
	for _, d := range times {
		all = append(all, d.Round(time.Millisecond).String())
	}
	timeouts := "the nodes' default raft timeouts"
	if nodeArgs != "" {
		timeouts = nodeArgs
	}
	median, worst := times[len(times)/2], times[len(times)-1]
	fmt.Printf("median %v, max %v, min %v (%s)\n",
		median.Round(time.Millisecond), worst.Round(time.Millisecond), times[0].Round(time.Millisecond), timeouts)
	fmt.Printf("RATIO cluster/failover.median-ms %.0f <=400 # leader kill -9 -> first committed write, median of %d\n", float64(median)/float64(time.Millisecond), len(times))
	fmt.Printf("RATIO cluster/failover.max-ms %.0f <=700 # the same, worst of %d\n", float64(worst)/float64(time.Millisecond), len(times))
	fmt.Printf("all: %v\n", all)
	return nil
}

// throughput compares append throughput of a single node and of the cluster's leader.
func throughput(single, cl *procs, duration time.Duration) error {
	workloads := []workload{
		{conns: 1, batch: 1, size: 100},
		{conns: 16, batch: 1, size: 100},
		{conns: 16, batch: 100, size: 100},
	}
	fmt.Printf("append throughput, events of 100 bytes, %v per workload (single node vs 3-node cluster, same run)\n", duration)
	fmt.Printf("%-26s %14s %14s %8s\n", "workload", "single ev/s", "cluster ev/s", "ratio")
	leader, err := cl.waitLeader(20 * time.Second)
	if err != nil {
		return err
	}
	termBefore, err := term(cl.nodes[leader].addr)
	if err != nil {
		return err
	}
	for i, w := range workloads {
		leader, err := cl.waitLeader(20 * time.Second)
		if err != nil {
			return err
		}
		s, err := w.run(single.nodes[0].addr, uint64(100+i), duration)
		if err != nil {
			return fmt.Errorf("single node, %v: %w", w, err)
		}
		c, err := w.run(cl.nodes[leader].addr, uint64(100+i), duration)
		if err != nil {
			return fmt.Errorf("cluster, %v: %w", w, err)
		}
		fmt.Printf("%-26s %14.0f %14.0f %7.2fx\n", w.String(), s, c, c/s)
		fmt.Printf("RATIO cluster/append.%dconns.batch%d.vs-single %.3f >=0.7 # 3-node cluster / single node, events/s\n", w.conns, w.batch, c/s)
	}
	fmt.Println("(a cluster write waits for two raft log appends in turn, the leader's then a follower's, each one")
	fmt.Println(" fdatasync, and for two more process hand-offs; a single node waits for one fdatasync. All nodes share one disk and the cores.)")
	leader, err = cl.waitLeader(20 * time.Second)
	if err != nil {
		return err
	}
	termAfter, err := term(cl.nodes[leader].addr)
	if err != nil {
		return err
	}
	fmt.Printf("elections during the load: %d (term %d -> %d)\n", termAfter-termBefore, termBefore, termAfter)

	return nil
}

// binary returns $KIMBERLITE_BIN or a fresh build of ./cmd/kimberlite.
func binary(tmp string) (string, error) {
	if p := os.Getenv("KIMBERLITE_BIN"); p != "" {
		return p, nil
	}
	out := filepath.Join(tmp, "kimberlite")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/kimberlite")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building kimberlite: %w", err)
	}
	return out, nil
}

// reads compares ReadEvents throughput on a single node, on the leader (linearizable: each
// read first confirms leadership with a heartbeat round) and on a follower (what it applied).
func reads(single, cl *procs, d time.Duration) error {
	const tenant, conns = 50, 16
	leader, err := cl.waitLeader(20 * time.Second)
	if err != nil {
		return err
	}
	follower := (leader + 1) % len(cl.nodes)
	targets := []struct{ name, addr string }{
		{"single node", single.nodes[0].addr},
		{"cluster leader", cl.nodes[leader].addr},
		{"cluster follower", cl.nodes[follower].addr},
	}
	fmt.Printf("\nreads, 16 conns, 100 events of 100 bytes per read, %v each\n", d)
	var base float64
	for i, tg := range targets {
		writeTo := tg.addr
		if i == 2 {
			writeTo = cl.nodes[leader].addr
		}
		sid, err := prepareReadStream(writeTo, tenant+uint64(i))
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		if i == 2 {
			if err := waitCaughtUpAt(tg.addr, tenant+uint64(i), sid, 100); err != nil {
				return err
			}
		}
		r, err := readRate(tg.addr, tenant+uint64(i), sid, conns, d)
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		if i == 0 {
			base = r
		}
		fmt.Printf("%-26s %14.0f reads/s %7.2fx\n", tg.name, r, r/base)
	}
	return nil
}
