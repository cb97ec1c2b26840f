package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kimberlite/libkimberlite/internal/certs"
)

func init() {
	commands["certs"] = runCerts
	summaries["certs"] = "make a local CA, a node and a client certificate for TLS in development"
}

// hostList is the repeatable --host flag.
type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

func runCerts(args []string) int {
	fs := flag.NewFlagSet("kimberlite certs", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder `DIR` to write ca.crt, node.crt, node.key, client.crt and client.key to (required)")
	var hosts hostList
	fs.Var(&hosts, "host", "a `NAME` or IP the node certificate is valid for, besides 127.0.0.1, ::1 and localhost (repeatable)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: kimberlite certs --dir DIR [--host NAME]...")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Makes a new local CA and two certificates it signs: node.crt for `kimberlite server")
		fmt.Fprintln(w, "--tls-cert` (serving clients and peers), and client.crt for clients of a server started")
		fmt.Fprintln(w, "with --tls-client-ca ca.crt. The CA's private key is not kept: for development only.")
		fmt.Fprintln(w)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "kimberlite certs: --dir DIR is required, and nothing else")
		return 2
	}
	if err := writeDevCerts(*dir, hosts); err != nil {
		fmt.Fprintf(os.Stderr, "kimberlite certs: %v\n", err)
		return 1
	}
	fmt.Printf("wrote %s/{ca.crt,node.crt,node.key,client.crt,client.key}\n", *dir)
	return 0
}

func writeDevCerts(dir string, hosts []string) error {
	// A distinct name per CA, so a verifier never mistakes one local CA for another.
	ca, err := certs.NewCA(fmt.Sprintf("kimberlite local CA %x", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	if _, err := ca.WriteFile(dir, "ca"); err != nil {
		return err
	}
	node, err := ca.Node(hosts...)
	if err != nil {
		return err
	}
	if _, _, err := node.WriteFiles(dir, "node"); err != nil {
		return err
	}
	client, err := ca.Client("kimberlite client")
	if err != nil {
		return err
	}
	_, _, err = client.WriteFiles(dir, "client")
	return err
}
