/* Process and thread state kept in C: the fork flag and the per-thread last error. Both must work
 * without the Go runtime (after fork() it is gone). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ffi.h"

volatile int kmb__forked = 0;

static void kmb__on_fork_child(void) { kmb__forked = 1; }

/* Registered when the library is loaded, before any kmb_ call can run. */
__attribute__((constructor)) static void kmb__register_fork_handler(void) {
    pthread_atfork(NULL, NULL, kmb__on_fork_child);
}

/* The last error of one thread. A fixed buffer: nothing to free when the thread exits. */
#define KMB_ERRMSG_CAP 1024

typedef struct {
    kmb_status_t status;
    int32_t server_code;
    uint64_t request_id;
    char message[KMB_ERRMSG_CAP];
} kmb_last_error_t;

static _Thread_local kmb_last_error_t kmb__last = {KMB_OK, -1, 0, "no error"};

/* utf8_cut returns where to cut s (longer than max) at most max bytes in, never inside a UTF-8
 * sequence: back off while the first byte left out is a continuation byte. */
static size_t utf8_cut(const char *s, size_t max) {
    size_t n = max;
    while (n > 0 && (((unsigned char)s[n]) & 0xC0) == 0x80) n--;
    return n;
}

void kmb__set_error(kmb_status_t status, const char *msg, size_t msg_len, int32_t server_code,
                    uint64_t request_id) {
    kmb__last.status = status;
    kmb__last.server_code = server_code;
    kmb__last.request_id = request_id;
    if (msg == NULL) msg_len = 0;
    if (msg_len > KMB_ERRMSG_CAP - 1) msg_len = utf8_cut(msg, KMB_ERRMSG_CAP - 1);
    if (msg_len > 0) memcpy(kmb__last.message, msg, msg_len);
    kmb__last.message[msg_len] = '\0';
}

void *kmb__alloc(size_t n) { return malloc(n == 0 ? 1 : n); }

kmb_status_t kmb__forked_error(void) {
    static const char msg[] =
        "kimberlite: the library cannot be used in a child process after fork(); "
        "use it in the parent, or load it after fork()";
    kmb__set_error(KMB_ERR_FORKED, msg, sizeof msg - 1, -1, 0);
    return KMB_ERR_FORKED;
}

const char *kmb_last_error_message(void) { return kmb__last.message; }
kmb_status_t kmb_last_error_status(void) { return kmb__last.status; }
int32_t kmb_last_error_server_code(void) { return kmb__last.server_code; }
uint64_t kmb_last_error_request_id(void) { return kmb__last.request_id; }

/* The client whose callback this thread is running, if any: kmb_client_close on that client from
 * inside its own callback would wait for the callback to return, forever. */
static _Thread_local const void *kmb__callback_client = NULL;

int kmb__in_callback_of(const void *client) { return client != NULL && kmb__callback_client == client; }

const void *kmb__callback_client_of_thread(void) { return kmb__callback_client; }

kmb_status_t kmb__close_in_callback_error(void) {
    static const char msg[] =
        "kimberlite: kmb_client_close called from a callback of the same client: it would wait "
        "for that callback to return; close the client from another thread";
    kmb__set_error(KMB_ERR_INVALID_ARGUMENT, msg, sizeof msg - 1, -1, 0);
    return KMB_ERR_INVALID_ARGUMENT;
}

#define CALL(invocation)                              \
    do {                                              \
        const void *outer = kmb__callback_client;     \
        kmb__callback_client = client;                \
        invocation;                                   \
        kmb__callback_client = outer;                 \
    } while (0)

void kmb__call_status_cb(const void *client, kmb_status_callback_t cb, uintptr_t user_data, kmb_status_t status,
                         const char *msg, size_t msg_len, int32_t server_code, uint64_t request_id) {
    if (status != KMB_OK) kmb__set_error(status, msg, msg_len, server_code, request_id);
    CALL(cb((void *)user_data, status));
}

void kmb__call_uint64_cb(const void *client, kmb_uint64_callback_t cb, uintptr_t user_data, kmb_status_t status,
                         uint64_t value, const char *msg, size_t msg_len, int32_t server_code,
                         uint64_t request_id) {
    if (status != KMB_OK) kmb__set_error(status, msg, msg_len, server_code, request_id);
    CALL(cb((void *)user_data, status, value));
}

void kmb__call_events_cb(const void *client, kmb_events_callback_t cb, uintptr_t user_data, kmb_status_t status,
                         kmb_events_t *events, const char *msg, size_t msg_len, int32_t server_code,
                         uint64_t request_id) {
    if (status != KMB_OK) kmb__set_error(status, msg, msg_len, server_code, request_id);
    CALL(cb((void *)user_data, status, events));
}

void kmb__call_server_info_cb(const void *client, kmb_server_info_callback_t cb, uintptr_t user_data, kmb_status_t status,
                              kmb_server_info_t *info, const char *msg, size_t msg_len,
                              int32_t server_code, uint64_t request_id) {
    if (status != KMB_OK) kmb__set_error(status, msg, msg_len, server_code, request_id);
    CALL(cb((void *)user_data, status, info));
}

void kmb__call_subscription_cb(const void *client, kmb_subscription_callback_t cb, uintptr_t user_data,
                               kmb_status_t status, kmb_subscription_t *sub, const char *msg,
                               size_t msg_len, int32_t server_code, uint64_t request_id) {
    if (status != KMB_OK) kmb__set_error(status, msg, msg_len, server_code, request_id);
    CALL(cb((void *)user_data, status, sub));
}
