/* addon.c: the native half of @kimberlite/client, an N-API addon over libkimberlite.
 *
 * index.js validates and normalises every argument; this file checks them again (a caller that
 * goes around index.js gets a TypeError or RangeError, never a crash) and turns each call into
 * the library's _async variant. The library calls back on one of its own threads; the callback
 * copies the result into a request and queues it on the environment's threadsafe function,
 * whose call_js settles the Promise on the JS thread. Nothing here waits on the network on the
 * JS thread or on libuv's worker pool: connect and close, which have no _async variant, run on
 * short-lived threads of our own.
 *
 * The threadsafe function is unreferenced while no call is pending, so an idle client never
 * keeps the process alive, and referenced while any is. An environment cleanup hook closes the
 * clients still open when the environment (main thread or worker) goes away.
 */
#define _POSIX_C_SOURCE 200809L
#define NAPI_VERSION 8
#include <node_api.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kimberlite.h"

/* ------------------------------------------------------------------------------------------ */
/* Per-environment state                                                                       */
/* ------------------------------------------------------------------------------------------ */

typedef struct client_handle client_handle;

/* env_state: one per environment that loaded the addon. Reference-counted because library
 * threads and our own threads may still hold requests after the environment is torn down. */
typedef struct {
    atomic_int refs;
    pthread_mutex_t mu;
    int closing;                  /* under mu: the environment is going away */
    napi_threadsafe_function tsfn;
    napi_ref error_ctor;          /* KimberliteError, set by init() */
    uint32_t pending;             /* JS thread only: calls whose Promise is not settled yet */
    client_handle *clients;       /* JS thread only: open clients, closed by the cleanup hook */
} env_state;

struct client_handle {
    kmb_client_t *client;
    env_state *st;
    int closed; /* JS thread only */
    client_handle *prev, *next;
};

static void env_ref(env_state *st) { atomic_fetch_add(&st->refs, 1); }

static void env_unref(env_state *st) {
    if (atomic_fetch_sub(&st->refs, 1) == 1) {
        pthread_mutex_destroy(&st->mu);
        free(st);
    }
}

static void list_add(env_state *st, client_handle *h) {
    h->prev = NULL;
    h->next = st->clients;
    if (st->clients) st->clients->prev = h;
    st->clients = h;
}

static void list_remove(env_state *st, client_handle *h) {
    if (h->prev) h->prev->next = h->next;
    else if (st->clients == h) st->clients = h->next;
    if (h->next) h->next->prev = h->prev;
    h->prev = h->next = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef enum { OP_CONNECT, OP_CLOSE, OP_CREATE_STREAM, OP_APPEND, OP_READ, OP_LENGTH, OP_SYNC,
               OP_PING, OP_INFO } op_kind;

/* req: one pending call, from its start on the JS thread to its settlement there. */
typedef struct {
    env_state *st;
    op_kind kind;
    napi_deferred deferred;
    napi_ref keep;           /* strong reference to the client object while the call runs */
    kmb_config_t *cfg;       /* OP_CONNECT input */
    kmb_client_t *client;    /* OP_CONNECT result, OP_CLOSE target */
    kmb_status_t status;
    uint64_t value;
    kmb_events_t *events;
    kmb_server_info_t *info;
    char *errmsg;
    int32_t server_code;
    uint64_t request_id;
} req;

static req *req_new(env_state *st, op_kind kind) {
    req *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->st = st;
    r->kind = kind;
    r->server_code = -1;
    env_ref(st);
    return r;
}

/* req_free_payload releases what the library handed us. Any thread. */
static void req_free_payload(req *r) {
    kmb_events_free(r->events);
    r->events = NULL;
    kmb_server_info_free(r->info);
    r->info = NULL;
    kmb_config_free(r->cfg);
    r->cfg = NULL;
    free(r->errmsg);
    r->errmsg = NULL;
}

static void req_free(req *r) {
    req_free_payload(r);
    env_unref(r->st);
    free(r);
}

/* req_abandon drops a request whose environment is gone (its deferred and references died with
 * it). A client connected for nobody is closed. Never called on a library callback thread with a
 * client to close: only OP_CONNECT requests carry one, and they complete on our own thread. */
static void req_abandon(req *r) {
    if (r->kind == OP_CONNECT && r->client != NULL) {
        kmb_client_close(r->client);
        r->client = NULL;
    }
    req_free(r);
}

/* capture records the outcome on the thread that learned it (the last error is per thread). */
static void capture(req *r, kmb_status_t status) {
    r->status = status;
    if (status != KMB_OK) {
        const char *m = kmb_last_error_message();
        r->errmsg = strdup(m ? m : "");
        r->server_code = kmb_last_error_server_code();
        r->request_id = kmb_last_error_request_id();
    }
}

/* dispatch hands a finished request to the JS thread. Any thread. */
static void dispatch(req *r) {
    env_state *st = r->st;
    int queued = 0;
    pthread_mutex_lock(&st->mu);
    if (!st->closing && napi_call_threadsafe_function(st->tsfn, r, napi_tsfn_nonblocking) == napi_ok)
        queued = 1;
    pthread_mutex_unlock(&st->mu);
    if (!queued) req_abandon(r);
}

/* Library callbacks: called exactly once per accepted _async call, on a library thread. */
static void on_uint64(void *ud, kmb_status_t status, uint64_t value) {
    req *r = ud;
    capture(r, status);
    r->value = value;
    dispatch(r);
}

static void on_status(void *ud, kmb_status_t status) {
    req *r = ud;
    capture(r, status);
    dispatch(r);
}

static void on_events(void *ud, kmb_status_t status, kmb_events_t *events) {
    req *r = ud;
    capture(r, status);
    r->events = events;
    dispatch(r);
}

static void on_info(void *ud, kmb_status_t status, kmb_server_info_t *info) {
    req *r = ud;
    capture(r, status);
    r->info = info;
    dispatch(r);
}

/* spawn runs fn(arg) on a new detached thread. Asynchronous signals stay blocked there so that
 * SIGINT, SIGTERM, SIGCHLD... keep going to Node's own threads. */
static int spawn(void *(*fn)(void *), void *arg) {
    pthread_attr_t attr;
    pthread_t t;
    sigset_t block, old;
    if (pthread_attr_init(&attr) != 0) return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigemptyset(&block);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&t, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

static void *connect_main(void *arg) {
    req *r = arg;
    kmb_client_t *c = NULL;
    kmb_status_t s = kmb_client_connect(r->cfg, &c);
    capture(r, s);
    kmb_config_free(r->cfg);
    r->cfg = NULL;
    r->client = s == KMB_OK ? c : NULL;
    dispatch(r);
    return NULL;
}

static void *close_main(void *arg) {
    req *r = arg;
    kmb_status_t s = kmb_client_close(r->client);
    r->client = NULL;
    capture(r, s);
    dispatch(r);
    return NULL;
}

/* close_detached closes a client nobody waits for (its JS object was garbage collected, or its
 * environment is going away). */
static void *close_detached_main(void *arg) {
    kmb_client_close((kmb_client_t *)arg);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* JS helpers                                                                                  */
/* ------------------------------------------------------------------------------------------ */

#define CHECK(call)                                                                            \
    do {                                                                                       \
        if ((call) != napi_ok) goto fail;                                                      \
    } while (0)

static const napi_type_tag CLIENT_TAG = {0x6b696d6265726c69ULL, 0x74652d636c69656eULL};

static env_state *state_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
    void *data = NULL;
    if (napi_get_cb_info(env, info, argc, argv, NULL, &data) != napi_ok) return NULL;
    return data;
}

static napi_value undefined(napi_env env) {
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
}

static napi_value throw_type(napi_env env, const char *msg) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
}

static napi_value throw_range(napi_env env, const char *msg) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
}

/* make_error builds a KimberliteError (or, before init(), a plain Error carrying the same
 * properties). Returns NULL only if even that fails. */
static napi_value make_error(napi_env env, env_state *st, kmb_status_t status, const char *msg,
                             int32_t server_code, uint64_t request_id) {
    napi_value message, props, code, sc, rid, retry, ctor = NULL, err = NULL;
    if (msg == NULL || msg[0] == '\0') msg = kmb_status_name(status);
    if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
    if (napi_create_object(env, &props) != napi_ok) return NULL;
    napi_create_string_utf8(env, kmb_status_name(status), NAPI_AUTO_LENGTH, &code);
    if (server_code >= 0) napi_create_int32(env, server_code, &sc);
    else sc = undefined(env);
    if (request_id != 0) napi_create_bigint_uint64(env, request_id, &rid);
    else rid = undefined(env);
    napi_get_boolean(env, kmb_status_is_retryable(status) != 0, &retry);
    napi_set_named_property(env, props, "code", code);
    napi_set_named_property(env, props, "serverCode", sc);
    napi_set_named_property(env, props, "requestId", rid);
    napi_set_named_property(env, props, "retryable", retry);
    if (st && st->error_ctor) napi_get_reference_value(env, st->error_ctor, &ctor);
    if (ctor) {
        napi_value argv[2] = {message, props};
        if (napi_new_instance(env, ctor, 2, argv, &err) != napi_ok) {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            if (pending) {
                napi_value ignored;
                napi_get_and_clear_last_exception(env, &ignored);
            }
            err = NULL;
        }
    }
    if (err == NULL) {
        if (napi_create_error(env, code, message, &err) != napi_ok) return NULL;
        napi_set_named_property(env, err, "serverCode", sc);
        napi_set_named_property(env, err, "requestId", rid);
        napi_set_named_property(env, err, "retryable", retry);
    }
    return err;
}

/* get_handle unwraps a client object made by connect(); it must still be open. On failure a
 * TypeError is thrown (or *closed is set for a disconnected client) and NULL returned. */
static client_handle *get_handle(napi_env env, napi_value v, int *closed) {
    napi_valuetype t;
    bool tagged = false;
    void *p = NULL;
    *closed = 0;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
        napi_check_object_type_tag(env, v, &CLIENT_TAG, &tagged) != napi_ok || !tagged ||
        napi_unwrap(env, v, &p) != napi_ok || p == NULL) {
        throw_type(env, "the client handle is not a Kimberlite client");
        return NULL;
    }
    client_handle *h = p;
    if (h->closed) {
        *closed = 1;
        return NULL;
    }
    return h;
}

/* get_u64 reads a bigint that must fit in 0..2^64-1. */
static int get_u64(napi_env env, napi_value v, const char *name, uint64_t *out) {
    napi_valuetype t;
    bool lossless = false;
    char msg[160];
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_bigint) {
        snprintf(msg, sizeof msg, "\"%s\" must be a bigint", name);
        throw_type(env, msg);
        return 0;
    }
    if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok || !lossless) {
        snprintf(msg, sizeof msg, "\"%s\" must be between 0n and 2n ** 64n - 1n", name);
        throw_range(env, msg);
        return 0;
    }
    return 1;
}

/* get_string copies a string without interior NUL bytes; free the result. */
static char *get_string(napi_env env, napi_value v, const char *name) {
    napi_valuetype t;
    size_t len = 0;
    char msg[160];
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
        snprintf(msg, sizeof msg, "\"%s\" must be a string", name);
        throw_type(env, msg);
        return NULL;
    }
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
    char *s = malloc(len + 1);
    if (s == NULL) {
        napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
        return NULL;
    }
    napi_get_value_string_utf8(env, v, s, len + 1, &len);
    if (strlen(s) != len) {
        free(s);
        snprintf(msg, sizeof msg, "\"%s\" must not contain NUL characters", name);
        throw_type(env, msg);
        return NULL;
    }
    return s;
}

/* begin: create the Promise and a request for an operation on the JS thread. */
static napi_value begin(napi_env env, env_state *st, op_kind kind, napi_value keep, req **out) {
    napi_value promise;
    req *r = req_new(st, kind);
    *out = NULL;
    if (r == NULL) {
        napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
        return NULL;
    }
    if (napi_create_promise(env, &r->deferred, &promise) != napi_ok ||
        (keep && napi_create_reference(env, keep, 1, &r->keep) != napi_ok)) {
        req_free(r);
        return NULL;
    }
    *out = r;
    return promise;
}

/* started: the library accepted the call (it will call back) or refused it (reject now). */
static void started(napi_env env, req *r, kmb_status_t s) {
    env_state *st = r->st;
    if (s == KMB_OK) {
        if (st->pending++ == 0) napi_ref_threadsafe_function(env, st->tsfn);
        return;
    }
    napi_value err = make_error(env, st, s, kmb_last_error_message(), kmb_last_error_server_code(),
                                kmb_last_error_request_id());
    if (err) napi_reject_deferred(env, r->deferred, err);
    if (r->keep) napi_delete_reference(env, r->keep);
    req_free(r);
}

/* reject_closed settles a call on a disconnected client. */
static napi_value reject_closed(napi_env env, env_state *st) {
    napi_value promise;
    napi_deferred d;
    if (napi_create_promise(env, &d, &promise) != napi_ok) return NULL;
    napi_value err = make_error(env, st, KMB_ERR_CLOSED, "kimberlite: the client is disconnected", -1, 0);
    if (err) napi_reject_deferred(env, d, err);
    return promise;
}

/* ------------------------------------------------------------------------------------------ */
/* Settlement on the JS thread                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void handle_finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    client_handle *h = data;
    if (!h->closed) {
        h->closed = 1;
        list_remove(h->st, h);
        /* Nothing is pending on it (each call holds a strong reference), so closing is quick,
         * but it still must not happen on the JS thread. */
        if (spawn(close_detached_main, h->client) != 0) kmb_client_close(h->client);
    }
    env_unref(h->st);
    free(h);
}

static napi_value result_connect(napi_env env, req *r) {
    napi_value obj;
    client_handle *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->client = r->client;
    h->st = r->st;
    if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &CLIENT_TAG) != napi_ok ||
        napi_wrap(env, obj, h, handle_finalize, NULL, NULL) != napi_ok) {
        free(h);
        return NULL;
    }
    env_ref(h->st);
    list_add(h->st, h);
    r->client = NULL; /* owned by the handle now */
    return obj;
}

static napi_value result_read(napi_env env, req *r) {
    napi_value out, arr, v;
    kmb_events_t *e = r->events;
    size_t n = e ? e->count : 0;
    CHECK(napi_create_object(env, &out));
    CHECK(napi_create_array_with_length(env, n, &arr));
    for (size_t i = 0; i < n; i++) {
        napi_value ev, off, buf;
        void *ignored;
        CHECK(napi_create_object(env, &ev));
        CHECK(napi_create_bigint_uint64(env, e->offsets[i], &off));
        if (e->lengths[i] == 0) CHECK(napi_create_buffer(env, 0, &ignored, &buf));
        else CHECK(napi_create_buffer_copy(env, e->lengths[i], e->data[i], &ignored, &buf));
        CHECK(napi_set_named_property(env, ev, "offset", off));
        CHECK(napi_set_named_property(env, ev, "data", buf));
        CHECK(napi_set_element(env, arr, (uint32_t)i, ev));
    }
    CHECK(napi_set_named_property(env, out, "events", arr));
    CHECK(napi_create_bigint_uint64(env, e ? e->next_offset : 0, &v));
    CHECK(napi_set_named_property(env, out, "nextOffset", v));
    CHECK(napi_get_boolean(env, e && e->has_more, &v));
    CHECK(napi_set_named_property(env, out, "hasMore", v));
    return out;
fail:
    return NULL;
}

static napi_value result_info(napi_env env, req *r) {
    napi_value out, v, caps;
    kmb_server_info_t *i = r->info;
    if (i == NULL) return NULL;
    CHECK(napi_create_object(env, &out));
    CHECK(napi_create_string_utf8(env, i->build_version ? i->build_version : "", NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "buildVersion", v));
    CHECK(napi_create_uint32(env, i->protocol_version, &v));
    CHECK(napi_set_named_property(env, out, "protocolVersion", v));
    CHECK(napi_create_array_with_length(env, i->capability_count, &caps));
    for (size_t k = 0; k < i->capability_count; k++) {
        CHECK(napi_create_string_utf8(env, i->capabilities[k], NAPI_AUTO_LENGTH, &v));
        CHECK(napi_set_element(env, caps, (uint32_t)k, v));
    }
    CHECK(napi_set_named_property(env, out, "capabilities", caps));
    CHECK(napi_create_bigint_uint64(env, i->uptime_secs, &v));
    CHECK(napi_set_named_property(env, out, "uptimeSecs", v));
    CHECK(napi_create_string_utf8(env, i->cluster_mode == KMB_CLUSTER_MODE_CLUSTERED ? "clustered" : "standalone",
                                  NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "clusterMode", v));
    CHECK(napi_create_uint32(env, i->tenant_count, &v));
    CHECK(napi_set_named_property(env, out, "tenantCount", v));
    return out;
fail:
    return NULL;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
    (void)js_cb;
    (void)context;
    req *r = data;
    if (env == NULL) { /* the environment is being torn down */
        req_abandon(r);
        return;
    }
    env_state *st = r->st;
    napi_handle_scope scope;
    int scoped = napi_open_handle_scope(env, &scope) == napi_ok;
    napi_value value = NULL;
    int ok = r->status == KMB_OK || (r->kind == OP_CLOSE && r->status == KMB_ERR_TIMEOUT);
    if (ok) {
        switch (r->kind) {
        case OP_CONNECT: value = result_connect(env, r); break;
        case OP_CREATE_STREAM:
        case OP_APPEND:
        case OP_LENGTH: napi_create_bigint_uint64(env, r->value, &value); break;
        case OP_READ: value = result_read(env, r); break;
        case OP_INFO: value = result_info(env, r); break;
        default: value = undefined(env); break;
        }
        if (value == NULL) {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            napi_value exc = NULL;
            if (pending) napi_get_and_clear_last_exception(env, &exc);
            if (exc == NULL) exc = make_error(env, st, KMB_ERR_NO_MEMORY, "kimberlite: could not build the result", -1, 0);
            if (exc) napi_reject_deferred(env, r->deferred, exc);
        } else {
            napi_resolve_deferred(env, r->deferred, value);
        }
    } else {
        napi_value err = make_error(env, st, r->status, r->errmsg, r->server_code, r->request_id);
        if (err) napi_reject_deferred(env, r->deferred, err);
    }
    if (r->kind == OP_CONNECT && r->client != NULL) { /* resolved with nothing: do not leak it */
        if (spawn(close_detached_main, r->client) != 0) kmb_client_close(r->client);
        r->client = NULL;
    }
    if (r->keep) napi_delete_reference(env, r->keep);
    if (--st->pending == 0) napi_unref_threadsafe_function(env, st->tsfn);
    req_free(r);
    if (scoped) napi_close_handle_scope(env, scope);
}

/* ------------------------------------------------------------------------------------------ */
/* Exported functions                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* init(KimberliteError): the class native code throws and rejects with. */
static napi_value js_init(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    env_state *st = state_of(env, info, &argc, argv);
    napi_valuetype t;
    if (st == NULL) return NULL;
    if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
        return throw_type(env, "init expects the KimberliteError class");
    if (st->error_ctor) napi_delete_reference(env, st->error_ctor);
    st->error_ctor = NULL;
    napi_create_reference(env, argv[0], 1, &st->error_ctor);
    return undefined(env);
}

static napi_value js_version(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value v;
    napi_create_string_utf8(env, kmb_version(), NAPI_AUTO_LENGTH, &v);
    return v;
}

typedef enum { T_U32, T_U64, T_F64, T_I32 } opt_type;

typedef struct {
    const char *name;
    opt_type type;
    kmb_status_t (*u32)(kmb_config_t *, uint32_t);
    kmb_status_t (*u64)(kmb_config_t *, uint64_t);
    kmb_status_t (*f64)(kmb_config_t *, double);
    kmb_status_t (*i32)(kmb_config_t *, int32_t);
} option;

#define U32(n, f) {n, T_U32, f, NULL, NULL, NULL}
#define U64(n, f) {n, T_U64, NULL, f, NULL, NULL}
#define F64(n, f) {n, T_F64, NULL, NULL, f, NULL}
#define I32(n, f) {n, T_I32, NULL, NULL, NULL, f}

static const option OPTIONS[] = {
    U64("connectTimeoutMs", kmb_config_set_connect_timeout_ms),
    U64("requestTimeoutMs", kmb_config_set_request_timeout_ms),
    U32("minIdleConnsPerNode", kmb_config_set_min_idle_conns_per_node),
    U32("maxConnsPerNode", kmb_config_set_max_conns_per_node),
    U32("maxInFlightPerConn", kmb_config_set_max_in_flight_per_conn),
    U64("maxConnLifetimeMs", kmb_config_set_max_conn_lifetime_ms),
    U64("maxConnLifetimeJitterMs", kmb_config_set_max_conn_lifetime_jitter_ms),
    U64("maxConnIdleTimeMs", kmb_config_set_max_conn_idle_time_ms),
    U64("healthCheckPeriodMs", kmb_config_set_health_check_period_ms),
    U64("keepAliveMs", kmb_config_set_keep_alive_ms),
    U32("maxDialsPerNode", kmb_config_set_max_dials_per_node),
    U32("retryMaxAttempts", kmb_config_set_retry_max_attempts),
    U64("retryInitialBackoffMs", kmb_config_set_retry_initial_backoff_ms),
    U64("retryMaxBackoffMs", kmb_config_set_retry_max_backoff_ms),
    F64("retryBudgetRatio", kmb_config_set_retry_budget_ratio),
    U32("retryBudgetMinPerSec", kmb_config_set_retry_budget_min_per_sec),
    U32("maxRedirects", kmb_config_set_max_redirects),
    I32("readFrom", kmb_config_set_read_from),
    U32("appendBatchMaxEvents", kmb_config_set_append_batch_max_events),
    U32("appendBatchMaxBytes", kmb_config_set_append_batch_max_bytes),
};

/* apply_option sets one option from a number (or, for 64-bit options, a bigint). Returns the
 * library's status, or -1 after throwing a TypeError/RangeError. */
static kmb_status_t apply_option(napi_env env, kmb_config_t *cfg, const option *o, napi_value v) {
    napi_valuetype t;
    char msg[200];
    double d = 0;
    uint64_t u = 0;
    if (napi_typeof(env, v, &t) != napi_ok) return -1;
    if (o->type == T_U64 && t == napi_bigint) {
        bool lossless = false;
        if (napi_get_value_bigint_uint64(env, v, &u, &lossless) != napi_ok || !lossless) {
            snprintf(msg, sizeof msg, "option \"%s\" must be between 0 and 2^64-1", o->name);
            throw_range(env, msg);
            return -1;
        }
        return o->u64(cfg, u);
    }
    if (t != napi_number) {
        snprintf(msg, sizeof msg, "option \"%s\" must be a number", o->name);
        throw_type(env, msg);
        return -1;
    }
    napi_get_value_double(env, v, &d);
    if (d != d) {
        snprintf(msg, sizeof msg, "option \"%s\" must not be NaN", o->name);
        throw_range(env, msg);
        return -1;
    }
    if (o->type == T_F64) return o->f64(cfg, d);
    double max = o->type == T_U32 ? 4294967295.0 : o->type == T_I32 ? 2147483647.0 : 9007199254740991.0;
    double min = o->type == T_I32 ? -2147483648.0 : 0;
    if (d != (double)(int64_t)d || d < min || d > max) {
        snprintf(msg, sizeof msg, "option \"%s\" must be an integer between %.0f and %.0f", o->name, min, max);
        throw_range(env, msg);
        return -1;
    }
    switch (o->type) {
    case T_U32: return o->u32(cfg, (uint32_t)d);
    case T_I32: return o->i32(cfg, (int32_t)d);
    default: return o->u64(cfg, (uint64_t)d);
    }
}

/* connect(addresses: string[], tenantId: bigint, authToken: string, options: object) */
static napi_value js_connect(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4];
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 4) return throw_type(env, "connect expects (addresses, tenantId, authToken, options)");
    bool is_array = false;
    uint32_t n = 0;
    uint64_t tenant;
    napi_valuetype t;
    if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array)
        return throw_type(env, "\"addresses\" must be an array of \"host:port\" strings");
    napi_get_array_length(env, argv[0], &n);
    if (n == 0) return throw_range(env, "\"addresses\" must not be empty");
    if (!get_u64(env, argv[1], "tenantId", &tenant)) return NULL;
    char *token = get_string(env, argv[2], "authToken");
    if (token == NULL) return NULL;
    if (napi_typeof(env, argv[3], &t) != napi_ok || t != napi_object) {
        free(token);
        return throw_type(env, "options must be an object");
    }

    kmb_config_t *cfg = NULL;
    kmb_status_t s = kmb_config_new(&cfg);
    req *r = NULL;
    napi_value promise = begin(env, st, OP_CONNECT, NULL, &r);
    if (promise == NULL) {
        kmb_config_free(cfg);
        free(token);
        return NULL;
    }
    if (s == KMB_OK) s = kmb_config_set_tenant(cfg, tenant);
    if (s == KMB_OK) s = kmb_config_set_auth_token(cfg, token);
    free(token);
    for (uint32_t i = 0; s == KMB_OK && i < n; i++) {
        napi_value el;
        napi_get_element(env, argv[0], i, &el);
        char *addr = get_string(env, el, "addresses[i]");
        if (addr == NULL) s = -1;
        else {
            s = kmb_config_add_address(cfg, addr);
            free(addr);
        }
    }
    for (size_t i = 0; s == KMB_OK && i < sizeof OPTIONS / sizeof OPTIONS[0]; i++) {
        bool has = false;
        napi_value v;
        napi_valuetype vt;
        if (napi_has_named_property(env, argv[3], OPTIONS[i].name, &has) != napi_ok) s = -1;
        else if (has) {
            napi_get_named_property(env, argv[3], OPTIONS[i].name, &v);
            napi_typeof(env, v, &vt);
            if (vt != napi_undefined) s = apply_option(env, cfg, &OPTIONS[i], v);
        }
    }
    if (s == -1) { /* a TypeError/RangeError is pending: let it propagate */
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_reject_deferred(env, r->deferred, exc);
        kmb_config_free(cfg);
        req_free(r);
        return promise;
    }
    if (s == KMB_OK) {
        r->cfg = cfg;
        if (spawn(connect_main, r) != 0) {
            r->cfg = NULL;
            kmb_config_free(cfg);
            s = KMB_ERR_NO_MEMORY;
            napi_value err = make_error(env, st, s, "kimberlite: could not start a thread to connect", -1, 0);
            if (err) napi_reject_deferred(env, r->deferred, err);
            req_free(r);
            return promise;
        }
        started(env, r, KMB_OK);
        return promise;
    }
    kmb_config_free(cfg);
    started(env, r, s); /* rejects with the library's error, which names the option */
    return promise;
}

/* close(client): really close; resolves when every socket and library thread of it is gone. */
static napi_value js_close(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    int closed;
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 1) return throw_type(env, "close expects a client");
    client_handle *h = get_handle(env, argv[0], &closed);
    if (h == NULL) {
        if (!closed) return NULL;
        napi_value promise;
        napi_deferred d;
        napi_create_promise(env, &d, &promise);
        napi_resolve_deferred(env, d, undefined(env)); /* idempotent */
        return promise;
    }
    req *r = NULL;
    napi_value promise = begin(env, st, OP_CLOSE, argv[0], &r);
    if (promise == NULL) return NULL;
    h->closed = 1;
    list_remove(st, h);
    r->client = h->client;
    if (spawn(close_main, r) != 0) {
        kmb_status_t s = kmb_client_close(r->client); /* last resort: close here */
        r->client = NULL;
        capture(r, s);
        started(env, r, KMB_OK);
        call_js(env, NULL, NULL, r);
        return promise;
    }
    started(env, r, KMB_OK);
    return promise;
}

#define OPEN_CLIENT(argc_needed, usage)                                                        \
    env_state *st = state_of(env, info, &argc, argv);                                          \
    int closed;                                                                                \
    if (st == NULL) return NULL;                                                               \
    if (argc < (argc_needed)) return throw_type(env, usage);                                   \
    client_handle *h = get_handle(env, argv[0], &closed);                                      \
    if (h == NULL) return closed ? reject_closed(env, st) : NULL

static napi_value js_create_stream(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3];
    OPEN_CLIENT(3, "createStream expects (client, name, dataClass)");
    int32_t dc;
    napi_valuetype t;
    double d;
    if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_number) return throw_type(env, "\"dataClass\" must be a DataClass number");
    napi_get_value_double(env, argv[2], &d);
    if (!(d >= 0 && d <= 7) || d != (double)(int)d) return throw_range(env, "\"dataClass\" must be a DataClass value (0..7)");
    dc = (int32_t)d;
    char *name = get_string(env, argv[1], "name");
    if (name == NULL) return NULL;
    req *r;
    napi_value promise = begin(env, st, OP_CREATE_STREAM, argv[0], &r);
    if (promise == NULL) {
        free(name);
        return NULL;
    }
    started(env, r, kmb_create_stream_async(h->client, name, dc, on_uint64, r));
    free(name);
    return promise;
}

/* append(client, streamId: bigint, events: Uint8Array[], expectedOffset: bigint | undefined) */
static napi_value js_append(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4];
    OPEN_CLIENT(3, "append expects (client, streamId, events[, expectedOffset])");
    uint64_t stream, expected = 0;
    int has_expected = 0;
    bool is_array = false;
    uint32_t n = 0;
    if (!get_u64(env, argv[1], "streamId", &stream)) return NULL;
    if (argc >= 4) {
        napi_valuetype t;
        napi_typeof(env, argv[3], &t);
        if (t != napi_undefined && t != napi_null) {
            if (!get_u64(env, argv[3], "expectedOffset", &expected)) return NULL;
            has_expected = 1;
        }
    }
    if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array)
        return throw_type(env, "\"events\" must be an array of Buffer or Uint8Array");
    napi_get_array_length(env, argv[2], &n);
    if (n == 0) return throw_range(env, "\"events\" must not be empty");
    const uint8_t **ptrs = calloc(n, sizeof *ptrs);
    size_t *lens = calloc(n, sizeof *lens);
    if (ptrs == NULL || lens == NULL) {
        free(ptrs);
        free(lens);
        napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
        return NULL;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        napi_value el, ab;
        bool is_ta = false;
        napi_typedarray_type tt;
        size_t len = 0, off = 0;
        void *data = NULL;
        if (napi_get_element(env, argv[2], i, &el) != napi_ok || napi_is_typedarray(env, el, &is_ta) != napi_ok ||
            !is_ta || napi_get_typedarray_info(env, el, &tt, &len, &data, &ab, &off) != napi_ok ||
            (tt != napi_uint8_array && tt != napi_uint8_clamped_array)) {
            free(ptrs);
            free(lens);
            char msg[120];
            snprintf(msg, sizeof msg, "\"events[%u]\" must be a Buffer or Uint8Array", i);
            return throw_type(env, msg);
        }
        ptrs[i] = data;
        lens[i] = len;
        total += len;
    }
    if (total > KMB_MAX_BATCH_BYTES) {
        free(ptrs);
        free(lens);
        return throw_range(env, "\"events\" exceed the largest batch (16 MiB)");
    }
    req *r;
    napi_value promise = begin(env, st, OP_APPEND, argv[0], &r);
    if (promise != NULL)
        started(env, r, kmb_append_async(h->client, stream, ptrs, lens, n, has_expected ? &expected : NULL, on_uint64, r));
    free(ptrs); /* the library copied the bytes before returning */
    free(lens);
    return promise;
}

/* read(client, streamId: bigint, fromOffset: bigint, maxBytes: bigint) */
static napi_value js_read(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4];
    OPEN_CLIENT(4, "read expects (client, streamId, fromOffset, maxBytes)");
    uint64_t stream, from, max;
    if (!get_u64(env, argv[1], "streamId", &stream) || !get_u64(env, argv[2], "fromOffset", &from) ||
        !get_u64(env, argv[3], "maxBytes", &max))
        return NULL;
    req *r;
    napi_value promise = begin(env, st, OP_READ, argv[0], &r);
    if (promise != NULL) started(env, r, kmb_read_async(h->client, stream, from, max, on_events, r));
    return promise;
}

static napi_value js_stream_length(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2];
    OPEN_CLIENT(2, "streamLength expects (client, streamId)");
    uint64_t stream;
    if (!get_u64(env, argv[1], "streamId", &stream)) return NULL;
    req *r;
    napi_value promise = begin(env, st, OP_LENGTH, argv[0], &r);
    if (promise != NULL) started(env, r, kmb_stream_length_async(h->client, stream, on_uint64, r));
    return promise;
}

static napi_value js_sync(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    OPEN_CLIENT(1, "sync expects (client)");
    req *r;
    napi_value promise = begin(env, st, OP_SYNC, argv[0], &r);
    if (promise != NULL) started(env, r, kmb_sync_async(h->client, on_status, r));
    return promise;
}

static napi_value js_ping(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    OPEN_CLIENT(1, "ping expects (client)");
    req *r;
    napi_value promise = begin(env, st, OP_PING, argv[0], &r);
    if (promise != NULL) started(env, r, kmb_ping_async(h->client, on_status, r));
    return promise;
}

static napi_value js_server_info(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    OPEN_CLIENT(1, "serverInfo expects (client)");
    req *r;
    napi_value promise = begin(env, st, OP_INFO, argv[0], &r);
    if (promise != NULL) started(env, r, kmb_server_info_async(h->client, on_info, r));
    return promise;
}

/* stats(client): the client's counters as a JSON string (no network traffic, synchronous).
 * A disconnected client throws a KimberliteError with code KMB_ERR_CLOSED. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    env_state *st = state_of(env, info, &argc, argv);
    int closed;
    if (st == NULL) return NULL;
    if (argc < 1) return throw_type(env, "stats expects (client)");
    client_handle *h = get_handle(env, argv[0], &closed);
    kmb_status_t s;
    if (h == NULL) {
        if (!closed) return NULL;
        napi_value err = make_error(env, st, KMB_ERR_CLOSED, "kimberlite: the client is disconnected", -1, 0);
        if (err) napi_throw(env, err);
        return NULL;
    }
    char *json = NULL;
    s = kmb_client_stats_json(h->client, &json);
    if (s != KMB_OK) {
        napi_value err = make_error(env, st, s, kmb_last_error_message(), kmb_last_error_server_code(),
                                    kmb_last_error_request_id());
        if (err) napi_throw(env, err);
        return NULL;
    }
    napi_value v;
    napi_status ns = napi_create_string_utf8(env, json, NAPI_AUTO_LENGTH, &v);
    kmb_string_free(json);
    return ns == napi_ok ? v : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Module                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* env_cleanup: the environment is going away (process exit or a worker ending). Close every
 * client still open, so its sockets and library threads go too, then retire the threadsafe
 * function. Callbacks that still arrive find st->closing set and drop their requests. The
 * closes run on threads of their own: kmb_client_close waits for calls in flight (up to the
 * request timeout), and process.exit() must not wait for a call nobody will see. */
static void env_cleanup(void *arg) {
    env_state *st = arg;
    pthread_mutex_lock(&st->mu);
    st->closing = 1;
    pthread_mutex_unlock(&st->mu);
    for (client_handle *h = st->clients, *next; h != NULL; h = next) {
        next = h->next;
        h->closed = 1;
        h->prev = h->next = NULL;
        if (spawn(close_detached_main, h->client) != 0) kmb_client_close(h->client);
    }
    st->clients = NULL;
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    env_unref(st);
}

static napi_value module_init(napi_env env, napi_value exports) {
    env_state *st = calloc(1, sizeof *st);
    napi_value name;
    if (st == NULL) {
        napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
        return NULL;
    }
    atomic_init(&st->refs, 1);
    pthread_mutex_init(&st->mu, NULL);
    if (napi_create_string_utf8(env, "kimberlite", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, call_js, &st->tsfn) != napi_ok) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        napi_throw_error(env, NULL, "kimberlite: could not create the completion queue");
        return NULL;
    }
    napi_unref_threadsafe_function(env, st->tsfn);
    /* Registered after the threadsafe function, so it runs before Node's own teardown of it. */
    napi_add_env_cleanup_hook(env, env_cleanup, st);

    napi_property_descriptor props[] = {
        {"init", NULL, js_init, NULL, NULL, NULL, napi_enumerable, st},
        {"version", NULL, js_version, NULL, NULL, NULL, napi_enumerable, st},
        {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, st},
        {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, st},
        {"createStream", NULL, js_create_stream, NULL, NULL, NULL, napi_enumerable, st},
        {"append", NULL, js_append, NULL, NULL, NULL, napi_enumerable, st},
        {"read", NULL, js_read, NULL, NULL, NULL, napi_enumerable, st},
        {"streamLength", NULL, js_stream_length, NULL, NULL, NULL, napi_enumerable, st},
        {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, st},
        {"ping", NULL, js_ping, NULL, NULL, NULL, napi_enumerable, st},
        {"serverInfo", NULL, js_server_info, NULL, NULL, NULL, napi_enumerable, st},
        {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, st},
    };
    if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
    return exports;
}

NAPI_MODULE_INIT() { return module_init(env, exports); }
