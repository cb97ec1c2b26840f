package cluster_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"

	"github.com/kimberlite/libkimberlite/internal/testserver"
)

// Bad cluster flags stop `kimberlite server` with an error that names the problem.
func TestServerRefusesBadClusterFlags(t *testing.T) {
	listen := testserver.FreePort(t)
	raftAddr := testserver.FreePort(t)
	self := fmt.Sprintf("1=%s,%s", listen, raftAddr)
	cases := []struct {
		args []string
		say  string
	}{
		{[]string{"--node-id", "1", "--peer", "1=nonsense"}, "want ID=CLIENT_HOST:PORT,RAFT_HOST:PORT"},
		{[]string{"--peer", self}, "--peer needs --node-id"},
		{[]string{"--node-id", "2", "--peer", self}, "is not in Peers"},
		{[]string{"--node-id", "1", "--peer", self, "--peer", self}, "is listed twice"},
		{[]string{"--node-id", "1", "--peer", fmt.Sprintf("1=127.0.0.1:1,%s", raftAddr)}, "but --listen is " + listen},
		{[]string{"--node-id", "1", "--peer", self, "--heartbeat-timeout", "1ms"}, "--heartbeat-timeout (1ms) must be >= 5ms"},
		{[]string{"--node-id", "1", "--peer", self, "--election-timeout", "100ms", "--heartbeat-timeout", "200ms"},
			"--election-timeout (100ms) must be >= --heartbeat-timeout (200ms)"},
	}
	for _, tc := range cases {
		args := append([]string{"server", "--listen", listen, "--data", t.TempDir()}, tc.args...)
		cmd := exec.Command(testserver.Binary(t), args...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() == 0 || !bytes.Contains(out, []byte(tc.say)) {
			t.Errorf("server %v: exit %d, output %q; want a failure saying %q", tc.args, cmd.ProcessState.ExitCode(), out, tc.say)
		}
	}
}
