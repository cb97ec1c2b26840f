package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
)

func init() { commands["server"] = runServer }

// shutdownTimeout bounds how long a stopping server waits for requests in flight.
const shutdownTimeout = 30 * time.Second

// authTokens is the repeatable --auth-token TOKEN=TENANT flag.
type authTokens map[string]uint64

func (a authTokens) String() string { return fmt.Sprintf("%d token(s)", len(a)) }

func (a authTokens) Set(v string) error {
	i := strings.LastIndexByte(v, '=')
	if i <= 0 || i == len(v)-1 {
		return fmt.Errorf("want TOKEN=TENANT, got %q", v)
	}
	token, tenantText := v[:i], v[i+1:]
	// Stream ids carry only 32 bits of tenant, so a larger tenant would share streams with
	// the tenant holding the same low 32 bits.
	tenant, err := strconv.ParseUint(tenantText, 10, 32)
	if err != nil {
		return fmt.Errorf("tenant %q is not an integer from 0 to 4294967295", tenantText)
	}
	if _, dup := a[token]; dup {
		return fmt.Errorf("token %q given twice", token)
	}
	a[token] = tenant
	return nil
}

func runServer(args []string) int {
	fs := flag.NewFlagSet("kimberlite server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5432", "`HOST:PORT` to accept clients on (port 0 picks a free port)")
	dataDir := fs.String("data", "", "folder `DIR` holding the database, created if missing (required)")
	tokens := authTokens{}
	fs.Var(tokens, "auth-token", "accept `TOKEN=TENANT`: a client handing over TOKEN acts for TENANT only (repeatable;\nwithout any, no authentication: local development only)")
	opts := server.DefaultOptions()
	optFlags := bindServerFlags(fs, &opts)
	tlsf := newTLSFlags(fs)
	logLevel := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error (logs go to stderr)")
	if clusterMode != nil {
		clusterMode.RegisterFlags(fs)
	}
	metricsOpts := registerMetricsFlags(fs)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: kimberlite server --listen HOST:PORT --data DIR [--auth-token TOKEN=TENANT]...")
		fmt.Fprintln(w, "                         [--max-conns N] [--idle-timeout DUR] [limit flags] [--log-level LEVEL]")
		fmt.Fprintln(w, "                         [--idempotency-window DUR] [--idempotency-keys N] [--metrics-listen HOST:PORT]")
		fmt.Fprintln(w, "                         [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE] [--peer-ca FILE]]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Serves Kimberlite wire protocol v5 over TCP from a durable local database. An append is")
		fmt.Fprintln(w, "acknowledged only once it is on disk. SIGTERM or Ctrl-C stops it cleanly: requests in")
		fmt.Fprintln(w, "flight finish, then the database closes. Once listening it prints one line to stdout:")
		fmt.Fprintln(w, "  kimberlite server listening on HOST:PORT")
		fmt.Fprintln(w, "and, with --metrics-listen, a second one: kimberlite metrics listening on HOST:PORT")
		fmt.Fprintln(w, "(/metrics for Prometheus, /healthz: the process runs, /readyz: a leader is known and")
		fmt.Fprintln(w, "this node is caught up).")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "flags (-flag and --flag are the same):")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "kimberlite server: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if *dataDir == "" {
		return fail("--data DIR is required")
	}
	opts.AuthTokens = tokens
	if err := opts.Validate(); err != nil {
		return fail("%v", flagError(err, optFlags))
	}
	if err := tlsf.check(); err != nil {
		return fail("%v", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fail("--log-level must be debug, info, warn or error, got %q", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("cannot listen", "addr", *listen, "err", err)
		return 1
	}
	addr := l.Addr().String()
	if l, err = tlsf.wrap(l, log); err != nil {
		log.Error("cannot set up TLS", "err", err)
		return 1
	}
	backend, closer, err := openBackend(addr, *dataDir, log)
	if err != nil {
		_ = l.Close()
		log.Error("cannot open the database", "data", *dataDir, "err", err)
		return 1
	}

	metrics, endpoint, err := metricsOpts.start(backend, log)
	if err != nil {
		_ = l.Close()
		_ = closer.Close()
		log.Error("cannot serve metrics", "err", err)
		return 1
	}
	defer endpoint.close()

	opts.Logger, opts.Version, opts.Metrics = log, version, metrics
	srv := server.New(backend, opts)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	fmt.Printf("kimberlite server listening on %s\n", addr)
	if endpoint != nil {
		fmt.Printf("kimberlite metrics listening on %s\n", endpoint.addr)
	}
	log.Info("server started", "addr", addr, "data", *dataDir, "auth", len(tokens) > 0, "max_conns", opts.MaxConns, "idle_timeout", opts.IdleTimeout)

	// A replicated backend reports a storage failure that stopped it from following the log;
	// serving on would give stale reads, so the process exits and a restart recovers.
	var failed <-chan error
	if f, ok := backend.(interface{ Failed() <-chan error }); ok {
		failed = f.Failed()
	}

	code := 0
	select {
	case <-ctx.Done():
		stop() // a second signal kills the process the default way
		log.Info("shutting down: finishing requests in flight")
	case err := <-served:
		log.Error("server stopped accepting connections", "err", err)
		code = 1
	case err := <-failed:
		log.Error("storage failure: stopping; restart the node to recover from the replicated log", "err", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time; closed the remaining connections", "err", err)
	}
	if err := closer.Close(); err != nil {
		log.Error("closing the database failed", "err", err)
		return 1
	}
	log.Info("stopped")
	return code
}

// openBackend opens the replicated backend when cluster flags ask for it, else a local database.
func openBackend(listenAddr, dataDir string, log *slog.Logger) (server.Backend, io.Closer, error) {
	if clusterMode != nil && clusterMode.Enabled() {
		return clusterMode.Open(listenAddr, dataDir, log)
	}
	db, err := engine.Open(dataDir)
	if err != nil {
		return nil, nil, err
	}
	return db, db, nil
}
