package engine

import "time"

// CommitObserver is told about every write transaction the database commits: how many
// operations it carried, how long applying them took and how long the commit (the fsync) took.
// It runs on the committing goroutine, so it must be quick (a histogram update).
type CommitObserver func(ops int, apply, sync time.Duration)

type commitObserverBox struct{ f CommitObserver }

// ObserveCommits makes f the database's CommitObserver (nil: none). Safe at any time.
func (db *DB) ObserveCommits(f CommitObserver) {
	if f == nil {
		db.observer.Store(nil)
		return
	}
	db.observer.Store(&commitObserverBox{f})
}

func (db *DB) noteCommit(ops int, apply, sync time.Duration) {
	if b := db.observer.Load(); b != nil {
		b.f(ops, apply, sync)
	}
}
