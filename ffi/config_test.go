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
	typ := reflect.TypeOf(pool.Config{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
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
