// Package pooltest holds the small helpers that the client core's tests share, in pool/ and in
// tests/pool/: bounded contexts, polling with a deadline, and reading a whole stream back.
package pooltest

import (
	"context"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
)

// Ctx returns a context that ends after d, or when the test ends.
func Ctx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls cond until it holds, and fails the test if timeout passes first.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ReadAll reads stream id from offset 0 to its end and checks that the offsets have no gaps.
func ReadAll(t testing.TB, c *pool.Client, id uint64) [][]byte {
	t.Helper()
	var out [][]byte
	it := c.ReadAll(Ctx(t, 60*time.Second), id, 0, 256<<10)
	for it.Next() {
		e := it.Event()
		if e.Offset != uint64(len(out)) {
			t.Fatalf("event at offset %d after %d events", e.Offset, len(out))
		}
		out = append(out, e.Data)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
