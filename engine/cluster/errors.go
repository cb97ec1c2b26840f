package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/wire"
)

var errResultCount = errors.New("cluster: database returned a wrong number of results")

func storageError(err error) *engine.Error {
	return engine.Errorf(wire.ErrStorageError, "storage error: %v", err)
}

func noQuorumError(timeout time.Duration) *engine.Error {
	return &engine.Error{Code: wire.ErrRateLimited,
		Message: fmt.Sprintf("no_quorum: commit timed out after %dms", timeout.Milliseconds())}
}

func busyError() *engine.Error {
	return &engine.Error{Code: wire.ErrRateLimited, Message: "server busy, try again later"}
}
