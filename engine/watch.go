package engine

import "sync"

// watchers wakes whoever waits for new events of a stream: subscriptions of the server read a
// stream, and when they reach its end they wait on StreamChanged instead of polling.
type watchers struct {
	mu sync.Mutex
	m  map[uint64]chan struct{} // stream id → closed at the stream's next commit
}

// StreamChanged returns a channel that is closed once events appended to streamID after this
// call are committed (durable, and in a cluster applied from the committed log), or once the
// database is replaced by a snapshot. Take the channel before reading, then read, then wait:
// a commit between the read and the wait is not missed.
func (db *DB) StreamChanged(streamID uint64) <-chan struct{} {
	w := &db.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[uint64]chan struct{})
	}
	ch, ok := w.m[streamID]
	if !ok {
		ch = make(chan struct{})
		w.m[streamID] = ch
	}
	return ch
}

// notifyCommitted wakes the watchers of every stream an accepted append of ops touched. It
// runs after the transaction holding them committed.
func (db *DB) notifyCommitted(ops []Op, results []Result) {
	w := &db.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.m) == 0 {
		return
	}
	for i := range ops {
		if ops[i].Kind != OpAppend || results[i].Err != nil {
			continue
		}
		if ch, ok := w.m[ops[i].StreamID]; ok {
			close(ch)
			delete(w.m, ops[i].StreamID)
		}
	}
}

// notifyAll wakes every watcher (the database content was replaced).
func (db *DB) notifyAll() {
	w := &db.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, ch := range w.m {
		close(ch)
		delete(w.m, id)
	}
}
