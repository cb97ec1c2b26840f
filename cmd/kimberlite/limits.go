package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
)

// serverLimits are the flags bounding what hostile or overloaded clients can take from the server.
type serverLimits struct {
	perAddr, events, preAuthFrame, authFailures *int
	connBytes, serverBytes                      *int
	handshake, authDelay                        *time.Duration
	subscriptions                               *subscriptionLimits
}

func limitFlags(fs *flag.FlagSet) *serverLimits {
	l := &serverLimits{
		perAddr:      fs.Int("max-conns-per-addr", server.DefaultMaxConnsPerAddr, "at most `N` connections at once from one client IP address"),
		connBytes:    fs.Int("max-conn-bytes", server.DefaultMaxInFlightBytes>>20, "memory budget in `MiB` of one connection's requests and their pending answers\n(a read counts twice its max_bytes); beyond it the connection is not read until answers drain"),
		serverBytes:  fs.Int("max-server-bytes", server.DefaultMaxBufferedBytes>>20, "the same budget in `MiB` across all connections (one request per connection is always served)"),
		events:       fs.Int("max-events-per-append", server.DefaultMaxEventsPerAppend, "refuse an append of more than `N` events with InvalidRequest, checked before decoding them"),
		handshake:    fs.Duration("handshake-timeout", server.DefaultHandshakeTimeout, "close a connection not authenticated within `DUR` (without --auth-token: that sent no request) (0 disables)"),
		preAuthFrame: fs.Int("max-preauth-frame", server.DefaultMaxPreAuthFrame, "with --auth-token, close a connection announcing a frame over `BYTES` before it authenticates"),
		authFailures: fs.Int("max-auth-failures", server.DefaultMaxAuthFailures, "close a connection after `N` failed handshakes"),
		authDelay:    fs.Duration("auth-failure-delay", server.DefaultAuthFailureDelay, "answer each failed handshake only after `DUR` (0 disables)"),
	}
	l.subscriptions = subscriptionLimitFlags(fs)
	return l
}

func (l *serverLimits) check() error {
	for name, v := range map[string]int{"--max-conns-per-addr": *l.perAddr, "--max-conn-bytes": *l.connBytes,
		"--max-server-bytes": *l.serverBytes, "--max-events-per-append": *l.events,
		"--max-preauth-frame": *l.preAuthFrame, "--max-auth-failures": *l.authFailures} {
		if v < 1 {
			return fmt.Errorf("%s must be at least 1, got %d", name, v)
		}
	}
	if *l.connBytes > 1<<20 || *l.serverBytes > 1<<20 {
		return fmt.Errorf("--max-conn-bytes and --max-server-bytes are in MiB and at most 1048576")
	}
	if *l.handshake < 0 || *l.authDelay < 0 {
		return fmt.Errorf("--handshake-timeout and --auth-failure-delay must not be negative")
	}
	return l.subscriptions.check()
}

// apply sets the limits in opts; a zero duration flag means disabled, which Options spells negative.
func (l *serverLimits) apply(o *server.Options) {
	o.MaxConnsPerAddr = *l.perAddr
	o.MaxInFlightBytes = *l.connBytes << 20
	o.MaxBufferedBytes = *l.serverBytes << 20
	o.MaxEventsPerAppend = *l.events
	o.MaxPreAuthFrame = *l.preAuthFrame
	o.MaxAuthFailures = *l.authFailures
	o.HandshakeTimeout, o.AuthFailureDelay = *l.handshake, *l.authDelay
	l.subscriptions.apply(o)
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = -1
	}
	if o.AuthFailureDelay == 0 {
		o.AuthFailureDelay = -1
	}
}
