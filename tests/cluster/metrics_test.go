package cluster_test

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kimberlite/libkimberlite/internal/testserver"
)

var metricsLine = regexp.MustCompile(`kimberlite metrics listening on (\S+)`)

// metricsAddr waits for p to print its metrics address.
func metricsAddr(t *testing.T, p *testserver.Process) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := metricsLine.FindStringSubmatch(p.Output()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no metrics address in:\n%s", p.Output())
	return ""
}

func httpGet(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := httpGet(addr, "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics of %s: %d %v", addr, code, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics of %s does not parse: %v\n%s", addr, err, body)
	}
	return fams
}

// A 3-node cluster with --metrics-listen: /metrics parses with the Prometheus parser and holds
// the request, latency and raft metrics; /healthz and /readyz answer 200; `kimberlite status`
// names the leader. With two nodes killed, the third has no leader: /readyz says 503, and its
// raft errors about the dead peers stay within the rate limit.
func TestMetricsReadyzAndStatus(t *testing.T) {
	cl := testserver.StartCluster(t, 3, "--metrics-listen", "127.0.0.1:0", "--heartbeat-timeout", "100ms", "--election-timeout", "200ms")
	leader := cl.WaitLeader(20 * time.Second)
	maddrs := make([]string, 3)
	for i, p := range cl.Nodes {
		maddrs[i] = metricsAddr(t, p)
	}
	c := mustDial(t, cl.Nodes[leader].Addr)
	sid, err := c.createStream(1, "metrics")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := c.append(1, sid, uint64(i), fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.close()

	fams := scrape(t, maddrs[leader])
	for _, name := range []string{"kimberlite_requests_total", "kimberlite_request_duration_seconds", "kimberlite_append_duration_seconds",
		"kimberlite_commit_duration_seconds", "kimberlite_fsync_duration_seconds", "kimberlite_received_bytes_total",
		"kimberlite_sent_bytes_total", "kimberlite_connections", "kimberlite_raft_term", "kimberlite_raft_commit_index",
		"kimberlite_raft_applied_index", "kimberlite_node_info", "kimberlite_raft_state",
		"kimberlite_raft_peer_last_contact_seconds", "kimberlite_raft_peer_sent_entries_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing from the leader's /metrics", name)
		}
	}
	if h := fams["kimberlite_append_duration_seconds"]; h != nil && h.Metric[0].GetHistogram().GetSampleCount() != 5 {
		t.Errorf("append histogram counts %d, want 5", h.Metric[0].GetHistogram().GetSampleCount())
	}
	for i, a := range maddrs {
		if code, _, err := httpGet(a, "/healthz"); code != 200 {
			t.Errorf("node %d /healthz: %d %v", i, code, err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body, _ := httpGet(a, "/readyz")
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d /readyz: %d %s", i, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	out, err := exec.Command(testserver.Binary(t), append([]string{"status"}, maddrs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kimberlite status: %v\n%s", err, out)
	}
	leaderRow := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(maddrs[leader]) + `\s+` + fmt.Sprint(leader+1) + `\s+leader\s`)
	if !leaderRow.Match(out) {
		t.Fatalf("kimberlite status does not name node %d as leader:\n%s", leader+1, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d (%s)", leader+1, cl.Nodes[leader].Addr)) {
		t.Errorf("kimberlite status does not show the leader's address:\n%s", out)
	}

	// Leave one node alone: it can elect no leader.
	alone := (leader + 1) % 3
	before := len(strings.Split(cl.Nodes[alone].Output(), "\n"))
	killed := time.Now()
	for i := range cl.Nodes {
		if i != alone {
			cl.Kill(i)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := httpGet(maddrs[alone], "/readyz")
		if code == 503 && strings.Contains(body, "no leader") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz of a node without a leader: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Unlimited, raft logs about 20 errors a second per dead peer here (100ms heartbeats).
	lines := strings.Split(cl.Nodes[alone].Output(), "\n")[before:]
	elapsed := time.Since(killed)
	perKey := 3 + int(elapsed/(30*time.Second)) + 1
	if max := 2 * 6 * perKey; len(lines) > max { // 2 dead peers × a handful of messages each
		t.Errorf("%d log lines in %v after two peers died, over %d:\n%s", len(lines), elapsed, max, strings.Join(lines, "\n"))
	}
}
