package pool_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: clients, servers and proxies are all closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
