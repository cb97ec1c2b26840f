package main

import (
	"testing"
	"time"
)

// The gate waits only for lone quick calls, and after misses skips 1, 3, 7, ... lone calls
// (up to maxInlineSkip) before it waits again; one call that ends in time resets it.
func TestInlineGateBacksOffAfterMisses(t *testing.T) {
	g := inlineGate{patience: 300 * time.Microsecond}
	if g.patienceFor(false, true) != 0 || g.patienceFor(true, false) != 0 {
		t.Fatal("a call with others in flight, or one that changes something, got a patience")
	}
	if g.patienceFor(true, true) != g.patience {
		t.Fatal("a lone quick call got no patience")
	}
	waitsAfter := func(misses int) int {
		t.Helper()
		for range misses {
			g.note(false)
		}
		skipped := 0
		for g.patienceFor(true, true) == 0 {
			skipped++
			if skipped > 2*maxInlineSkip {
				t.Fatal("the gate never opens again")
			}
		}
		return skipped
	}
	for i, want := range []int{1, 3, 7, 15} {
		if got := waitsAfter(1); got != want {
			t.Fatalf("miss %d in a row: %d calls skipped, want %d", i+1, got, want)
		}
	}
	if got := waitsAfter(20); got != maxInlineSkip {
		t.Fatalf("after many misses: %d calls skipped, want the cap %d", got, maxInlineSkip)
	}
	g.note(true)
	if got := waitsAfter(1); got != 1 {
		t.Fatalf("a miss after a call that ended in time: %d calls skipped, want 1", got)
	}
	off := inlineGate{}
	if off.patienceFor(true, true) != 0 {
		t.Fatal("no patience set, yet a call waits")
	}
}
