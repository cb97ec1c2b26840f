package main

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine/server"
)

// Every server flag shows the default of server.DefaultOptions, sets its field, and a value
// Validate refuses is reported with the flag's name.
func TestServerFlagsAreBoundToOptions(t *testing.T) {
	opts := server.DefaultOptions()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := bindServerFlags(fs, &opts)
	def := server.DefaultOptions()
	for _, f := range flags {
		fl := fs.Lookup(f.name)
		if fl == nil {
			t.Fatalf("--%s is not registered", f.name)
		}
		if fieldValue(t, def, f.field) == nil {
			t.Fatalf("--%s names field %s, which Options does not have", f.name, f.field)
		}
	}
	// The shown defaults are the Options defaults.
	for name, want := range map[string]string{
		"max-conns": "1024", "idle-timeout": def.IdleTimeout.String(), "max-conn-bytes": "64",
		"idempotency-keys": "100000", "handshake-timeout": "10s",
	} {
		if got := fs.Lookup(name).DefValue; got != want {
			t.Errorf("--%s shows default %q, want %q", name, got, want)
		}
	}
	if err := fs.Parse([]string{"--max-conns", "7", "--idle-timeout", "0", "--max-conn-bytes", "2",
		"--idempotency-window", "2m", "--max-auth-failures", "2000000"}); err != nil {
		t.Fatal(err)
	}
	if opts.MaxConns != 7 || opts.IdleTimeout >= 0 || opts.MaxInFlightBytes != 2<<20 || opts.IdempotencyWindow.Age != 2*time.Minute {
		t.Fatalf("flags did not set their fields: %+v", opts)
	}
	err := flagError(opts.Validate(), flags)
	if err == nil || !strings.HasPrefix(err.Error(), "--max-auth-failures must be from 1 to") {
		t.Fatalf("Validate's refusal is %v, want it named by its flag", err)
	}
	for _, bad := range [][]string{{"--max-conns", "0"}, {"--idle-timeout", "-1s"}, {"--max-conn-bytes", "0"}, {"--idempotency-keys", "0"}} {
		fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
		fs2.SetOutput(io.Discard)
		o := server.DefaultOptions()
		bindServerFlags(fs2, &o)
		if err := fs2.Parse(bad); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

// fieldValue reads a (possibly dotted) field of Options, nil if there is none.
func fieldValue(t *testing.T, o server.Options, path string) any {
	t.Helper()
	v := reflect.ValueOf(o)
	for _, part := range strings.Split(path, ".") {
		v = v.FieldByName(part)
		if !v.IsValid() {
			return nil
		}
	}
	return v.Interface()
}
