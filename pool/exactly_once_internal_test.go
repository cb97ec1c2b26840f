package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
	"github.com/kimberlite/libkimberlite/engine/server"
	"github.com/kimberlite/libkimberlite/wire"
)

// Scripted-backend tests of the paths where an append was applied but its answer said
// otherwise. Two real servers share one real database, so they behave as two nodes of a cluster
// that agree on the data; each server's backend can be scripted to answer a write it applied
// as a deposed or overloaded leader does. Each test runs against servers with and without
// idempotent-append (the client then falls back to reading the stream back).

// scriptedNode is a server.Backend over a shared database with scriptable answers.
type scriptedNode struct {
	db *engine.DB

	mu         sync.Mutex
	leader     bool
	view       uint64
	hint       string                                    // leader hint when not leading
	afterApply func(op engine.Op, r engine.Result) error // replaces the answer of an applied write
	readErr    func() error                              // fails reads when it returns an error
}

// notLeader is the NotLeader answer of b's current view (a script may change it meanwhile).
func (b *scriptedNode) notLeader() error {
	b.mu.Lock()
	view, hint := b.view, b.hint
	b.mu.Unlock()
	return engine.Errorf(wire.ErrNotLeader, "not the leader (view: %d, leader hint: %s)", view, hint)
}

func (b *scriptedNode) Submit(op engine.Op) *engine.Pending {
	b.mu.Lock()
	leader, after := b.leader, b.afterApply
	b.mu.Unlock()
	p := engine.NewPending()
	if !leader {
		p.Complete(engine.Result{Err: b.notLeader()})
		return p
	}
	go func() {
		r := b.db.Submit(op).Wait(context.Background())
		if after != nil {
			if err := after(op, r); err != nil {
				r = engine.Result{Err: err}
			}
		}
		p.Complete(r)
	}()
	return p
}

func (b *scriptedNode) Read(ctx context.Context, tenant, sid, from, max uint64) ([][]byte, *uint64, error) {
	b.mu.Lock()
	f := b.readErr
	b.mu.Unlock()
	if f != nil {
		if err := f(); err != nil {
			return nil, nil, err
		}
	}
	return b.db.Read(ctx, tenant, sid, from, max)
}

func (b *scriptedNode) StreamLength(ctx context.Context, tenant, sid uint64) (uint64, error) {
	return b.db.StreamLength(ctx, tenant, sid)
}

func (b *scriptedNode) Sync(ctx context.Context) error {
	b.mu.Lock()
	leader := b.leader
	b.mu.Unlock()
	if !leader {
		return b.notLeader()
	}
	return b.db.Sync(ctx)
}

func (b *scriptedNode) Mode() wire.ClusterMode { return wire.ClusterClustered }
func (b *scriptedNode) TenantCount() uint32    { return b.db.TenantCount() }

// pair is two scripted nodes over one database; a leads at first.
type pair struct {
	db     *engine.DB
	a, b   *scriptedNode
	aAddr  string
	bAddr  string
	client *Client
}

func startPair(t *testing.T, withKeys bool) *pair {
	t.Helper()
	db, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{db: db, a: &scriptedNode{db: db, leader: true, view: 1}, b: &scriptedNode{db: db, view: 1}}
	opts := server.Options{WithoutIdempotentAppend: !withKeys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var servers []*server.Server
	var served []chan struct{}
	for _, n := range []*scriptedNode{p.a, p.b} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := server.New(n, opts)
		done := make(chan struct{})
		go func() { _ = s.Serve(l); close(done) }()
		servers, served = append(servers, s), append(served, done)
		if n == p.a {
			p.aAddr = l.Addr().String()
		} else {
			p.bAddr = l.Addr().String()
		}
	}
	p.b.hint = p.aAddr
	t.Cleanup(func() {
		for i, s := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.Shutdown(ctx)
			cancel()
			<-served[i]
		}
		_ = db.Close()
	})
	cfg := DefaultConfig()
	cfg.Addresses = []string{p.aAddr, p.bAddr}
	cfg.HealthCheckPeriod = 0
	cfg.RetryInitialBackoff = time.Millisecond
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	if l, _ := c.cluster.currentLeader(); l == nil || l.addr != p.aAddr {
		t.Fatalf("the client should have found %s leading", p.aAddr)
	}
	p.client = c
	return p
}

// events reads the whole stream from the shared database.
func (p *pair) events(t *testing.T, sid uint64) []string {
	t.Helper()
	var out []string
	for from := uint64(0); ; {
		evs, next, err := p.db.Read(context.Background(), 0, sid, from, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			out = append(out, string(e))
		}
		if next == nil {
			return out
		}
		from = *next
	}
}

// wantEach checks that every event in want is in the stream exactly once, and nothing else.
func wantEach(t *testing.T, got []string, want ...string) {
	t.Helper()
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	bad := 0
	for _, w := range want {
		if seen[w] != 1 {
			if bad++; bad <= 5 {
				t.Errorf("event %q is in the stream %d times, want once", w, seen[w])
			}
		}
	}
	if len(got) != len(want) || bad > 0 {
		t.Errorf("stream has %d events, want %d; %d of them not exactly once", len(got), len(want), bad)
	}
}

func forBoth(t *testing.T, f func(t *testing.T, withKeys bool)) {
	t.Run("idempotent-append", func(t *testing.T) { f(t, true) })
	t.Run("read-back", func(t *testing.T) { f(t, false) })
}

// A leader commits the append, loses its leadership before it can answer, and answers NotLeader
// naming the new leader. The client follows the hint with the same request: the new leader
// has the entry. Exactly one copy, and success, with or without an expected offset.
func TestAppendNotLeaderAfterCommit(t *testing.T) {
	forBoth(t, func(t *testing.T, withKeys bool) {
		for _, explicit := range []bool{false, true} {
			p := startPair(t, withKeys)
			ctx := context.Background()
			sid, err := p.client.CreateStream(ctx, "s", wire.DataClassPublic, wire.PlacementGlobal)
			if err != nil {
				t.Fatal(err)
			}
			fired := false
			p.a.mu.Lock()
			p.a.afterApply = func(op engine.Op, r engine.Result) error {
				if op.Kind != engine.OpAppend || fired {
					return nil
				}
				fired = true
				p.a.mu.Lock()
				p.a.leader, p.a.view, p.a.hint = false, 2, p.bAddr
				p.a.mu.Unlock()
				p.b.mu.Lock()
				p.b.leader, p.b.view = true, 2
				p.b.mu.Unlock()
				return p.a.notLeader()
			}
			p.a.mu.Unlock()
			var opts AppendOptions
			if explicit {
				zero := uint64(0)
				opts.ExpectedOffset = &zero
			}
			ev := fmt.Sprintf("committed-then-deposed explicit=%v", explicit)
			first, err := p.client.Append(ctx, sid, [][]byte{[]byte(ev)}, opts)
			if err != nil || first != 0 {
				t.Fatalf("append (explicit offset %v): first %d, %v; want 0 and success", explicit, first, err)
			}
			if !fired {
				t.Fatal("the script did not run")
			}
			wantEach(t, p.events(t, sid), ev)
		}
	})
}

// A leader that timed out waiting for a quorum answers RateLimited, but the entry was in its
// log and committed. A retry must not append it again.
func TestAppendRateLimitedAfterCommit(t *testing.T) {
	forBoth(t, func(t *testing.T, withKeys bool) {
		p := startPair(t, withKeys)
		ctx := context.Background()
		sid, err := p.client.CreateStream(ctx, "s", wire.DataClassPublic, wire.PlacementGlobal)
		if err != nil {
			t.Fatal(err)
		}
		fired := 0
		p.a.mu.Lock()
		p.a.afterApply = func(op engine.Op, r engine.Result) error {
			if op.Kind == engine.OpAppend && fired < 2 {
				fired++
				return engine.Errorf(wire.ErrRateLimited, "no_quorum: commit timed out after 5000ms")
			}
			return nil
		}
		p.a.mu.Unlock()
		first, err := p.client.Append(ctx, sid, [][]byte{[]byte("slow-quorum")}, AppendOptions{})
		if err != nil || first != 0 {
			t.Fatalf("append: first %d, %v; want 0 and success", first, err)
		}
		if _, err := p.client.Append(ctx, sid, [][]byte{[]byte("next")}, AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		wantEach(t, p.events(t, sid), "slow-quorum", "next")
	})
}

// A coalesced batch is applied, but the server answers with an error (as Kimberlite 0.8 does
// with StorageError for a large batch it committed), and reading the stream back fails too.
// The batch must not be split and re-sent caller by caller: each caller gets success or
// OutcomeUnknown, and every event is in the stream once.
func TestAppendBatchIsNeverSplitAfterAnUnknownOutcome(t *testing.T) {
	forBoth(t, func(t *testing.T, withKeys bool) {
		p := startPair(t, withKeys)
		ctx := context.Background()
		sid, err := p.client.CreateStream(ctx, "s", wire.DataClassPublic, wire.PlacementGlobal)
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		var once sync.Once
		batchFailed := false
		p.a.mu.Lock()
		p.a.afterApply = func(op engine.Op, r engine.Result) error {
			if op.Kind != engine.OpAppend {
				return nil
			}
			if len(op.Events) == 1 && string(op.Events[0]) == "first" {
				<-release // hold the first request while the others queue up behind it
				return nil
			}
			p.a.mu.Lock()
			defer p.a.mu.Unlock()
			if !batchFailed {
				batchFailed = true
				p.a.readErr = func() error {
					return engine.Errorf(wire.ErrStorageError, "storage error: page overflow")
				}
				return engine.Errorf(wire.ErrStorageError, "storage error: page overflow")
			}
			return nil
		}
		p.a.mu.Unlock()
		const callers = 5
		var wg sync.WaitGroup
		errs := make([]error, callers+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[0] = p.client.Append(ctx, sid, [][]byte{[]byte("first")}, AppendOptions{})
		}()
		ss := p.client.stream(sid)
		waitUntil(t, "the first append is in flight", func() bool {
			p.client.streamsMu.Lock()
			defer p.client.streamsMu.Unlock()
			return ss.flushing
		})
		want := []string{"first"}
		for i := 1; i <= callers; i++ {
			ev := fmt.Sprintf("batched-%d", i)
			want = append(want, ev)
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = p.client.Append(ctx, sid, [][]byte{[]byte(ev)}, AppendOptions{}) }()
		}
		waitUntil(t, "the callers are queued", func() bool {
			p.client.streamsMu.Lock()
			defer p.client.streamsMu.Unlock()
			return len(ss.queue) == callers
		})
		once.Do(func() { close(release) })
		wg.Wait()
		if errs[0] != nil {
			t.Fatalf("first append: %v", errs[0])
		}
		for i, err := range errs[1:] {
			switch {
			case withKeys && err != nil:
				t.Errorf("caller %d: %v; with idempotent-append the re-send learns the outcome", i+1, err)
			case err != nil && !errors.Is(err, ErrOutcomeUnknown):
				t.Errorf("caller %d: %v, want success or OutcomeUnknown", i+1, err)
			}
		}
		if !batchFailed {
			t.Fatal("the batch was never sent as one request")
		}
		wantEach(t, p.events(t, sid), want...)
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A release that frees the only slot while another caller is about to wait must wake it: with
// one connection and one slot, two callers at a time, the second may not sleep until its
// deadline because the first released the slot just before it began to wait. (Under steady
// load a later release hides a lost wake-up; with each round's calls ending, nothing would.)
func TestAcquireNeverMissesAWakeUp(t *testing.T) {
	c := connectLocal(t, startLocal(t), func(cfg *Config) {
		cfg.MaxConnsPerNode, cfg.MinIdleConnsPerNode, cfg.MaxInFlightPerConn = 1, 1, 1
	})
	sid, err := c.CreateStream(context.Background(), "s", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 20000
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for k := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, errs[k] = c.Read(ctx, sid, 0, 1)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: a read waited for the free slot until its deadline: %v", r, err)
			}
		}
	}
}

// Events equal byte for byte: the read-back check (servers without idempotent-append) takes
// another writer's identical event for ours, which is the documented limit; with idempotency
// keys both appends are in the stream.
func TestIdenticalEventsFromTwoWritersAreBothKept(t *testing.T) {
	p := startPair(t, true)
	ctx := context.Background()
	sid, err := p.client.CreateStream(ctx, "s", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	// The first append is applied and answered RateLimited; before the client's re-send, another
	// writer appends the same bytes.
	fired := false
	p.a.mu.Lock()
	p.a.afterApply = func(op engine.Op, r engine.Result) error {
		if op.Kind != engine.OpAppend || fired {
			return nil
		}
		fired = true
		other := p.db.Submit(engine.Op{Kind: engine.OpAppend, StreamID: sid, Expected: 1, Events: [][]byte{[]byte("{}")}}).Wait(ctx)
		if other.Err != nil {
			t.Errorf("other writer: %v", other.Err)
		}
		return engine.Errorf(wire.ErrRateLimited, "no_quorum: commit timed out after 5000ms")
	}
	p.a.mu.Unlock()
	first, err := p.client.Append(ctx, sid, [][]byte{[]byte("{}")}, AppendOptions{})
	if err != nil || first != 0 {
		t.Fatalf("append: %d, %v", first, err)
	}
	got := p.events(t, sid)
	if len(got) != 2 || !bytes.Equal([]byte(got[0]), []byte("{}")) || got[1] != "{}" {
		t.Fatalf("stream %q, want both writers' {}", got)
	}
}
