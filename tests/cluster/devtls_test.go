package cluster_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

var caLine = regexp.MustCompile(`^tls ca=(\S+)$`)

// TestDevTLS: `kimberlite dev --tls` prints its CA and client snippets, elects a leader over
// raft TLS, and a client trusting only that CA appends through it.
func TestDevTLS(t *testing.T) {
	port := freePortRange(t, 3)
	d := startDev(t, "--nodes", "3", "--port", strconv.Itoa(port), "--data", t.TempDir(), "--tls")
	m := caLine.FindStringSubmatch(d.next(20 * time.Second))
	if m == nil {
		t.Fatal("the first line does not give the CA path")
	}
	caPath := m[1]
	var snippets []string
	for {
		l := d.next(20 * time.Second)
		if leaderLine.MatchString(l) {
			break
		}
		snippets = append(snippets, l)
	}
	text := strings.Join(snippets, "\n")
	for _, want := range []string{"TLSCAFile", "kimberlite.TLS(ca_file=", "tls: { ca: fs.readFileSync(", "kmb_config_set_tls_ca_file(cfg"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the snippets:\n%s", want, text)
		}
	}
	cfg := pool.DefaultConfig()
	for i := 0; i < 3; i++ {
		cfg.Addresses = append(cfg.Addresses, "127.0.0.1:"+strconv.Itoa(port+i))
	}
	cfg.TLSEnabled, cfg.TLSCAFile = true, caPath
	c, err := pool.Connect(pooltest.Ctx(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := pooltest.Ctx(t, 30*time.Second)
	id, err := c.CreateStream(ctx, "dev-tls", wire.DataClassPII, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("over TLS")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(context.Background())
	d.terminate()
}
