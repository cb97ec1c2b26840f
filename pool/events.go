package pool

import "time"

// EventKind names what happened in a ClusterEvent.
type EventKind int

// The kinds of ClusterEvent. New kinds may be added; treat an unknown kind as informational.
const (
	// EventLeaderChanged: a node was found to lead (Node, with its View); Previous is the leader
	// before, "" for the first leader the client finds.
	EventLeaderChanged EventKind = iota + 1
	// EventNodeDown: Node failed a health check, a dial, or lost its connections (Reason says).
	EventNodeDown
	// EventNodeUp: Node answered again (or for the first time).
	EventNodeUp
	// EventConnOpened: a connection to Node was opened and its handshake passed.
	EventConnOpened
	// EventConnClosed: a connection to Node was closed (Reason says why).
	EventConnClosed
)

var eventNames = map[EventKind]string{
	EventLeaderChanged: "leader_changed", EventNodeDown: "node_down", EventNodeUp: "node_up",
	EventConnOpened: "conn_opened", EventConnClosed: "conn_closed",
}

// String returns the kind's snake_case name, e.g. "leader_changed".
func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return "unknown"
}

// ClusterEvent is something the client saw happen to the cluster, given to Config.OnEvent.
type ClusterEvent struct {
	Kind EventKind
	Time time.Time
	// Node is the address the event is about; for EventLeaderChanged, the new leader's client
	// address.
	Node string
	// Previous is the leader before an EventLeaderChanged ("" if none was known).
	Previous string
	// View is the new leader's view (raft term) for EventLeaderChanged, 0 when not known.
	View uint64
	// Reason explains EventNodeDown and EventConnClosed, "" otherwise.
	Reason string
}
