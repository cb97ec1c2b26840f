package pool_test

import (
	"context"
	"testing"

	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// BenchmarkSerialRead is one small read at a time, as a goroutine and as a call from a foreign
// thread; run with -benchmem to see the allocations per call.
func BenchmarkSerialRead(b *testing.B) {
	s := startServer(b, "", "", server.Options{})
	c := connect(b, testConfig(s.Addr))
	ctx := context.Background()
	id, err := c.CreateStream(ctx, "bench", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Append(ctx, id, [][]byte{make([]byte, 100)}, pool.AppendOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"goroutine", ctx}, {"foreign-thread", pool.OnForeignThread(ctx)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Read(bc.ctx, id, 0, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("raw-wire", func(b *testing.B) { benchRawRead(b, s.Addr, testConfig(s.Addr).TenantID, id) })
}
