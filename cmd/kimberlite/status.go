package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func init() {
	commands["status"] = runStatus
	summaries["status"] = "show each node's role, term, leader, commit index and lag"
}

const statusUsage = `usage: kimberlite status [--timeout DUR] METRICS_ADDR...

Asks each node's metrics endpoint (` + "`kimberlite server --metrics-listen`" + `; ` + "`kimberlite dev`" + ` prints them as
metrics=HOST:PORT) and prints one line per node: its id, role, term, the leader it knows, its
commit and applied index, its lag (entries behind the leader's commit index) and whether it is
ready (/readyz). A node that does not answer is shown as down. Exits 1 when no node answers.

flags:
`

// nodeStatus is one row of the table.
type nodeStatus struct {
	addr                         string
	id, role, leader, leaderAddr string
	term, commit, applied        uint64
	ready                        string
	err                          error
}

func runStatus(args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), statusUsage)
		fs.PrintDefaults()
	}
	timeout := fs.Duration("timeout", 2*time.Second, "how long (`DUR`) to wait for each node")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "kimberlite status: give at least one METRICS_ADDR (HOST:PORT)")
		return 2
	}
	client := &http.Client{Timeout: *timeout}
	rows := make([]nodeStatus, fs.NArg())
	var wg sync.WaitGroup
	for i, a := range fs.Args() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i] = fetchStatus(client, a)
		}()
	}
	wg.Wait()
	return printStatus(os.Stdout, rows)
}

func fetchStatus(c *http.Client, addr string) nodeStatus {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	st := nodeStatus{addr: addr}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		st.err = err
		return st
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		st.err = fmt.Errorf("/metrics: %s", resp.Status)
		return st
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		st.err = fmt.Errorf("/metrics: %v", err)
		return st
	}
	gauge := func(name string) uint64 {
		if f := fams[name]; f != nil && len(f.Metric) > 0 && f.Metric[0].Gauge != nil {
			return uint64(f.Metric[0].Gauge.GetValue())
		}
		return 0
	}
	if f := fams["kimberlite_node_info"]; f != nil && len(f.Metric) > 0 {
		for _, l := range f.Metric[0].Label {
			switch l.GetName() {
			case "id":
				st.id = l.GetValue()
			case "role":
				st.role = l.GetValue()
			case "leader_id":
				st.leader = l.GetValue()
			case "leader_addr":
				st.leaderAddr = l.GetValue()
			}
		}
	} else {
		st.err = errors.New("not a kimberlite metrics endpoint (no kimberlite_node_info)")
		return st
	}
	st.term, st.commit, st.applied = gauge("kimberlite_raft_term"), gauge("kimberlite_raft_commit_index"), gauge("kimberlite_raft_applied_index")
	st.ready = "no"
	if r, err := c.Get(base + "/readyz"); err == nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			st.ready = "yes"
		}
	}
	return st
}

// printStatus writes the table and returns the exit code.
func printStatus(w io.Writer, rows []nodeStatus) int {
	var leaderCommit uint64
	for _, r := range rows {
		if r.err == nil && r.role == "leader" && r.commit > leaderCommit {
			leaderCommit = r.commit
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tID\tROLE\tTERM\tLEADER\tCOMMIT\tAPPLIED\tLAG\tREADY")
	answered := 0
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t-\tdown\t-\t-\t-\t-\t-\tno (%v)\n", r.addr, r.err)
			continue
		}
		answered++
		leader := "none"
		if r.leader != "" {
			leader = r.leader + " (" + r.leaderAddr + ")"
		}
		if r.role == "standalone" {
			leader = "itself"
		}
		lag := "-"
		if leaderCommit > 0 {
			l := uint64(0)
			if leaderCommit > r.applied {
				l = leaderCommit - r.applied
			}
			lag = fmt.Sprint(l)
		}
		id := r.id
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", r.addr, id, r.role, r.term, leader, r.commit, r.applied, lag, r.ready)
	}
	_ = tw.Flush()
	if answered == 0 {
		return 1
	}
	return 0
}
