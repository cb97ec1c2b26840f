package main

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/kimberlite/libkimberlite/internal/certs"
)

// enableTLS makes a local CA and one certificate per node under DATA/tls (a fresh set on every
// start, so nothing stale is trusted), gives every node --tls-cert, --tls-key and --peer-ca, and
// returns the CA path and the configuration the leader probe dials with.
func (d *devCluster) enableTLS(data string) (string, *tls.Config, error) {
	dir := filepath.Join(data, "tls")
	ca, err := certs.NewCA(fmt.Sprintf("kimberlite dev CA %x", time.Now().UnixNano()))
	if err != nil {
		return "", nil, err
	}
	caPath, err := ca.WriteFile(dir, "ca")
	if err != nil {
		return "", nil, err
	}
	if caPath, err = filepath.Abs(caPath); err != nil {
		return "", nil, err
	}
	for _, n := range d.nodes {
		leaf, err := ca.Node()
		if err != nil {
			return "", nil, err
		}
		cert, key, err := leaf.WriteFiles(dir, "node-"+n.id)
		if err != nil {
			return "", nil, err
		}
		n.args = append(n.args, "--tls-cert", cert, "--tls-key", key)
		if len(d.nodes) > 1 {
			n.args = append(n.args, "--peer-ca", caPath)
		}
	}
	return caPath, &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}, nil
}

// tlsSnippets are ready-to-paste client connections to the dev cluster over TLS.
func tlsSnippets(caPath string, addrs []string) string {
	quoted := make([]string, len(addrs))
	for i, a := range addrs {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	list := strings.Join(quoted, ", ")
	var b strings.Builder
	fmt.Fprintf(&b, "tls ca=%s\n", caPath)
	fmt.Fprintf(&b, "# Go:\n#   cfg := pool.DefaultConfig(); cfg.Addresses = []string{%s}\n#   cfg.TLSEnabled, cfg.TLSCAFile = true, %q\n#   client, err := pool.Connect(ctx, cfg)\n", list, caPath)
	fmt.Fprintf(&b, "# Python:\n#   client = kimberlite.Client.connect([%s], tenant_id=1, tls=kimberlite.TLS(ca_file=%q))\n", list, caPath)
	fmt.Fprintf(&b, "# Node:\n#   const client = await Client.connect({ addresses: [%s], tenantId: 1n,\n#     tls: { ca: fs.readFileSync(%q) } });\n", strings.ReplaceAll(list, `"`, "'"), caPath)
	fmt.Fprintf(&b, "# C:\n#   kmb_config_set_tls(cfg, true);\n#   kmb_config_set_tls_ca_file(cfg, %q);\n", caPath)
	return b.String()
}
