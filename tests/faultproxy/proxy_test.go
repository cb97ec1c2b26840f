package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/tests/faultproxy"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) (string, error) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestModes(t *testing.T) {
	p := faultproxy.New(t, echoServer(t))

	c := dial(t, p)
	if got, err := roundTrip(t, c, "hello"); err != nil || got != "hello" {
		t.Fatalf("pass: %q %v", got, err)
	}

	p.BlackHole()
	if _, err := roundTrip(t, c, "lost"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("black hole on an open connection: %v", err)
	}
	fresh := dial(t, p)
	if _, err := roundTrip(t, fresh, "lost"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("black hole on a new connection: %v", err)
	}

	p.CloseAfter(3)
	cut := dial(t, p)
	got, err := roundTrip(t, cut, "abcdef")
	if err == nil || got != "abc" {
		t.Fatalf("close after 3 bytes: got %q, %v", got, err)
	}

	p.Reset()
	// The reset may come before the dial returns or at the first round trip.
	if r, err := net.Dial("tcp", p.Addr()); err == nil {
		if _, err := roundTrip(t, r, "x"); err == nil {
			t.Fatal("reset: the connection still works")
		}
		r.Close()
	}

	p.Delay(20 * time.Millisecond)
	d := dial(t, p)
	if got, err := roundTrip(t, d, "slow"); err != nil || got != "slow" {
		t.Fatalf("delay: %q %v", got, err)
	}
	p.Pass()
	if got, err := roundTrip(t, dial(t, p), "again"); err != nil || got != "again" {
		t.Fatalf("pass again: %q %v", got, err)
	}
	if p.Accepted() != 6 || p.Cuts() < 2 {
		t.Fatalf("accepted %d, cuts %d", p.Accepted(), p.Cuts())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p.Open() != 0 {
		t.Fatalf("%d connections still open after Close", p.Open())
	}
}
