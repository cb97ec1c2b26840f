package main

/*
#include "ffi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/kimberlite/libkimberlite/pool"
)

// The TLS options. The files are read, and the settings checked together, by Connect.

func setString(p unsafe.Pointer, option string, v *C.char, field func(*pool.Config) *string) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_"+option, func(c *pool.Config) *callError {
		s, cerr := goString(v, option)
		if cerr != nil {
			return cerr
		}
		*field(c) = s
		return nil
	})
}

func setBool(p unsafe.Pointer, option string, v C.bool, field func(*pool.Config) *bool) C.kmb_status_t {
	return withConfig(p, "kmb_config_set_"+option, func(c *pool.Config) *callError {
		*field(c) = bool(v)
		return nil
	})
}

//export kmbgo_config_set_tls
func kmbgo_config_set_tls(p unsafe.Pointer, v C.bool) C.kmb_status_t {
	return setBool(p, "tls", v, func(c *pool.Config) *bool { return &c.TLSEnabled })
}

//export kmbgo_config_set_tls_ca_file
func kmbgo_config_set_tls_ca_file(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_ca_file", v, func(c *pool.Config) *string { return &c.TLSCAFile })
}

//export kmbgo_config_set_tls_ca_pem
func kmbgo_config_set_tls_ca_pem(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_ca_pem", v, func(c *pool.Config) *string { return &c.TLSCAPEM })
}

//export kmbgo_config_set_tls_cert_file
func kmbgo_config_set_tls_cert_file(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_cert_file", v, func(c *pool.Config) *string { return &c.TLSCertFile })
}

//export kmbgo_config_set_tls_cert_pem
func kmbgo_config_set_tls_cert_pem(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_cert_pem", v, func(c *pool.Config) *string { return &c.TLSCertPEM })
}

//export kmbgo_config_set_tls_key_file
func kmbgo_config_set_tls_key_file(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_key_file", v, func(c *pool.Config) *string { return &c.TLSKeyFile })
}

//export kmbgo_config_set_tls_key_pem
func kmbgo_config_set_tls_key_pem(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_key_pem", v, func(c *pool.Config) *string { return &c.TLSKeyPEM })
}

//export kmbgo_config_set_tls_server_name
func kmbgo_config_set_tls_server_name(p unsafe.Pointer, v *C.char) C.kmb_status_t {
	return setString(p, "tls_server_name", v, func(c *pool.Config) *string { return &c.TLSServerName })
}

//export kmbgo_config_set_tls_insecure_skip_verify
func kmbgo_config_set_tls_insecure_skip_verify(p unsafe.Pointer, v C.bool) C.kmb_status_t {
	return setBool(p, "tls_insecure_skip_verify", v, func(c *pool.Config) *bool { return &c.TLSInsecureSkipVerify })
}
