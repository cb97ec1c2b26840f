package cluster_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/kimberlite/libkimberlite/internal/testserver"
)

// Every subcommand's --help (and `kimberlite help CMD`) goes to standard output and exits 0.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"server", "--help"}, {"dev", "--help"}, {"status", "--help"}, {"dev", "-h"}, {"help", "server"}, {"help"}} {
		cmd := exec.Command(testserver.Binary(t), args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Errorf("kimberlite %s: %v", strings.Join(args, " "), err)
		}
		if !strings.Contains(out.String(), "usage: kimberlite") || errOut.Len() != 0 {
			t.Errorf("kimberlite %s: stdout %q, stderr %q", strings.Join(args, " "), out.String(), errOut.String())
		}
	}
}
