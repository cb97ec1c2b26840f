package pool_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// The auth token goes in every connection's handshake; a refused token is an authentication
// error from Connect, not a connection error, and is not retried.
func TestAuthToken(t *testing.T) {
	s := startServer(t, "", "", server.Options{AuthTokens: map[string]uint64{"secret": 7}})
	cfg := testConfig(s.Addr)
	cfg.TenantID = 7
	cfg.AuthToken = "secret"
	c := connect(t, cfg)
	ctx := pooltest.Ctx(t, 10*time.Second)
	id, err := c.CreateStream(ctx, "mine", wire.DataClassPHI, wire.PlacementGlobal)
	if err != nil || wire.StreamTenant(id) != 7 {
		t.Fatalf("stream %d: %v", id, err)
	}
	if _, err := c.Append(ctx, id, [][]byte{[]byte("x")}, pool.AppendOptions{}); err != nil {
		t.Fatal(err)
	}

	cfg.AuthToken = "wrong"
	_, err = pool.Connect(ctx, cfg)
	if !errors.Is(err, pool.ErrAuth) || pool.IsRetryable(err) {
		t.Fatalf("wrong token: %v", err)
	}
	var e *pool.Error
	if !errors.As(err, &e) || e.ServerCode != wire.ErrAuthenticationFailed || e.Message == "" {
		t.Fatalf("wrong token: %#v", err)
	}

	// Another tenant than the token's is refused by the server, and the error carries its text.
	cfg.AuthToken = "secret"
	cfg.TenantID = 8
	other := connect(t, cfg)
	_, err = other.CreateStream(ctx, "theirs", wire.DataClassPHI, wire.PlacementGlobal)
	if !errors.Is(err, pool.ErrAuth) || !errors.As(err, &e) || e.RequestID == 0 || e.Node != s.Addr || e.Attempts != 1 {
		t.Fatalf("tenant mismatch: %#v", err)
	}
}
