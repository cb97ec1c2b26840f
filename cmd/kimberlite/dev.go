package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server/rawconn"
	"github.com/kimberlite/libkimberlite/wire"
)

func init() { commands["dev"] = runDev }

const devUsage = `usage: kimberlite dev [--nodes N] [--port P] [--data DIR] [--host HOST] [--restart] [--tls]

Starts a local cluster of N ` + "`kimberlite server`" + ` processes on client ports P..P+N-1 (raft ports are
picked free from P+1000 up) with data in DIR/node-ID, and stays in the foreground. It prints
"node=ID pid=PID addr=HOST:PORT metrics=HOST:PORT" for each node as it starts (metrics ports
are picked free from P+2000 up: see ` + "`kimberlite status`" + `), then "leader=ID addr=HOST:PORT" once a
leader is elected and whenever the leader changes. Ctrl-C or SIGTERM stops every node cleanly.
A node that dies (kill -9) is left down unless --restart is given. --nodes 1 runs one standalone
node. Server logs go to stderr.

flags:
`

// devNode is one child server process.
type devNode struct {
	id          string
	clientAddr  string
	metricsAddr string // --metrics-listen of the node
	args        []string
	cmd         *exec.Cmd
	done        chan struct{} // closed when cmd has exited
}

type devCluster struct {
	exe     string
	restart bool
	nodes   []*devNode

	outMu    sync.Mutex  // one line at a time on stdout
	probeTLS *tls.Config // with --tls: how the leader probe dials

	mu       sync.Mutex
	stopping bool
}

func runDev(args []string) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), devUsage)
		fs.PrintDefaults()
	}
	nodes := fs.Int("nodes", 3, "number of nodes `N` (1 runs a single standalone node)")
	port := fs.Int("port", 5432, "client `PORT` of the first node; node i listens on PORT+i-1")
	data := fs.String("data", "./data", "data folder `DIR`; node ID keeps its data in DIR/node-ID")
	host := fs.String("host", "127.0.0.1", "`HOST` every node listens on")
	restart := fs.Bool("restart", false, "restart a node that exits unexpectedly")
	logLevel := fs.String("log-level", "warn", "log `LEVEL` of the nodes: debug, info, warn or error")
	election := fs.Duration("election-timeout", 0, "election timeout `DUR` given to each node when non-zero (see kimberlite server --help)")
	heartbeat := fs.Duration("heartbeat-timeout", 0, "heartbeat timeout `DUR` given to each node when non-zero (see kimberlite server --help)")
	useTLS := fs.Bool("tls", false, "serve clients and raft over TLS: make a local CA and node certificates in DIR/tls,\nthen print the CA path and client snippets")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "kimberlite dev: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *nodes < 1 || *nodes > 99 {
		fmt.Fprintf(os.Stderr, "kimberlite dev: --nodes %d: want 1 to 99\n", *nodes)
		return 2
	}
	if *port < 1 || *port+*nodes-1 > 65535 {
		fmt.Fprintf(os.Stderr, "kimberlite dev: --port %d: the client ports must lie in 1..65535\n", *port)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "kimberlite dev: --log-level must be debug, info, warn or error, got %q\n", *logLevel)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kimberlite dev: %v\n", err)
		return 1
	}
	d := &devCluster{exe: exe, restart: *restart}
	if err := d.plan(*nodes, *port, *host, *data, *logLevel, *election, *heartbeat); err != nil {
		fmt.Fprintf(os.Stderr, "kimberlite dev: %v\n", err)
		return 1
	}
	if *useTLS {
		caPath, probe, err := d.enableTLS(*data)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kimberlite dev: making TLS certificates: %v\n", err)
			return 1
		}
		d.probeTLS = probe
		var addrs []string
		for _, n := range d.nodes {
			addrs = append(addrs, n.clientAddr)
		}
		d.printf("%s", strings.TrimSuffix(tlsSnippets(caPath, addrs), "\n"))
	}

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)

	allExited := make(chan struct{})
	var running sync.WaitGroup
	for _, n := range d.nodes {
		if err := d.launch(n); err != nil {
			fmt.Fprintf(os.Stderr, "kimberlite dev: starting node %s: %v\n", n.id, err)
			d.stopAll()
			return 1
		}
		running.Add(1)
		go d.supervise(n, &running)
	}
	go func() { running.Wait(); close(allExited) }()
	stopProbe := make(chan struct{})
	go d.watchLeader(stopProbe)

	select {
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "kimberlite dev: %v: stopping all nodes\n", s)
		close(stopProbe)
		d.stopAll()
		return 0
	case <-allExited:
		close(stopProbe)
		fmt.Fprintln(os.Stderr, "kimberlite dev: every node has exited")
		return 1
	}
}

// plan assigns ids, client and raft addresses and data folders, and checks the ports are free.
func (d *devCluster) plan(count, port int, host, data, logLevel string, election, heartbeat time.Duration) error {
	clientPorts := map[int]bool{}
	for i := 0; i < count; i++ {
		p := port + i
		clientPorts[p] = true
		if !portFree(host, p) {
			return fmt.Errorf("client port %s is in use", net.JoinHostPort(host, strconv.Itoa(p)))
		}
	}
	raftAddrs := make([]string, count)
	next := port + 1000
	for i := range raftAddrs {
		for ; ; next++ {
			if next > 65535 {
				return fmt.Errorf("no free raft port from %d up", port+1000)
			}
			if !clientPorts[next] && portFree(host, next) {
				break
			}
		}
		raftAddrs[i] = net.JoinHostPort(host, strconv.Itoa(next))
		next++
	}
	metricsAddrs, err := devMetricsAddrs(count, port, host, clientPorts, raftAddrs)
	if err != nil {
		return err
	}
	var peers []string
	for i := 0; i < count; i++ {
		client := net.JoinHostPort(host, strconv.Itoa(port+i))
		peers = append(peers, "--peer", fmt.Sprintf("%d=%s,%s", i+1, client, raftAddrs[i]))
	}
	for i := 0; i < count; i++ {
		id := strconv.Itoa(i + 1)
		n := &devNode{id: id, clientAddr: net.JoinHostPort(host, strconv.Itoa(port+i)), metricsAddr: metricsAddrs[i]}
		n.args = []string{"server", "--listen", n.clientAddr, "--data", filepath.Join(data, "node-"+id), "--log-level", logLevel,
			"--metrics-listen", n.metricsAddr}
		if count > 1 {
			n.args = append(n.args, "--node-id", id)
			n.args = append(n.args, peers...)
			if election > 0 {
				n.args = append(n.args, "--election-timeout", election.String())
			}
			if heartbeat > 0 {
				n.args = append(n.args, "--heartbeat-timeout", heartbeat.String())
			}
		}
		d.nodes = append(d.nodes, n)
	}
	return nil
}

func portFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func (d *devCluster) printf(format string, args ...any) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	// os.Stdout is unbuffered: each line reaches a pipe reader at once.
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func (d *devCluster) launch(n *devNode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return errors.New("stopping")
	}
	cmd := exec.Command(d.exe, n.args...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd = cmd
	n.done = make(chan struct{})
	d.printf("node=%s pid=%d addr=%s metrics=%s", n.id, cmd.Process.Pid, n.clientAddr, n.metricsAddr)
	return nil
}

// supervise waits for the node to exit and restarts it when asked to.
func (d *devCluster) supervise(n *devNode, running *sync.WaitGroup) {
	defer running.Done()
	for {
		d.mu.Lock()
		cmd, done := n.cmd, n.done
		d.mu.Unlock()
		err := cmd.Wait()
		close(done)
		d.mu.Lock()
		stopping := d.stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		fmt.Fprintf(os.Stderr, "kimberlite dev: node %s (pid %d) exited: %v\n", n.id, cmd.Process.Pid, err)
		if !d.restart {
			return
		}
		time.Sleep(500 * time.Millisecond) // let the port be released and avoid a tight crash loop
		if err := d.launch(n); err != nil {
			return
		}
	}
}

// stopAll sends SIGTERM to every running node and waits for it, killing a node that has not
// exited after 15 s.
func (d *devCluster) stopAll() {
	type proc struct {
		id   string
		cmd  *exec.Cmd
		done chan struct{}
	}
	d.mu.Lock()
	d.stopping = true
	var procs []proc
	for _, n := range d.nodes {
		if n.cmd != nil {
			procs = append(procs, proc{n.id, n.cmd, n.done})
		}
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func(p proc) {
			defer wg.Done()
			select {
			case <-p.done:
				return
			default:
			}
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				fmt.Fprintf(os.Stderr, "kimberlite dev: node %s did not stop; killing it\n", p.id)
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}(p)
	}
	wg.Wait()
}

// watchLeader probes the nodes until stop is closed and prints the leader whenever it changes.
// The leader is the node that answers Sync with success; followers answer NotLeader.
func (d *devCluster) watchLeader(stop <-chan struct{}) {
	last := ""
	for {
		for _, n := range d.nodes {
			if devProbeSync(n.clientAddr, time.Second, d.probeTLS) == nil {
				if n.id != last {
					d.printf("leader=%s addr=%s", n.id, n.clientAddr)
					last = n.id
				}
				break
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// devProbeSync sends a Sync request to addr and returns nil when it succeeds (the node leads).
func devProbeSync(addr string, timeout time.Duration, tlsCfg *tls.Config) error {
	resp, err := rawconn.RoundTripTLS(addr, timeout, tlsCfg, wire.SyncRequest{})
	if err != nil {
		return err
	}
	switch p := resp.(type) {
	case wire.SyncResponse:
		if p.Success {
			return nil
		}
		return errors.New("sync failed")
	case wire.ErrorResponse:
		return fmt.Errorf("%v: %s", p.Code, p.Message)
	default:
		return fmt.Errorf("unexpected response %T", p)
	}
}
