package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
)

// The server's flags are bound straight to the fields of a server.Options that starts as
// server.DefaultOptions(), so --help shows the real defaults and server.Options.Validate is the
// only place a value is checked (its error is reported with the flag's name). The one spelling
// the command line adds: a duration of 0 disables (Options spells that negative).

// serverFlag is one flag of `kimberlite server` and the Options field it sets.
type serverFlag struct {
	name, field string
}

// bindServerFlags registers the flags that set opts' fields and returns them, for naming.
func bindServerFlags(fs *flag.FlagSet, o *server.Options) []serverFlag {
	var flags []serverFlag
	add := func(name, field string, v flag.Value, usage string) {
		fs.Var(v, name, usage)
		flags = append(flags, serverFlag{name, field})
	}
	add("max-conns", "MaxConns", (*intValue)(&o.MaxConns),
		"at most `N` client connections at once; more are accepted and closed at once")
	add("idle-timeout", "IdleTimeout", (*disablingDuration)(&o.IdleTimeout),
		"close a connection after `DUR` without incoming data, e.g. 90s (0 disables)")
	add("max-conns-per-addr", "MaxConnsPerAddr", (*intValue)(&o.MaxConnsPerAddr),
		"at most `N` connections at once from one client IP address")
	add("max-conn-bytes", "MaxInFlightBytes", (*mibValue)(&o.MaxInFlightBytes),
		"memory budget in `MiB` of one connection's requests and their pending answers\n(a read counts twice its max_bytes); beyond it the connection is not read until answers drain")
	add("max-server-bytes", "MaxBufferedBytes", (*mibValue)(&o.MaxBufferedBytes),
		"the same budget in `MiB` across all connections (one request per connection is always served)")
	add("max-events-per-append", "MaxEventsPerAppend", (*intValue)(&o.MaxEventsPerAppend),
		"refuse an append of more than `N` events with InvalidRequest, checked before decoding them")
	add("handshake-timeout", "HandshakeTimeout", (*disablingDuration)(&o.HandshakeTimeout),
		"close a connection not authenticated within `DUR` (without --auth-token: that sent no request) (0 disables)")
	add("max-preauth-frame", "MaxPreAuthFrame", (*intValue)(&o.MaxPreAuthFrame),
		"with --auth-token, close a connection announcing a frame over `BYTES` before it authenticates")
	add("max-auth-failures", "MaxAuthFailures", (*intValue)(&o.MaxAuthFailures),
		"close a connection after `N` failed handshakes")
	add("auth-failure-delay", "AuthFailureDelay", (*disablingDuration)(&o.AuthFailureDelay),
		"answer each failed handshake only after `DUR` (0 disables)")
	add("idempotency-window", "IdempotencyWindow.Age", (*durationValue)(&o.IdempotencyWindow.Age),
		"remember the idempotency key of an append for `DUR`: a repeat within it gets the\noriginal answer and appends nothing")
	add("idempotency-keys", "IdempotencyWindow.Keys", (*uint32Value)(&o.IdempotencyWindow.Keys),
		"remember at most `N` idempotency keys per stream (the oldest go first)")
	add("max-subscriptions-per-conn", "MaxSubscriptionsPerConn", (*intValue)(&o.MaxSubscriptionsPerConn),
		"at most `N` subscriptions open at once on one connection; beyond it Subscribe gets RateLimited")
	add("max-subscriptions", "MaxSubscriptions", (*intValue)(&o.MaxSubscriptions),
		"at most `N` subscriptions open at once across all connections")
	return flags
}

// flagError rewrites an *server.OptionError with the flag that sets the field.
func flagError(err error, flags []serverFlag) error {
	var oe *server.OptionError
	if errors.As(err, &oe) {
		for _, f := range flags {
			if f.field == oe.Field {
				return fmt.Errorf("--%s %s", f.name, oe.Msg)
			}
		}
	}
	return err
}

// intValue is a count flag: a positive integer (Options reads 0 as "the default", so the
// command line does not offer it; the upper bounds are Validate's).
type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return errors.New("must be an integer of at least 1")
	}
	*v = intValue(n)
	return nil
}

// uint32Value is a uint32 flag.
type uint32Value uint32

func (v *uint32Value) String() string { return strconv.FormatUint(uint64(*v), 10) }
func (v *uint32Value) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return errors.New("must be an integer from 1 to 4294967295")
	}
	*v = uint32Value(n)
	return nil
}

// mibValue is a byte count given in MiB.
type mibValue int

func (v *mibValue) String() string { return strconv.Itoa(int(*v) >> 20) }
func (v *mibValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1<<20 {
		return errors.New("must be a number of MiB from 1 to 1048576")
	}
	*v = mibValue(n << 20)
	return nil
}

// durationValue is a duration flag.
type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (e.g. 90s, 10m)")
	}
	*v = durationValue(d)
	return nil
}

// disablingDuration is a duration flag where 0 disables: stored negative, as Options wants.
type disablingDuration time.Duration

func (v *disablingDuration) String() string {
	if *v < 0 {
		return "0"
	}
	return time.Duration(*v).String()
}

func (v *disablingDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return errors.New("must be a duration of 0 or more (e.g. 90s; 0 disables)")
	}
	if d == 0 {
		d = -1
	}
	*v = disablingDuration(d)
	return nil
}
