package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/engine/tlsfiles"
)

// tlsFlags are the server's TLS flags: the client port's certificate, the CA of client
// certificates (mutual TLS) and the CA of cluster peers (raft over mutual TLS).
type tlsFlags struct {
	cert, key, clientCA, peerCA *string
}

// nodeTLS is this process's TLS store once tlsFlags.wrap loaded it; the cluster backend takes
// its raft certificates from it. nil: no TLS.
var nodeTLS *tlsfiles.Store

func newTLSFlags(fs *flag.FlagSet) *tlsFlags {
	return &tlsFlags{
		cert: fs.String("tls-cert", "", "serve clients over TLS (1.2 or later) with the certificate chain in PEM `FILE`;\n"+
			"SIGHUP re-reads every TLS file without dropping connections"),
		key:      fs.String("tls-key", "", "the private key in PEM `FILE` of --tls-cert"),
		clientCA: fs.String("tls-client-ca", "", "require client certificates signed by a CA in PEM `FILE` (mutual TLS);\na client without one is refused during the TLS handshake"),
		peerCA: fs.String("peer-ca", "", "cluster mode: carry raft between nodes over mutual TLS, each node presenting --tls-cert\n"+
			"and accepting only peers whose certificates are signed by a CA in PEM `FILE`"),
	}
}

func (t *tlsFlags) check() error {
	if (*t.cert == "") != (*t.key == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if *t.cert == "" && (*t.clientCA != "" || *t.peerCA != "") {
		return fmt.Errorf("--tls-client-ca and --peer-ca need --tls-cert and --tls-key")
	}
	return nil
}

// wrap loads the TLS files and returns l serving TLS, or l itself without --tls-cert. It
// re-reads the files on every SIGHUP; a failed reload keeps the previous ones and is logged.
func (t *tlsFlags) wrap(l net.Listener, log *slog.Logger) (net.Listener, error) {
	if *t.cert == "" {
		return l, nil
	}
	store, err := tlsfiles.Load(tlsfiles.Files{CertFile: *t.cert, KeyFile: *t.key, ClientCAFile: *t.clientCA, PeerCAFile: *t.peerCA})
	if err != nil {
		return nil, err
	}
	nodeTLS = store
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if err := store.Reload(); err != nil {
				log.Error("SIGHUP: TLS files not reloaded; still using the previous ones", "err", err)
				continue
			}
			log.Info("SIGHUP: TLS files reloaded", "cert", *t.cert, "client_ca", *t.clientCA, "peer_ca", *t.peerCA)
		}
	}()
	log.Info("TLS on the client port", "cert", *t.cert, "mutual_tls", *t.clientCA != "", "raft_tls", *t.peerCA != "")
	return server.NewTLSListener(l, store.ServerConfig(), log), nil
}
