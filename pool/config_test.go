package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		change func(*pool.Config)
		want   string
	}{
		{func(c *pool.Config) { c.Addresses = nil }, "Addresses is empty"},
		{func(c *pool.Config) { c.Addresses = []string{"nohost"} }, `"nohost" is not host:port`},
		{func(c *pool.Config) { c.Addresses = []string{"h:"} }, `port "" must be a number from 1 to 65535`},
		{func(c *pool.Config) { c.ConnectTimeout = 0 }, "ConnectTimeout (0s) must be > 0"},
		{func(c *pool.Config) { c.RequestTimeout = -1 }, "RequestTimeout (-1ns) must be > 0"},
		{func(c *pool.Config) { c.MaxConnsPerNode = 0; c.MinIdleConnsPerNode = 0 }, "MaxConnsPerNode (0) must be from 1 to 1024"},
		{func(c *pool.Config) { c.MinIdleConnsPerNode = -1 }, "MinIdleConnsPerNode (-1) must be >= 0"},
		{func(c *pool.Config) { c.MinIdleConnsPerNode = 5 }, "MinIdleConnsPerNode (5) must be <= MaxConnsPerNode (4)"},
		{func(c *pool.Config) { c.MaxInFlightPerConn = 0 }, "MaxInFlightPerConn (0) must be from 1 to 65536"},
		{func(c *pool.Config) { c.MaxConnLifetime = -time.Second }, "MaxConnLifetime (-1s) must be >= 0"},
		{func(c *pool.Config) { c.MaxConnLifetimeJitter = -time.Second }, "MaxConnLifetimeJitter (-1s) must be >= 0"},
		{func(c *pool.Config) { c.MaxConnIdleTime = -time.Second }, "MaxConnIdleTime (-1s) must be >= 0"},
		{func(c *pool.Config) { c.HealthCheckPeriod = -time.Second }, "HealthCheckPeriod (-1s) must be >= 0"},
		{func(c *pool.Config) { c.MaxDialsPerNode = 0 }, "MaxDialsPerNode (0) must be from 1 to 1024"},
		{func(c *pool.Config) { c.RetryMaxAttempts = 0 }, "RetryMaxAttempts (0) must be from 1 to 1000"},
		{func(c *pool.Config) { c.RetryInitialBackoff = 0 }, "RetryInitialBackoff (0s) must be > 0"},
		{func(c *pool.Config) { c.RetryMaxBackoff = time.Millisecond }, "RetryMaxBackoff (1ms) must be >= RetryInitialBackoff (20ms)"},
		{func(c *pool.Config) { c.RetryBudgetRatio = 11 }, "RetryBudgetRatio (11) must be between 0 and 10"},
		{func(c *pool.Config) { c.RetryBudgetMinPerSec = -1 }, "RetryBudgetMinPerSec (-1) must be from 0 to 1000000"},
		{func(c *pool.Config) { c.MaxRedirects = -1 }, "MaxRedirects (-1) must be from 0 to 1000"},
		{func(c *pool.Config) { c.ReadFrom = 7 }, "ReadFrom (7) must be ReadLeader or ReadAnyHealthy"},
		{func(c *pool.Config) { c.AppendBatchMaxEvents = 0 }, "AppendBatchMaxEvents (0) must be from 1 to 100000"},
		{func(c *pool.Config) { c.AppendBatchMaxBytes = 0 }, "AppendBatchMaxBytes (0) must be from 1 to 16777216"},
	}
	for _, tc := range cases {
		cfg := pool.DefaultConfig()
		cfg.Addresses = []string{"127.0.0.1:1"}
		tc.change(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, pool.ErrInvalidArgument) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
		// Connect validates before it dials anything.
		if _, cerr := pool.Connect(context.Background(), cfg); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("Connect: want %v, got %v", err, cerr)
		}
	}
	ok := pool.DefaultConfig()
	ok.Addresses = []string{"localhost:5432", "[::1]:5432"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config with addresses: %v", err)
	}
}

// Connect keeps a private copy: changing the caller's config afterwards changes nothing.
func TestConnectCopiesConfig(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	cfg := testConfig(s.Addr)
	c := connect(t, cfg)
	cfg.Addresses[0] = "127.0.0.1:1"
	if err := c.Ping(pooltest.Ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); len(st.Nodes) != 1 || st.Nodes[0].Address != s.Addr {
		t.Fatalf("nodes: %+v", st.Nodes)
	}
}

func TestBadArguments(t *testing.T) {
	s := startServer(t, "", "", server.Options{})
	c := connect(t, testConfig(s.Addr))
	ctx := pooltest.Ctx(t, 10*time.Second)
	id, err := c.CreateStream(ctx, "args", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	huge := make([]byte, wire.MaxPayloadSize)
	var nilCtx context.Context
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"empty events", func() error { _, err := c.Append(ctx, id, nil, pool.AppendOptions{}); return err }, "events is empty"},
		{"empty events slice", func() error { _, err := c.Append(ctx, id, [][]byte{}, pool.AppendOptions{}); return err }, "events is empty"},
		{"events over 16 MiB", func() error { _, err := c.Append(ctx, id, [][]byte{huge}, pool.AppendOptions{}); return err }, "over the 16777216-byte frame limit"},
		{"many events over 16 MiB", func() error {
			_, err := c.Append(ctx, id, [][]byte{huge[:8<<20], huge[:8<<20]}, pool.AppendOptions{})
			return err
		}, "frame limit"},
		{"nil context append", func() error { _, err := c.Append(nilCtx, id, [][]byte{nil}, pool.AppendOptions{}); return err }, "ctx is nil"},
		{"nil context read", func() error { _, err := c.Read(nilCtx, id, 0, 10); return err }, "ctx is nil"},
		{"read maxBytes 0", func() error { _, err := c.Read(ctx, id, 0, 0); return err }, "maxBytes (0) must be between 1 and 16777216"},
		{"read maxBytes too big", func() error { _, err := c.Read(ctx, id, 0, 1<<40); return err }, "must be between 1 and"},
		{"data class", func() error {
			_, err := c.CreateStream(ctx, "x", wire.DataClass(8), wire.PlacementGlobal)
			return err
		}, "data class 8 is not one of the 8 classes"},
		{"invalid UTF-8 name", func() error {
			_, err := c.CreateStream(ctx, "\xff\xfe", wire.DataClassPublic, wire.PlacementGlobal)
			return err
		}, "not valid UTF-8"},
		{"region kind", func() error {
			_, err := c.CreateStream(ctx, "x", wire.DataClassPublic, wire.Placement{Region: wire.Region{Kind: 9}})
			return err
		}, "region kind 9"},
		{"custom region UTF-8", func() error {
			_, err := c.CreateStream(ctx, "x", wire.DataClassPublic, wire.Placement{Region: wire.Region{Kind: wire.RegionCustom, Custom: "\xff"}})
			return err
		}, "custom region name is not valid UTF-8"},
		{"nil context connect", func() error { _, err := pool.Connect(nilCtx, testConfig(s.Addr)); return err }, "ctx is nil"},
	}
	for _, tc := range cases {
		err := tc.call()
		var e *pool.Error
		if !errors.As(err, &e) || e.Kind != pool.KindInvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want invalid argument %q, got %v", tc.name, tc.want, err)
		}
	}
	// A nil event is an empty event, and the connection is still fine after all of the above.
	off, err := c.Append(ctx, id, [][]byte{nil}, pool.AppendOptions{})
	if err != nil || off != 0 {
		t.Fatalf("nil event: %d %v", off, err)
	}
	if st := c.Stats(); st.OperationsCount["append"] != 1 {
		t.Fatalf("refused calls were counted as operations: %+v", st.OperationsCount)
	}
}

// Addresses and counts past what a client could mean are refused at Connect with the field and
// the bound, before a socket is opened: a port past 65535 or 0, a 1 MiB host, -1 through an
// unsigned C type.
func TestConfigBounds(t *testing.T) {
	huge := strings.Repeat("h", 1<<20) + ":5432"
	for _, tc := range []struct {
		name string
		set  func(*pool.Config)
		want string
	}{
		{"port too big", func(c *pool.Config) { c.Addresses = []string{"a:99999"} }, "from 1 to 65535"},
		{"port zero", func(c *pool.Config) { c.Addresses = []string{"a:0"} }, "from 1 to 65535"},
		{"port not a number", func(c *pool.Config) { c.Addresses = []string{"a:http"} }, "from 1 to 65535"},
		{"no host", func(c *pool.Config) { c.Addresses = []string{":5432"} }, "no host"},
		{"1 MiB host", func(c *pool.Config) { c.Addresses = []string{huge} }, "at most 253"},
		{"control character", func(c *pool.Config) { c.Addresses = []string{"a\x00b:1"} }, "control character"},
		{"too many addresses", func(c *pool.Config) {
			c.Addresses = nil
			for i := 0; i <= pool.MaxAddresses; i++ {
				c.Addresses = append(c.Addresses, fmt.Sprintf("h%d:1", i))
			}
		}, "at most 1024"},
		{"max conns UINT32_MAX", func(c *pool.Config) { c.MaxConnsPerNode = math.MaxUint32 }, "MaxConnsPerNode"},
		{"min idle UINT32_MAX", func(c *pool.Config) { c.MinIdleConnsPerNode = math.MaxUint32 }, "MinIdleConnsPerNode"},
		{"in flight UINT32_MAX", func(c *pool.Config) { c.MaxInFlightPerConn = math.MaxUint32 }, "MaxInFlightPerConn"},
		{"dials UINT32_MAX", func(c *pool.Config) { c.MaxDialsPerNode = math.MaxUint32 }, "MaxDialsPerNode"},
		{"attempts UINT32_MAX", func(c *pool.Config) { c.RetryMaxAttempts = math.MaxUint32 }, "RetryMaxAttempts"},
		{"batch past the server's limit", func(c *pool.Config) { c.AppendBatchMaxEvents = pool.MaxAppendEvents + 1 }, "AppendBatchMaxEvents"},
		{"batch past the frame", func(c *pool.Config) { c.AppendBatchMaxBytes = 32 << 20 }, "AppendBatchMaxBytes"},
	} {
		cfg := pool.DefaultConfig()
		cfg.Addresses = []string{"127.0.0.1:5432"}
		tc.set(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, pool.ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v, want an invalid-argument error naming %q", tc.name, err, tc.want)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("%s: the message is %d bytes; it must not echo the whole input", tc.name, len(err.Error()))
		}
	}
	ok := pool.DefaultConfig()
	ok.Addresses = []string{"127.0.0.1:1", "[::1]:65535", "db.example.com:5432"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid addresses refused: %v", err)
	}
}
