// Package server is Kimberlite's TCP server: it speaks wire protocol v5 to many clients at once
// and serves a Backend (a local *engine.DB or a replicated node). Each connection may pipeline
// many requests; they are answered strictly in request order, while writes go to the backend in
// arrival order without waiting for one another, so the backend's group commit can batch them.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
)

// A local database is a Backend.
var _ Backend = (*engine.DB)(nil)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Server serves one Backend on any number of listeners.
type Server struct {
	backend Backend
	opts    Options
	log     *slog.Logger
	started time.Time

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perAddr   map[string]int // open connections per client IP
	budget    budget
	subs      subCounter // subscription ids and the server-wide count (subscribe.go)
	shutdown  bool
	connWG    sync.WaitGroup
}

// New returns a server for backend. Zero fields of opts take their defaults (see Options).
func New(backend Backend, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		backend:   backend,
		opts:      opts,
		log:       opts.Logger,
		started:   time.Now(),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		perAddr:   make(map[string]int),
	}
	s.budget.init(opts.MaxInFlightBytes, opts.MaxBufferedBytes)
	return s
}

// Serve accepts connections on l until Shutdown, then returns ErrServerClosed. It closes l.
// Any other accept failure that does not go away is returned.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		_ = l.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and similar: wait a little and try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			_ = nc.Close()
			return ErrServerClosed
		}
		if len(s.conns) >= s.opts.MaxConns {
			s.mu.Unlock()
			s.log.Warn("connection limit reached, closing new connection", "remote", nc.RemoteAddr().String(), "max_conns", s.opts.MaxConns)
			_ = nc.Close()
			continue
		}
		addr := clientIP(nc.RemoteAddr())
		if s.perAddr[addr] >= s.opts.MaxConnsPerAddr {
			s.mu.Unlock()
			s.log.Warn("per-address connection limit reached, closing new connection", "remote", nc.RemoteAddr().String(), "max_conns_per_addr", s.opts.MaxConnsPerAddr)
			_ = nc.Close()
			continue
		}
		s.perAddr[addr]++
		c := newConn(s, nc, addr)
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perAddr[c.addr]--; s.perAddr[c.addr] <= 0 {
		delete(s.perAddr, c.addr)
	}
	s.mu.Unlock()
	s.connWG.Done()
}

// Shutdown stops accepting connections, stops reading new requests, lets every request already
// read finish and be answered, then closes the connections. If ctx ends first, the remaining
// connections are closed at once and ctx's error is returned; writes already handed to the
// backend may still complete.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for l := range s.listeners {
		_ = l.Close()
	}
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.abort()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// clientIP is the address part of a remote address, the unit of the per-address limit.
func clientIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
