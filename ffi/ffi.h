/* Internal declarations shared by the C and Go halves of the C ABI. Not installed. */
#ifndef KMB_FFI_H
#define KMB_FFI_H

#include <stddef.h>
#include <stdint.h>
#include "kimberlite.h"

/* Internal symbols stay out of the library's dynamic symbol table. */
#define KMB_INTERNAL __attribute__((visibility("hidden")))

/* kmb__forked is set in a child process by the pthread_atfork handler. */
KMB_INTERNAL extern volatile int kmb__forked;

/* kmb__set_error records this thread's last error (msg need not be NUL-terminated). */
KMB_INTERNAL void kmb__set_error(kmb_status_t status, const char *msg, size_t msg_len, int32_t server_code,
                    uint64_t request_id);

/* kmb__alloc is malloc (never 0 bytes); unlike cgo's C.malloc it returns NULL when memory runs
 * out, so the caller can answer KMB_ERR_NO_MEMORY. */
KMB_INTERNAL void *kmb__alloc(size_t n);

/* kmb__forked_error records KMB_ERR_FORKED and returns it. */
KMB_INTERNAL kmb_status_t kmb__forked_error(void);

/* kmb__in_callback_of: whether this thread is running a callback of client. */
KMB_INTERNAL int kmb__in_callback_of(const void *client);

/* kmb__callback_client_of_thread: the client whose callback this thread is running, or NULL. */
KMB_INTERNAL const void *kmb__callback_client_of_thread(void);

/* kmb__close_in_callback_error records the refusal to close a client from its own callback. */
KMB_INTERNAL kmb_status_t kmb__close_in_callback_error(void);

/* Callback trampolines: record the error for this (library) thread, note which client's callback
 * runs, then call cb. */
KMB_INTERNAL void kmb__call_status_cb(const void *client, kmb_status_callback_t cb, uintptr_t user_data, kmb_status_t status,
                         const char *msg, size_t msg_len, int32_t server_code, uint64_t request_id);
KMB_INTERNAL void kmb__call_uint64_cb(const void *client, kmb_uint64_callback_t cb, uintptr_t user_data, kmb_status_t status,
                         uint64_t value, const char *msg, size_t msg_len, int32_t server_code,
                         uint64_t request_id);
KMB_INTERNAL void kmb__call_events_cb(const void *client, kmb_events_callback_t cb, uintptr_t user_data, kmb_status_t status,
                         kmb_events_t *events, const char *msg, size_t msg_len, int32_t server_code,
                         uint64_t request_id);
KMB_INTERNAL void kmb__call_server_info_cb(const void *client, kmb_server_info_callback_t cb, uintptr_t user_data, kmb_status_t status,
                              kmb_server_info_t *info, const char *msg, size_t msg_len,
                              int32_t server_code, uint64_t request_id);
KMB_INTERNAL void kmb__call_subscription_cb(const void *client, kmb_subscription_callback_t cb, uintptr_t user_data,
                               kmb_status_t status, kmb_subscription_t *sub, const char *msg,
                               size_t msg_len, int32_t server_code, uint64_t request_id);

/* kmb__waiter_patience: the patience of a waiter (waiter.c), 0 for NULL; the caller has checked
 * that the callback is a kmb_waiter_*_callback, so user_data is a waiter. */
KMB_INTERNAL uint32_t kmb__waiter_patience(uintptr_t waiter);

/* Log and event callbacks (observe.c): the trampolines, and whether this thread runs one. */
KMB_INTERNAL void kmb__call_log_cb(kmb_log_callback_t cb, uintptr_t user_data, int32_t level, const char *message);
KMB_INTERNAL void kmb__call_event_cb(kmb_event_callback_t cb, uintptr_t user_data, int32_t kind, const char *node,
                        const char *previous, uint64_t view, const char *reason);
KMB_INTERNAL int kmb__in_observer_callback(void);

#endif
