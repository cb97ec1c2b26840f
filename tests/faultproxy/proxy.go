// Package faultproxy is a TCP proxy for tests whose behaviour can be switched while it runs:
// pass traffic, delay it, black-hole it (accept and say nothing), reset connections, or close
// each connection after a number of bytes from the server (a half-written response). It counts
// what it accepted, so tests can check that a client does not storm a failing node with dials.
//
//	p := faultproxy.New(t, serverAddr)  // listens on a free loopback port
//	cfg.Addresses = []string{p.Addr()}
//	p.BlackHole()                        // from now on nothing gets through
//	p.Pass()                             // and back to normal
package faultproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Mode is what the proxy does with traffic.
type Mode int

const (
	// Pass forwards everything both ways.
	Pass Mode = iota
	// Delay forwards everything, each chunk after a pause.
	Delay
	// BlackHole accepts connections and reads what they send, but forwards nothing either way
	// and never answers: a hung or partitioned node.
	BlackHole
	// Reset resets new connections at once and existing ones at their next byte.
	Reset
	// CloseAfter lets a number of server-to-client bytes through on each connection (counted
	// from the switch for existing connections), then closes it: a response cut in the middle.
	CloseAfter
)

// Proxy forwards connections from Addr to a target address.
type Proxy struct {
	l net.Listener

	mu         sync.Mutex
	target     string
	mode       Mode
	delay      time.Duration
	closeAfter int64
	epoch      int64 // bumped at each switch, so existing connections restart their byte count
	conns      map[*pair]struct{}
	closed     bool

	accepted atomic.Int64
	cuts     atomic.Int64
	open     atomic.Int64
	maxOpen  atomic.Int64
	wg       sync.WaitGroup
}

// pair is one proxied connection: the client side and, unless black-holed, the server side.
type pair struct {
	client, server net.Conn
	once           sync.Once
	mu             sync.Mutex
	epoch          int64
	sent           int64 // server-to-client bytes since epoch
}

// New starts a proxy on a free loopback port in front of target and closes it when the test
// ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Listen("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Listen starts a proxy on addr in front of target.
func Listen(addr, target string) (*Proxy, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{l: l, target: target, conns: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the address clients should dial.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// SetTarget changes where new connections are forwarded.
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

func (p *Proxy) set(m Mode, delay time.Duration, n int64) {
	p.mu.Lock()
	p.mode, p.delay, p.closeAfter = m, delay, n
	p.epoch++
	var victims []*pair
	if m == Reset {
		for c := range p.conns {
			victims = append(victims, c)
		}
	}
	p.mu.Unlock()
	for _, c := range victims {
		c.reset()
	}
}

// Pass forwards traffic normally.
func (p *Proxy) Pass() { p.set(Pass, 0, 0) }

// Delay forwards traffic with a pause of d before each chunk.
func (p *Proxy) Delay(d time.Duration) { p.set(Delay, d, 0) }

// BlackHole stops all traffic: connections are accepted and read, nothing is forwarded.
func (p *Proxy) BlackHole() { p.set(BlackHole, 0, 0) }

// Reset resets every open connection now and every new one as it arrives.
func (p *Proxy) Reset() { p.set(Reset, 0, 0) }

// CloseAfter closes each connection once n more server-to-client bytes went through it.
func (p *Proxy) CloseAfter(n int64) { p.set(CloseAfter, 0, n) }

// Accepted is the number of connections accepted so far (the client's dials).
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Open is the number of client connections open now.
func (p *Proxy) Open() int64 { return p.open.Load() }

// MaxOpen is the most client connections that were open at once.
func (p *Proxy) MaxOpen() int64 { return p.maxOpen.Load() }

// ResetMaxOpen restarts MaxOpen from the current count.
func (p *Proxy) ResetMaxOpen() { p.maxOpen.Store(p.open.Load()) }

// Cuts is how many connections CloseAfter or Reset ended.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

// Close stops accepting, closes every connection and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var all []*pair
	for c := range p.conns {
		all = append(all, c)
	}
	p.mu.Unlock()
	err := p.l.Close()
	for _, c := range all {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) state() (Mode, time.Duration, int64, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay, p.closeAfter, p.epoch
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		n := p.open.Add(1)
		for {
			m := p.maxOpen.Load()
			if n <= m || p.maxOpen.CompareAndSwap(m, n) {
				break
			}
		}
		pc := &pair{client: c}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.close()
			p.open.Add(-1)
			continue
		}
		p.conns[pc] = struct{}{}
		mode, target, epoch := p.mode, p.target, p.epoch
		p.mu.Unlock()
		pc.epoch = epoch
		p.wg.Add(1)
		go p.serve(pc, mode, target)
	}
}

func (p *Proxy) serve(pc *pair, mode Mode, target string) {
	defer p.wg.Done()
	defer func() {
		pc.close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
		p.open.Add(-1)
	}()
	switch mode {
	case Reset:
		p.cuts.Add(1)
		pc.reset()
		return
	case BlackHole:
		_, _ = io.Copy(io.Discard, pc.client)
		return
	}
	s, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	pc.mu.Lock()
	pc.server = s
	pc.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.pump(pc, pc.server, pc.client, false)
		pc.close()
		close(done)
	}()
	p.pump(pc, pc.client, pc.server, true)
	pc.close()
	<-done
}

// pump copies src to dst under the proxy's current mode. upstream is client-to-server.
func (p *Proxy) pump(pc *pair, src, dst net.Conn, upstream bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			mode, delay, limit, epoch := p.state()
			chunk := buf[:n]
			switch mode {
			case BlackHole:
				chunk = nil
			case Reset:
				p.cuts.Add(1)
				pc.reset()
				return
			case Delay:
				time.Sleep(delay)
			case CloseAfter:
				if !upstream {
					pc.mu.Lock()
					if pc.epoch != epoch {
						pc.epoch, pc.sent = epoch, 0
					}
					allowed := limit - pc.sent
					cut := int64(len(chunk)) >= allowed
					if cut {
						chunk = chunk[:max(allowed, 0)]
					}
					pc.sent += int64(len(chunk))
					pc.mu.Unlock()
					if cut {
						_, _ = dst.Write(chunk)
						p.cuts.Add(1)
						pc.close()
						return
					}
				}
			}
			if len(chunk) > 0 {
				if _, werr := dst.Write(chunk); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (pc *pair) close() {
	pc.once.Do(func() {
		_ = pc.client.Close()
		pc.mu.Lock()
		s := pc.server
		pc.mu.Unlock()
		if s != nil {
			_ = s.Close()
		}
	})
}

// reset closes both sides with an RST instead of a FIN.
func (pc *pair) reset() {
	pc.mu.Lock()
	s := pc.server
	pc.mu.Unlock()
	for _, c := range []net.Conn{pc.client, s} {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	pc.close()
}
