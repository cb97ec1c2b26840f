package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kimberlite/libkimberlite/internal/testserver"
)

// TestTLSFlagsAreChecked: TLS flags that cannot work stop the server at once with a message
// naming them.
func TestTLSFlagsAreChecked(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command(testserver.Binary(t), "certs", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("kimberlite certs: %v\n%s", err, out)
	}
	crt, key := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--tls-cert", crt}, 2, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-client-ca", crt}, 2, "need --tls-cert and --tls-key"},
		{[]string{"--tls-cert", crt, "--tls-key", crt}, 1, "cannot set up TLS"},
		{[]string{"--tls-cert", crt, "--tls-key", key, "--tls-client-ca", filepath.Join(dir, "missing.crt")}, 1, "reading CA file"},
	} {
		cmd := exec.Command(testserver.Binary(t), append([]string{"server", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.msg) {
			t.Errorf("%v: exit %v, output %q; want exit %d and %q", tc.args, err, out, tc.code, tc.msg)
		}
	}
}
