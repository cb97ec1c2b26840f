package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
)

// Local is a standalone server in this process: a database in a folder, served on a loopback
// port. Benchmarks and in-process tests run against it; it is the same server code as
// `kimberlite server`, with real sockets.
type Local struct {
	Addr   string     // the bound client address, e.g. "127.0.0.1:40123"
	DB     *engine.DB // the database it serves
	srv    *Server
	served chan struct{}
}

// StartLocal opens (or creates) the database in dir and serves it on a free 127.0.0.1 port. A nil
// opts.Logger discards logs.
func StartLocal(dir string, opts Options) (*Local, error) {
	db, err := engine.Open(dir)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	loc := &Local{Addr: l.Addr().String(), DB: db, srv: New(db, opts), served: make(chan struct{})}
	go func() { _ = loc.srv.Serve(l); close(loc.served) }()
	return loc, nil
}

// Close shuts the server down (in-flight requests get up to 10 s), then closes the database.
func (l *Local) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	<-l.served
	return errors.Join(err, l.DB.Close())
}
