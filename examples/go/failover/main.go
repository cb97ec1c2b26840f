// Command failover shows what the client core does for an application when the cluster leader
// dies: it appends from several goroutines through one client, kills the leader process with
// SIGKILL halfway through, keeps appending, then reads the stream back and checks that every
// acknowledged event is there exactly once.
//
// Usage: failover --dev-log FILE
//
// FILE is the output of a running `kimberlite dev` (it names each node's pid and address and the
// current leader). `make demo` runs this against a cluster it starts itself.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

type node struct {
	pid  int
	addr string
}

// readDevLog parses `kimberlite dev` lines: "node=ID pid=PID addr=HOST:PORT" and
// "leader=ID addr=HOST:PORT" (the last leader line wins).
func readDevLog(path string) (map[string]node, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	nodes := map[string]node{}
	leader := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kv := map[string]string{}
		for _, field := range strings.Fields(sc.Text()) {
			k, v, _ := strings.Cut(field, "=")
			kv[k] = v
		}
		switch {
		case kv["node"] != "" && kv["pid"] != "":
			pid, _ := strconv.Atoi(kv["pid"])
			nodes[kv["node"]] = node{pid: pid, addr: kv["addr"]}
		case kv["leader"] != "":
			leader = kv["leader"]
		}
	}
	return nodes, leader, sc.Err()
}

func main() {
	devLog := flag.String("dev-log", "", "output file of a running `kimberlite dev`")
	writers := flag.Int("writers", 8, "concurrent appending goroutines")
	perWriter := flag.Int("events", 200, "events each goroutine appends")
	flag.Parse()
	if err := run(*devLog, *writers, *perWriter); err != nil {
		fmt.Fprintln(os.Stderr, "failover demo:", err)
		os.Exit(1)
	}
}

func run(devLog string, writers, perWriter int) error {
	nodes, leaderID, err := readDevLog(devLog)
	if err != nil {
		return err
	}
	if leaderID == "" || len(nodes) == 0 {
		return fmt.Errorf("%s names no leader yet", devLog)
	}
	cfg := pool.DefaultConfig()
	for _, n := range nodes {
		cfg.Addresses = append(cfg.Addresses, n.addr)
	}
	cfg.TenantID = 1
	cfg.RequestTimeout = 20 * time.Second
	ctx := context.Background()
	client, err := pool.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	sid, err := client.CreateStream(ctx, "failover-demo", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		return err
	}
	fmt.Printf("client: connected to %d seeds, stream %d created on the leader (node %s)\n", len(nodes), sid, leaderID)

	var (
		mu    sync.Mutex
		acked = map[string]uint64{}
		wg    sync.WaitGroup
		half  = make(chan struct{})
		once  sync.Once
		count int
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				ev := fmt.Sprintf("writer-%d-event-%d", w, i)
				off, err := client.Append(ctx, sid, [][]byte{[]byte(ev)}, pool.AppendOptions{})
				if err != nil {
					fmt.Printf("client: append %s failed: %v\n", ev, err)
					continue
				}
				mu.Lock()
				acked[ev] = off
				count++
				if count == writers*perWriter/2 {
					once.Do(func() { close(half) })
				}
				mu.Unlock()
			}
		}(w)
	}
	<-half
	victim := nodes[leaderID]
	fmt.Printf("demo: kill -9 the leader, node %s (pid %d, %s), while %d writers append\n", leaderID, victim.pid, victim.addr, writers)
	killedAt := time.Now()
	if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill leader: %w", err)
	}
	wg.Wait()
	st := client.Stats()
	fmt.Printf("client: all writers done %.1fs after the kill; new leader %s (view %d); %d retries, %d redirects, %d leader changes\n",
		time.Since(killedAt).Seconds(), st.Leader, st.LeaderView, st.RetriesCount, st.RedirectsCount, st.LeaderChangesCount)

	seen := map[string]int{}
	it := client.ReadAll(ctx, sid, 0, 0)
	total := 0
	for it.Next() {
		e := it.Event()
		seen[string(e.Data)]++
		total++
		if off, ok := acked[string(e.Data)]; ok && off != e.Offset {
			return fmt.Errorf("event %q acknowledged at offset %d but found at %d", e.Data, off, e.Offset)
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	for ev := range acked {
		if seen[ev] != 1 {
			return fmt.Errorf("acknowledged event %q found %d times", ev, seen[ev])
		}
	}
	for ev, n := range seen {
		if n > 1 {
			return fmt.Errorf("event %q duplicated %d times", ev, n)
		}
	}
	fmt.Printf("check: %d events acknowledged, %d in the stream, every acknowledged one exactly once at its offset\n", len(acked), total)
	return nil
}
