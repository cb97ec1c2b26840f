package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/pool"
)

// TestEveryConfigFieldHasASetter fails when pool.Config gains a field the C API cannot set.
func TestEveryConfigFieldHasASetter(t *testing.T) {
	header, err := os.ReadFile(filepath.Join("..", "include", "kimberlite.h"))
	if err != nil {
		t.Fatal(err)
	}
	special := map[string]string{"Addresses": "kmb_config_add_address", "TenantID": "kmb_config_set_tenant",
		"Logger": "kmb_config_set_log_callback", "OnEvent": "kmb_config_set_event_callback"}
	for _, o := range pool.Options {
		if o.IsTLS() { // names spelled by the option table (TLSCAFile is tls_ca_file)
			special[o.Field] = "kmb_config_set_" + o.CName()
		}
	}
	goOnly := map[string]bool{}
	for _, f := range pool.GoOnlyFields {
		goOnly[f] = true
	}
	typ := reflect.TypeOf(pool.Config{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if goOnly[f.Name] {
			continue
		}
		fn := special[f.Name]
		if fn == "" {
			fn = "kmb_config_set_" + strings.ToLower(upperSnake(f.Name))
			if f.Type == reflect.TypeOf(time.Duration(0)) {
				fn += "_ms"
			}
		}
		if !strings.Contains(string(header), "KMB_EXTERN kmb_status_t "+fn+"(") {
			t.Errorf("pool.Config.%s has no %s in kimberlite.h", f.Name, fn)
		}
	}
}
