package server

import (
	"errors"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/engine"
)

// Options' convention: zero fields are defaults, DefaultOptions spells them out, and Validate
// alone holds the bounds, naming the field.
func TestOptionsConvention(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("the zero Options must be valid: %v", err)
	}
	d := DefaultOptions()
	if d.MaxConns != DefaultMaxConns || d.IdleTimeout != DefaultIdleTimeout || d.MaxEventsPerAppend != DefaultMaxEventsPerAppend {
		t.Fatalf("DefaultOptions does not spell out the defaults: %+v", d)
	}
	for field, o := range map[string]Options{
		"MaxConns":              {MaxConns: 1 << 30},
		"MaxInFlight":           {MaxInFlight: -5},
		"MaxAuthFailures":       {MaxAuthFailures: 1 << 21},
		"MaxPreAuthFrame":       {MaxPreAuthFrame: 32 << 20},
		"MaxSubscriptions":      {MaxSubscriptions: -1},
		"IdempotencyWindow.Age": {IdempotencyWindow: engine.IdempotencyWindow{Age: 10 * time.Millisecond}},
		"AuthTokens":            {AuthTokens: map[string]uint64{"t": 1 << 33}},
	} {
		var oe *OptionError
		if err := o.Validate(); !errors.As(err, &oe) || oe.Field != field {
			t.Errorf("%s: Validate = %v, want an OptionError for %s", field, err, field)
		}
	}
}
