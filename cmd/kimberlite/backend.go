package main

import (
	"flag"
	"io"
	"log/slog"

	"github.com/kimberlite/libkimberlite/engine/server"
)

// clusterMode, when set by cluster.go's init, adds cluster flags and opens a replicated backend.
var clusterMode interface {
	RegisterFlags(fs *flag.FlagSet)
	Enabled() bool
	Open(listenAddr, dataDir string, log *slog.Logger) (server.Backend, io.Closer, error)
}
