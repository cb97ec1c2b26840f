package main

import (
	"context"

	"github.com/kimberlite/libkimberlite/pool"
)

// threadCtx is the context of a synchronous call: it runs on the caller's own thread, which
// entered from C, so the pool may wait for the answer on that thread (pool.OnForeignThread).
var threadCtx = pool.OnForeignThread(context.Background())
