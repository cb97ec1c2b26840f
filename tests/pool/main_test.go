package pool_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Clients, proxies and server processes must all be gone when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
