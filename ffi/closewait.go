package main

import (
	"sync"
	"unsafe"
)

// Closing a client waits for its pending callbacks. A callback that closes another client
// therefore makes its own client wait for that one: callbacks of A closing B while callbacks of
// B close A would wait for each other for ever. closeWaits records, for every close running
// inside a callback, which client's callback is waiting for which client, and refuses the close
// that would complete a cycle: that call returns KMB_ERR_INVALID_ARGUMENT at once (nothing is
// closed), its callback returns, and the other close finishes.
type closeWaitGraph struct {
	mu    sync.Mutex
	edges map[unsafe.Pointer]map[unsafe.Pointer]int // from (callback's client) -> to (being closed)
}

var closeWaits = closeWaitGraph{edges: map[unsafe.Pointer]map[unsafe.Pointer]int{}}

// enter records that a callback of from waits for to; false if to already waits, through
// callbacks closing clients, for from.
func (g *closeWaitGraph) enter(from, to unsafe.Pointer) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reaches(to, from, map[unsafe.Pointer]bool{}) {
		return false
	}
	if g.edges[from] == nil {
		g.edges[from] = map[unsafe.Pointer]int{}
	}
	g.edges[from][to]++
	return true
}

// leave removes one edge recorded by enter.
func (g *closeWaitGraph) leave(from, to unsafe.Pointer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.edges[from][to]--; g.edges[from][to] <= 0 {
		delete(g.edges[from], to)
	}
	if len(g.edges[from]) == 0 {
		delete(g.edges, from)
	}
}

// reaches reports whether a path of waits leads from a to b. Called with mu held.
func (g *closeWaitGraph) reaches(a, b unsafe.Pointer, seen map[unsafe.Pointer]bool) bool {
	if a == b {
		return true
	}
	if seen[a] {
		return false
	}
	seen[a] = true
	for next := range g.edges[a] {
		if g.reaches(next, b, seen) {
			return true
		}
	}
	return false
}
