package engine

import (
	"context"
	"testing"
)

// BenchmarkSerialSubmit is one writer's durable 1-event append, without the network: what the
// write path adds to one fdatasync (compare with a bare write+fdatasync, bench/server).
func BenchmarkSerialSubmit(b *testing.B) {
	db, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := db.Submit(Op{Kind: OpCreateStream, Tenant: 1, Name: "s"}).Wait(context.Background())
	if r.Err != nil {
		b.Fatal(r.Err)
	}
	ev := [][]byte{make([]byte, 100)}
	b.ResetTimer()
	for i := range b.N {
		r := db.Submit(Op{Kind: OpAppend, Tenant: 1, StreamID: r.StreamID, Events: ev, Expected: uint64(i)}).Wait(context.Background())
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
