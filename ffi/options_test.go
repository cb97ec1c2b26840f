package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
)

// The files outside pool/ that spell every client option: the *_gen ones are written from
// pool.Options by `go generate ./pool` (internal/optionsgen checks they are current), the others
// by hand. Each test below names the option and the file that lacks it, so a new pool.Config
// field (listed in pool.Options, which pool's own test enforces) cannot be forgotten in any.
const (
	layerHeader   = "include/kimberlite.h"
	layerExports  = "ffi/setters_gen.h"
	layerGo       = "ffi/config.go"
	layerPyFFI    = "bindings/python/kimberlite/_options_gen.py"
	layerPyClient = "bindings/python/kimberlite/client.py"
	layerJSOpts   = "bindings/node/lib/options.js"
	layerDTS      = "bindings/node/index.d.ts"
	layerAddon    = "bindings/node/src/options_gen.h"
	// The TLS options (pool.Option.IsTLS) reach Python through kimberlite.TLS and Node through
	// its tls option, with Node's own names; their setters live in config_tls.go.
	layerGoTLS = "ffi/config_tls.go"
	layerPyTLS = "bindings/python/kimberlite/tls.py"
	layerJSTLS = "bindings/node/lib/tls.js"
)

func readLayer(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEveryOptionInEveryLayer: each option is declared, exported and wired in C, Python and Node.
func TestEveryOptionInEveryLayer(t *testing.T) {
	text := map[string]string{}
	for _, l := range []string{layerHeader, layerExports, layerGo, layerPyFFI, layerPyClient, layerJSOpts, layerDTS, layerAddon,
		layerGoTLS, layerPyTLS, layerJSTLS} {
		text[l] = readLayer(t, l)
	}
	for _, o := range pool.Options {
		c, py, js := "kmb_config_set_"+o.CName(), o.PyName(), o.JSName()
		if o.IsTLS() {
			want := []struct{ layer, needle string }{
				{layerHeader, "KMB_EXTERN kmb_status_t " + c + "("},
				{layerGoTLS, "//export kmbgo_config_set_" + o.CName() + "\n"},
				{layerPyFFI, `("` + c + `", `},
				{layerPyTLS, `"` + c + `"`},
				{layerAddon, `"` + js + `"`},
				{layerAddon, c + ")"},
			}
			if o.Kind == "string" {
				want = append(want, struct{ layer, needle string }{layerExports, "STRING_SETTER(" + o.CName() + ")"})
			} else {
				want = append(want, struct{ layer, needle string }{layerExports, "SETTER(" + o.CName() + ","})
			}
			if !strings.HasSuffix(o.Field, "File") { // Node's tls.connect takes contents, not paths
				want = append(want, struct{ layer, needle string }{layerJSTLS, "'" + js + "'"})
			}
			for _, w := range want {
				if !strings.Contains(text[w.layer], w.needle) {
					t.Errorf("TLS option pool.Config.%s is missing from %s (looked for %q)", o.Field, w.layer, w.needle)
				}
			}
			continue
		}
		want := []struct{ layer, needle string }{
			{layerHeader, "KMB_EXTERN kmb_status_t " + c + "("},
			{layerExports, "SETTER(" + o.CName() + ","},
			{layerGo, "//export kmbgo_config_set_" + o.CName() + "\n"},
			{layerPyFFI, `("` + c + `", `},
			{layerPyClient, `"` + c + `"`},
			{layerPyClient, "        " + py + ": "},
			{layerJSOpts, "  " + js + ": '"},
			{layerDTS, "  " + js + "?: "},
			{layerAddon, `"` + js + `"`},
			{layerAddon, c + ")"},
		}
		for _, w := range want {
			if !strings.Contains(text[w.layer], w.needle) {
				t.Errorf("option pool.Config.%s is missing from %s (looked for %q)", o.Field, w.layer, w.needle)
			}
		}
	}
}

// TestEveryLayerDocumentsTheSameDefault reads the default each layer documents for each option
// and compares it with pool.DefaultConfig, the value the library really applies.
func TestEveryLayerDocumentsTheSameDefault(t *testing.T) {
	header, dts, py := readLayer(t, layerHeader), readLayer(t, layerDTS), readLayer(t, layerPyClient)
	pyDoc := docstringOf(t, py, "def connect(")
	for _, o := range pool.Options {
		c, js := o.CName(), o.JSName()
		if doc := commentBefore(header, "KMB_EXTERN kmb_status_t kmb_config_set_"+c+"("); !documents(doc, defaultSpellings(o, time.Millisecond)) {
			t.Errorf("%s documents no default %v for kmb_config_set_%s (pool.Config.%s); comment: %q", layerHeader, o.Default(), c, o.Field, doc)
		}
		if o.IsTLS() { // documented as one group in the bindings (kimberlite.TLS, ConnectOptions.tls)
			continue
		}
		if doc := commentBefore(dts, "  "+js+"?: "); !documents(doc, defaultSpellings(o, time.Millisecond)) {
			t.Errorf("%s documents no default %v for %s (pool.Config.%s); comment: %q", layerDTS, o.Default(), js, o.Field, doc)
		}
		if doc := pyDocEntry(pyDoc, o.PyName()); !documents(doc, defaultSpellings(o, time.Second)) {
			t.Errorf("%s documents no default %v for %s (pool.Config.%s); docstring: %q", layerPyClient, o.Default(), o.PyName(), o.Field, doc)
		}
	}
}

// defaultSpellings is how a layer may write the option's default, durations in unit.
func defaultSpellings(o pool.Option, unit time.Duration) []string {
	switch v := o.Default().(type) {
	case time.Duration:
		return []string{strconv.FormatFloat(float64(v)/float64(unit), 'f', -1, 64)}
	case int:
		s := []string{strconv.Itoa(v)}
		if v >= 1<<20 && v%(1<<20) == 0 {
			s = append(s, fmt.Sprintf("%d MiB", v>>20))
		}
		return s
	case float64:
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	case string:
		return []string{strconv.Quote(v)}
	case bool:
		return []string{strconv.FormatBool(v)}
	case pool.ReadPreference:
		if v == pool.ReadLeader {
			return []string{"LEADER (default)", "leader\"` (linearizable, default)"}
		}
		return []string{"ANY_HEALTHY (default)"}
	}
	return nil
}

// documents says whether doc states one of the spellings as the default: "Default 5000",
// "(default 5", "default 0.02 / 1" or a "... (default)" marker.
func documents(doc string, spellings []string) bool {
	for _, s := range spellings {
		if strings.Contains(s, "default") {
			if strings.Contains(doc, s) {
				return true
			}
			continue
		}
		re := regexp.MustCompile(`(?i)defaults? ([0-9.]+ (/ )?)*` + regexp.QuoteMeta(s) + `($|[^0-9.]|\.($|[^0-9]))`)
		if re.MatchString(doc) {
			return true
		}
	}
	return false
}

// commentBefore returns the /* */ or /** */ comment ending just before decl.
func commentBefore(src, decl string) string {
	i := strings.Index(src, decl)
	if i < 0 {
		return ""
	}
	end := strings.LastIndex(src[:i], "*/")
	start := strings.LastIndex(src[:end+1], "/*")
	if end < 0 || start < 0 || strings.TrimSpace(src[end+2:i]) != "" {
		return ""
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(src[start:end], "*", " ")), " ")
}

func docstringOf(t *testing.T, src, def string) string {
	t.Helper()
	i := strings.Index(src, def)
	if i < 0 {
		t.Fatalf("%s: no %q", layerPyClient, def)
	}
	a := strings.Index(src[i:], `"""`) + i + 3
	b := strings.Index(src[a:], `"""`) + a
	return src[a:b]
}

// pyDocEntry is the docstring entry (its line and continuation lines) that names option.
func pyDocEntry(doc, option string) string {
	lines := strings.Split(doc, "\n")
	name := regexp.MustCompile(`(^|[ ;/])` + option + `($|[ :;/])`)
	for i, l := range lines {
		if !name.MatchString(strings.TrimSpace(l)) {
			continue
		}
		entry := l
		indent := len(l) - len(strings.TrimLeft(l, " "))
		for _, next := range lines[i+1:] {
			if len(next)-len(strings.TrimLeft(next, " ")) <= indent || strings.TrimSpace(next) == "" {
				break
			}
			entry += " " + strings.TrimSpace(next)
		}
		return entry
	}
	return ""
}

// TestPythonSignatureDefaultsAreTheLibrarys: Client.connect passes its keyword defaults to C, so
// each must equal pool.DefaultConfig (durations in seconds there).
func TestPythonSignatureDefaultsAreTheLibrarys(t *testing.T) {
	py := readLayer(t, layerPyClient)
	for _, o := range pool.Options {
		if o.IsTLS() {
			continue
		}
		m := regexp.MustCompile(`\n        ` + o.PyName() + `: [^\n]*? = ([^\n,]+),\n`).FindStringSubmatch(py)
		if m == nil {
			t.Errorf("%s: Client.connect has no keyword %s with a default (pool.Config.%s)", layerPyClient, o.PyName(), o.Field)
			continue
		}
		var want string
		switch v := o.Default().(type) {
		case pool.ReadPreference:
			want = map[pool.ReadPreference]string{pool.ReadLeader: "ReadFrom.LEADER", pool.ReadAnyHealthy: "ReadFrom.ANY_HEALTHY"}[v]
		default:
			want = defaultSpellings(o, time.Second)[0]
		}
		if m[1] != want {
			t.Errorf("%s: %s defaults to %s, but pool.Config.%s defaults to %s", layerPyClient, o.PyName(), m[1], o.Field, want)
		}
	}
}
