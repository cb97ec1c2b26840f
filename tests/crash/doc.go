// Package crash holds the crash-safety test: it runs the real kimberlite server as a child
// process, kills it with SIGKILL in the middle of a stream of appends, restarts it on the same
// data folder, and checks that every acknowledged event survived intact and that nothing
// half-written appeared.
package crash
