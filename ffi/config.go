package main

/*
#include "ffi.h"
*/
import "C"

import (
	"math"
	"time"
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
)

// maxMillis is the largest duration in milliseconds that fits a time.Duration.
const maxMillis = uint64(math.MaxInt64 / int64(time.Millisecond))

//export kmbgo_config_new
func kmbgo_config_new(out *unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_config_new: out is NULL")
	}
	*out = nil
	cfg := pool.DefaultConfig()
	*out = saveHandle(&configHandle{cfg: &cfg})
	return C.KMB_OK
}

//export kmbgo_config_free
func kmbgo_config_free(p unsafe.Pointer) {
	defer func() { _ = recover() }() // a destructor has no status to report a bug with
	h, cerr := lookupConfig(p)
	if cerr != nil {
		return
	}
	h.mu.Lock()
	h.cfg = nil
	h.mu.Unlock()
}

// withConfig runs set on a live config under its lock.
func withConfig(p unsafe.Pointer, fn string, set func(*pool.Config) *callError) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	h, cerr := lookupConfig(p)
	if cerr != nil {
		cerr.message += " (in " + fn + ")"
		return cerr.record()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cfg == nil {
		return fail(C.KMB_ERR_INVALID_HANDLE, "%s: config %p was freed", fn, p)
	}
	if cerr := set(h.cfg); cerr != nil {
		return cerr.record()
	}
	return C.KMB_OK
}

// millis converts an option given in milliseconds; zeroOK says whether 0 is allowed.
func millis(option string, ms uint64, zeroOK bool) (time.Duration, *callError) {
	if ms == 0 && !zeroOK {
		return 0, errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: %s (0 ms) must be > 0", option)
	}
	if ms > maxMillis {
		return 0, errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: %s (%d ms) must be <= %d ms", option, ms, maxMillis)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func setMillis(p unsafe.Pointer, option string, ms C.uint64_t, zeroOK bool, field func(*pool.Config) *time.Duration) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_"+option, func(c *pool.Config) *callError {
		d, cerr := millis(option, uint64(ms), zeroOK)
		if cerr != nil {
			return cerr
		}
		*field(c) = d
		return nil
	})
}

func setCount(p unsafe.Pointer, option string, n C.uint32_t, least uint32, field func(*pool.Config) *int) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_"+option, func(c *pool.Config) *callError {
		if uint32(n) < least {
			return errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: %s (%d) must be >= %d", option, uint32(n), least)
		}
		*field(c) = int(n)
		return nil
	})
}

//export kmbgo_config_add_address
func kmbgo_config_add_address(p unsafe.Pointer, hostPort *C.char) C.kmb_status_t {
	return withConfig(p, "kmb_config_add_address", func(c *pool.Config) *callError {
		s, cerr := goString(hostPort, "host_port")
		if cerr != nil {
			return cerr
		}
		if err := pool.CheckAddress(s); err != nil {
			return errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: address %v", err)
		}
		if len(c.Addresses) >= pool.MaxAddresses {
			return errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: at most %d addresses", pool.MaxAddresses)
		}
		c.Addresses = append(c.Addresses, s)
		return nil
	})
}

//export kmbgo_config_set_tenant
func kmbgo_config_set_tenant(p unsafe.Pointer, tenant C.uint64_t) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_tenant", func(c *pool.Config) *callError {
		c.TenantID = uint64(tenant)
		return nil
	})
}

//export kmbgo_config_set_auth_token
func kmbgo_config_set_auth_token(p unsafe.Pointer, token *C.char) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_auth_token", func(c *pool.Config) *callError {
		s, cerr := goString(token, "token")
		if cerr != nil {
			return cerr
		}
		c.AuthToken = s
		return nil
	})
}

//export kmbgo_config_set_connect_timeout_ms
func kmbgo_config_set_connect_timeout_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "connect_timeout_ms", ms, false, func(c *pool.Config) *time.Duration { return &c.ConnectTimeout })
}

//export kmbgo_config_set_request_timeout_ms
func kmbgo_config_set_request_timeout_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "request_timeout_ms", ms, false, func(c *pool.Config) *time.Duration { return &c.RequestTimeout })
}

//export kmbgo_config_set_min_idle_conns_per_node
func kmbgo_config_set_min_idle_conns_per_node(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "min_idle_conns_per_node", n, 0, func(c *pool.Config) *int { return &c.MinIdleConnsPerNode })
}

//export kmbgo_config_set_max_conns_per_node
func kmbgo_config_set_max_conns_per_node(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "max_conns_per_node", n, 1, func(c *pool.Config) *int { return &c.MaxConnsPerNode })
}

//export kmbgo_config_set_max_in_flight_per_conn
func kmbgo_config_set_max_in_flight_per_conn(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "max_in_flight_per_conn", n, 1, func(c *pool.Config) *int { return &c.MaxInFlightPerConn })
}

//export kmbgo_config_set_max_conn_lifetime_ms
func kmbgo_config_set_max_conn_lifetime_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "max_conn_lifetime_ms", ms, true, func(c *pool.Config) *time.Duration { return &c.MaxConnLifetime })
}

//export kmbgo_config_set_max_conn_lifetime_jitter_ms
func kmbgo_config_set_max_conn_lifetime_jitter_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "max_conn_lifetime_jitter_ms", ms, true, func(c *pool.Config) *time.Duration { return &c.MaxConnLifetimeJitter })
}

//export kmbgo_config_set_max_conn_idle_time_ms
func kmbgo_config_set_max_conn_idle_time_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "max_conn_idle_time_ms", ms, true, func(c *pool.Config) *time.Duration { return &c.MaxConnIdleTime })
}

//export kmbgo_config_set_health_check_period_ms
func kmbgo_config_set_health_check_period_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "health_check_period_ms", ms, true, func(c *pool.Config) *time.Duration { return &c.HealthCheckPeriod })
}

//export kmbgo_config_set_keep_alive_ms
func kmbgo_config_set_keep_alive_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_keep_alive_ms", func(c *pool.Config) *callError {
		if uint64(ms) == math.MaxUint64 { // KMB_KEEP_ALIVE_DISABLED
			c.KeepAlive = -1
			return nil
		}
		d, cerr := millis("keep_alive_ms", uint64(ms), true)
		if cerr != nil {
			return cerr
		}
		c.KeepAlive = d
		return nil
	})
}

//export kmbgo_config_set_max_dials_per_node
func kmbgo_config_set_max_dials_per_node(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "max_dials_per_node", n, 1, func(c *pool.Config) *int { return &c.MaxDialsPerNode })
}

//export kmbgo_config_set_retry_max_attempts
func kmbgo_config_set_retry_max_attempts(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "retry_max_attempts", n, 1, func(c *pool.Config) *int { return &c.RetryMaxAttempts })
}

//export kmbgo_config_set_retry_initial_backoff_ms
func kmbgo_config_set_retry_initial_backoff_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "retry_initial_backoff_ms", ms, false, func(c *pool.Config) *time.Duration { return &c.RetryInitialBackoff })
}

//export kmbgo_config_set_retry_max_backoff_ms
func kmbgo_config_set_retry_max_backoff_ms(p unsafe.Pointer, ms C.uint64_t) C.kmb_status_t {
	return setMillis(p, "retry_max_backoff_ms", ms, false, func(c *pool.Config) *time.Duration { return &c.RetryMaxBackoff })
}

//export kmbgo_config_set_retry_budget_ratio
func kmbgo_config_set_retry_budget_ratio(p unsafe.Pointer, ratio C.double) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_retry_budget_ratio", func(c *pool.Config) *callError {
		r := float64(ratio)
		if math.IsNaN(r) || r < 0 || r > 10 {
			return errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: retry_budget_ratio (%v) must be between 0 and 10", r)
		}
		c.RetryBudgetRatio = r
		return nil
	})
}

//export kmbgo_config_set_retry_budget_min_per_sec
func kmbgo_config_set_retry_budget_min_per_sec(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "retry_budget_min_per_sec", n, 0, func(c *pool.Config) *int { return &c.RetryBudgetMinPerSec })
}

//export kmbgo_config_set_max_redirects
func kmbgo_config_set_max_redirects(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "max_redirects", n, 0, func(c *pool.Config) *int { return &c.MaxRedirects })
}

//export kmbgo_config_set_read_from
func kmbgo_config_set_read_from(p unsafe.Pointer, v C.int32_t) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_read_from", func(c *pool.Config) *callError {
		switch v {
		case C.KMB_READ_FROM_LEADER:
			c.ReadFrom = pool.ReadLeader
		case C.KMB_READ_FROM_ANY_HEALTHY:
			c.ReadFrom = pool.ReadAnyHealthy
		default:
			return errorf(C.KMB_ERR_INVALID_ARGUMENT, "invalid config: read_from (%d) must be KMB_READ_FROM_LEADER or KMB_READ_FROM_ANY_HEALTHY", int32(v))
		}
		return nil
	})
}

//export kmbgo_config_set_append_batch_max_events
func kmbgo_config_set_append_batch_max_events(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "append_batch_max_events", n, 1, func(c *pool.Config) *int { return &c.AppendBatchMaxEvents })
}

//export kmbgo_config_set_append_batch_max_bytes
func kmbgo_config_set_append_batch_max_bytes(p unsafe.Pointer, n C.uint32_t) C.kmb_status_t {
	return setCount(p, "append_batch_max_bytes", n, 1, func(c *pool.Config) *int { return &c.AppendBatchMaxBytes })
}
