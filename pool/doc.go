// Package pool is the client core of libkimberlite: the Go code behind the C ABI, the Python
// package and the Node addon. A Client holds persistent, pipelined connections to a Kimberlite
// cluster (or a single server), finds the leader and follows it, retries what is safe to retry,
// checks every node in the background and counts what it does.
//
//	cfg := pool.DefaultConfig()
//	cfg.Addresses = []string{"10.0.0.1:5432", "10.0.0.2:5432", "10.0.0.3:5432"}
//	cfg.TenantID = 1
//	c, err := pool.Connect(ctx, cfg)
//	if err != nil { ... }
//	defer c.Close(context.Background())
//	id, err := c.CreateStream(ctx, "events", pool.NonPHI, pool.PlacementGlobal)
//	off, err := c.Append(ctx, id, [][]byte{[]byte("hello")}, pool.AppendOptions{})
//
// # Connections
//
// One TCP connection carries many requests at once, matched to their answers by request id
// (ids count from 1 per connection; the handshake, carrying the auth token, is 1). A reader
// goroutine per connection delivers answers; writes go out from the caller when the
// connection is idle, and otherwise from a writer goroutine that sends every queued frame in one
// system call. A broken connection fails every call in flight on it with a KindConnection error
// and leaves the pool.
//
// # Nodes
//
// Each node has its own pool: calls go to the connection with the fewest calls in flight (the
// most recently used on ties, so spare connections go idle and are closed after
// MaxConnIdleTime); another connection is opened once the least busy one carries
// MaxInFlightPerConn/8 calls, up to MaxConnsPerNode. Connections are replaced after
// MaxConnLifetime plus a random jitter. At most MaxDialsPerNode dials run at once per node, and
// failed dials are followed by a growing pause, so a node that is down never gets a reconnect
// storm. Every HealthCheckPeriod each node is sent a Sync: it confirms the leader, learns the
// leader from a follower's answer, notices a deposed leader (it answers NotLeader), and breaks
// the connections of a node that stopped answering so that calls stuck on it fail over.
//
// # Leader
//
// The client connects to any seed address that answers and finds the leader from there:
// NotLeader answers name it, with the view (raft term) they were given in; an older view never
// overrides a newer one, and a leader outside the seed list is added. A NotLeader answer is
// followed at once, at most MaxRedirects times per attempt; when no node names a leader, every
// node is probed with Sync. When the leader changes, the connections to the old one are closed
// once their calls end. Reads go to the leader, or to any healthy node under ReadAnyHealthy.
//
// # Retries and deadlines
//
// A call has one deadline for everything it does (its context's, or RequestTimeout from the
// start): waiting for a connection, redirects, retries. Reads, StreamLength, Sync, Ping,
// ServerInfo and CreateStream (idempotent by name) are retried after connection errors and
// after the codes that mean "try again" (NotLeader, RateLimited, ProjectionLag), with
// exponential backoff and full jitter (github.com/cenkalti/backoff/v4), at most RetryMaxAttempts
// attempts, and only while a retry budget allows: retries are capped at RetryBudgetRatio of
// recent calls plus RetryBudgetMinPerSec, so an outage cannot multiply the load. Other codes
// return at once.
//
// # Appends
//
// Appends are conditional on the stream's length (the protocol's expected offset). With
// AppendOptions.ExpectedOffset the caller chooses it and OffsetMismatch comes back to the
// caller. Without it the client appends at the end: it keeps each stream's tail, fills it in,
// and on OffsetMismatch takes the real tail from the answer and tries again. Appends to one
// stream from many goroutines are coalesced into one request (bounded by AppendBatchMaxEvents
// and AppendBatchMaxBytes); each caller gets its own first offset, in call order.
//
// An append is never sent twice blindly. When its outcome is unknown (the connection or the
// leader was lost after it was sent, or it timed out), the client reads the stream at the
// offset it used: its own events there mean success; other events there mean it failed and is
// tried again at the new tail; nothing there means it is tried again at the same offset, which
// can only succeed if the first attempt did not. If the outcome cannot be learned before the
// deadline, the error has OutcomeUnknown set (errors.Is(err, ErrOutcomeUnknown)).
//
// # Subscriptions
//
// Subscribe follows a stream with server pushes and credit flow control; Next returns batches
// of consecutive events. A Subscription belongs to the client, not to a connection: it refills
// credits below its low-water mark, and when its connection or node is lost (or the server
// shuts down) it subscribes again on a node reads go to, from the offset after the last event
// it received, dropping anything below it, so the application sees every event once, in order,
// and no error unless its own deadline passes. At most SubscribeOptions.Credits events are
// buffered ahead of Next, at either end.
// # Logs, events, metrics
//
// Config.Logger (a *slog.Logger) receives the client's log records: dial failures, nodes down and
// up, leader changes with their view, appends whose outcome is unknown, and at debug level health
// checks, retries, redirects and connections. Records of one kind about one node are
// rate-limited, so a node that stays down costs a few lines a minute. Config.OnEvent receives a
// ClusterEvent for every leader change (with the new leader's address), node down or up and
// connection opened or closed. Both are called on one goroutine of the client, in order; the calls
// that caused them never wait. NewCollector(c) is a prometheus.Collector of Stats plus per-operation
// latency histograms, and MetricsText renders the same as Prometheus text.
//
// # Errors, stats, closing
//
// Every error is a *Error with a Kind, the server's code and text, the request id, the node,
// the attempts made and the last dial error; errors.Is matches the sentinels (ErrConnection,
// ErrNotLeader, ErrOffsetMismatch, ...), IsRetryable and IsTimeout classify. Stats returns a
// snapshot of counters, latency percentiles and per-node gauges; json.Marshal(Stats) is the
// stats JSON of the bindings. Close refuses new calls, lets calls in flight finish until its
// context ends, then fails them, and returns once every socket and goroutine is gone.
package pool
