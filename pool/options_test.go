package pool

import (
	"reflect"
	"testing"
)

// TestEveryConfigFieldIsAnOption fails when Config gains a field the option table lacks, so the
// cross-layer checks in ffi/options_test.go cannot miss it.
func TestEveryConfigFieldIsAnOption(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range append(append(append([]string(nil), IdentityFields...), GoOnlyFields...), HookFields...) {
		listed[f] = true
	}
	for _, o := range Options {
		if listed[o.Field] {
			t.Errorf("Options lists %s twice", o.Field)
		}
		listed[o.Field] = true
		if _, ok := reflect.TypeOf(Config{}).FieldByName(o.Field); !ok {
			t.Errorf("Options lists %s, which is not a Config field", o.Field)
		}
	}
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); !listed[f.Name] {
			t.Errorf("pool.Config.%s is missing from pool.Options: the C, Python and Node layers cannot set it", f.Name)
		}
	}
}

func TestOptionNames(t *testing.T) {
	o := Option{"MaxConnLifetimeJitter", "ms"}
	if o.CName() != "max_conn_lifetime_jitter_ms" || o.PyName() != "max_conn_lifetime_jitter" || o.JSName() != "maxConnLifetimeJitterMs" {
		t.Fatalf("names of %s: %q %q %q", o.Field, o.CName(), o.PyName(), o.JSName())
	}
	if n := (Option{"RetryBudgetMinPerSec", "count"}).JSName(); n != "retryBudgetMinPerSec" {
		t.Fatalf("JSName: %q", n)
	}
}
