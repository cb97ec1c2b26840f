package pool

import (
	"reflect"
	"strings"
	"time"
	"unicode"
)

// Option describes one tunable Config field as every layer spells it. Options is the one list
// the C header, the Python and the Node bindings are checked against (see ffi/options_test.go):
// a Config field missing here fails TestEveryConfigFieldIsAnOption, and an option missing from a
// layer fails a test naming the option and the layer.
type Option struct {
	// Field is the Config field name, e.g. "MaxDialsPerNode".
	Field string
	// Kind is how the value crosses the C ABI: "ms" (a time.Duration as uint64 milliseconds),
	// "count" (an int as uint32), "ratio" (a float64 as double), "enum" (an int32 constant),
	// "string" (a NUL-terminated UTF-8 const char *) or "bool" (a C bool).
	Kind string
}

//go:generate go run ../internal/cmd/genoptions ..

// Options lists every Config field set through kmb_config_set_*, in header order. Addresses,
// TenantID and AuthToken are not in it: they are connection identity with their own calls.
var Options = []Option{
	{"ConnectTimeout", "ms"},
	{"RequestTimeout", "ms"},
	{"MinIdleConnsPerNode", "count"},
	{"MaxConnsPerNode", "count"},
	{"MaxInFlightPerConn", "count"},
	{"MaxConnLifetime", "ms"},
	{"MaxConnLifetimeJitter", "ms"},
	{"MaxConnIdleTime", "ms"},
	{"HealthCheckPeriod", "ms"},
	{"KeepAlive", "ms"},
	{"MaxDialsPerNode", "count"},
	{"RetryMaxAttempts", "count"},
	{"RetryInitialBackoff", "ms"},
	{"RetryMaxBackoff", "ms"},
	{"RetryBudgetRatio", "ratio"},
	{"RetryBudgetMinPerSec", "count"},
	{"MaxRedirects", "count"},
	{"ReadFrom", "enum"},
	{"AppendBatchMaxEvents", "count"},
	{"AppendBatchMaxBytes", "count"},
	// TLS (see tls.go). Python sets these through kimberlite.TLS, Node through its tls option.
	{"TLSEnabled", "bool"},
	{"TLSCAFile", "string"},
	{"TLSCAPEM", "string"},
	{"TLSCertFile", "string"},
	{"TLSCertPEM", "string"},
	{"TLSKeyFile", "string"},
	{"TLSKeyPEM", "string"},
	{"TLSServerName", "string"},
	{"TLSInsecureSkipVerify", "bool"},
}

// GoOnlyFields are Config fields only Go callers can set: TLS is a *tls.Config, which the
// TLS* options build for the other layers.
var GoOnlyFields = []string{"TLS"}

// cNames spell the options whose field names run capitals together.
var cNames = map[string]string{"TLSEnabled": "tls", "TLSCAFile": "tls_ca_file", "TLSCAPEM": "tls_ca_pem"}

// IsTLS reports whether the option belongs to the TLS group, which the bindings take from
// their own TLS option (kimberlite.TLS in Python, tls in Node) rather than as one argument each.
func (o Option) IsTLS() bool { return strings.HasPrefix(o.Field, "TLS") }

// IdentityFields are the Config fields set by their own calls rather than as options.
var IdentityFields = []string{"Addresses", "TenantID", "AuthToken"}

// HookFields are the Config fields that hold callbacks: the C ABI sets them with
// kmb_config_set_log_callback and kmb_config_set_event_callback, which the bindings wrap.
var HookFields = []string{"Logger", "OnEvent"}

// CName is the option's name in C and Python: snake_case, with "_ms" for durations in C.
func (o Option) CName() string {
	if n, ok := cNames[o.Field]; ok {
		return n
	}
	n := snake(o.Field)
	if o.Kind == "ms" {
		n += "_ms"
	}
	return n
}

// PyName is the keyword argument of kimberlite.Client.connect (durations are seconds there).
// A TLS option is a keyword of kimberlite.TLS, without the "tls_" prefix ("enabled" is tls=True).
func (o Option) PyName() string {
	if o.IsTLS() {
		return strings.TrimPrefix(strings.TrimPrefix(o.CName(), "tls"), "_")
	}
	return snake(o.Field)
}

// JSName is the property of the Node connect options (durations keep the "Ms" suffix).
func (o Option) JSName() string {
	n := o.CName()
	parts := strings.Split(n, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// Default is the option's value in DefaultConfig.
func (o Option) Default() any {
	v := reflect.ValueOf(DefaultConfig()).FieldByName(o.Field)
	if d, ok := v.Interface().(time.Duration); ok {
		return d
	}
	return v.Interface()
}

// DefaultMillis is the default of an "ms" option in milliseconds.
func (o Option) DefaultMillis() int64 { return int64(o.Default().(time.Duration) / time.Millisecond) }

// snake turns "MaxConnsPerNode" into "max_conns_per_node" (runs of capitals stay one word).
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
