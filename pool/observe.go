package pool

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/kimberlite/libkimberlite/internal/ratelimit"
)

// observer delivers log records and events to Config.Logger and Config.OnEvent on one goroutine
// of its own, in the order they happened. The core never waits for it: a record or event that
// finds the queue full is dropped and counted, so a slow handler cannot slow calls down.
type observer struct {
	logger  *slog.Logger
	onEvent func(ClusterEvent)
	limiter *ratelimit.Limiter

	mu      sync.Mutex
	stopped bool
	queue   chan observed
	done    chan struct{}
	dropped atomic.Int64
}

// observed is one queued item: a log record or an event.
type observed struct {
	rec   *slog.Record
	event *ClusterEvent
}

// observerQueue bounds what waits for the handlers.
const observerQueue = 4096

func newObserver(cfg *Config) *observer {
	o := &observer{logger: cfg.Logger, onEvent: cfg.OnEvent, limiter: newLogLimiter()}
	if o.logger == nil && o.onEvent == nil {
		return o
	}
	o.queue = make(chan observed, observerQueue)
	o.done = make(chan struct{})
	go o.run()
	return o
}

func (o *observer) run() {
	defer close(o.done)
	for it := range o.queue {
		o.deliver(it)
	}
}

// deliver calls the handler of one item; a panic in the application's handler is dropped so it
// cannot stop delivery.
func (o *observer) deliver(it observed) {
	defer func() { _ = recover() }()
	if it.rec != nil {
		_ = o.logger.Handler().Handle(context.Background(), *it.rec)
	}
	if it.event != nil {
		o.onEvent(*it.event)
	}
}

func (o *observer) put(it observed) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped || o.queue == nil {
		return
	}
	select {
	case o.queue <- it:
	default:
		o.dropped.Add(1)
	}
}

// event queues ev for OnEvent, if set.
func (o *observer) event(ev ClusterEvent) {
	if o == nil || o.onEvent == nil {
		return
	}
	o.put(observed{event: &ev})
}

// stop delivers what is queued and ends the goroutine. Later records and events are dropped.
func (o *observer) stop() {
	if o == nil {
		return
	}
	o.mu.Lock()
	if o.stopped || o.queue == nil {
		o.stopped = true
		o.mu.Unlock()
		return
	}
	o.stopped = true
	close(o.queue)
	o.mu.Unlock()
	<-o.done
}
