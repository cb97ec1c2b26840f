/*
 * kimberlite.h: the C API of libkimberlite, a pooled, pipelined, failover-aware client for
 * Kimberlite clusters (wire protocol v5).
 *
 * This header is the manual. Read "Conventions" once; every function block below then states its
 * purpose, parameters, statuses, ownership, lifetime, threads and NULL behaviour.
 *
 * Conventions
 * -----------
 * Status.     Every fallible function returns a kmb_status_t: KMB_OK (0) on success, a KMB_ERR_*
 *             value otherwise. Results go through out-parameters, marked OUT. On failure an OUT
 *             pointer is left unchanged unless the block says otherwise (pointer results are set to
 *             NULL). Later versions may add status codes: treat an unknown code as a generic failure.
 * Last error. After a non-OK status, kmb_last_error_message() explains it (the server's own text
 *             included), kmb_last_error_server_code() gives the server's wire code and
 *             kmb_last_error_request_id() the request id. The storage is per calling thread, is
 *             written before the function returns, and is not cleared by a success: test the status
 *             first.
 * Handles.    kmb_config_t, kmb_client_t and kmb_subscription_t are opaque. A NULL, freed, closed or foreign handle is
 *             answered with KMB_ERR_INVALID_HANDLE (never a crash): the library never dereferences a
 *             handle, it looks it up in a table. Handles are never reused by the library, so a stale
 *             handle stays detectable for the life of the process (at a cost of about a hundred
 *             bytes per handle ever made).
 * Strings.    Inputs are NUL-terminated UTF-8, checked (KMB_ERR_INVALID_UTF8). Outputs are
 *             NUL-terminated UTF-8.
 * Bytes.      Event payloads are pointer + length; the library copies them before it returns (or,
 *             for _async functions, before the _async function returns), so the caller may reuse its
 *             buffers at once.
 * Memory.     Everything the library returns is C memory owned by the caller and released with the
 *             named kmb_*_free function, which accepts NULL. Nothing the caller keeps points into the
 *             library's managed heap. Static strings ("program lifetime") are never freed.
 * Threads.    A kmb_client_t is safe to share between any number of threads. A kmb_config_t is not:
 *             build it on one thread (or lock around it); kmb_client_connect only reads it. A
 *             blocking call alone on its connection reads its answer on the calling thread; while
 *             that connection's recent answers came within about 250 us, it first polls the socket
 *             without sleeping for up to 100 us (one such thread per CPU beyond the first), which
 *             saves waking a sleeping CPU, and then sleeps in poll(2).
 * Async.      Each network operation has an _async variant. It returns at once. If it returns KMB_OK,
 *             its callback is called exactly once, later, on a library thread (never the caller's),
 *             with the status and the result (the one exception: a waiter's own callbacks with a
 *             patience, kmb_waiter_set_patience); if it returns anything else the callback is never
 *             called. user_data is passed through untouched and must stay valid until the callback
 *             runs. A callback must not block (hand the result to your own thread or event loop);
 *             kmb_client_close() on its own client is refused there (KMB_ERR_INVALID_ARGUMENT), as
 *             it would wait for the callback itself; so is closing, from a callback of client A,
 *             a client B one of whose callbacks is itself closing A (directly or through other
 *             clients): the two closes would wait for each other. Inside the callback the thread's
 *             last error describes a non-OK status. kmb_client_close() waits for every pending
 *             callback of that client, which then reports its result or KMB_ERR_CLOSED.
 * fork().     The library runs a Go runtime that does not survive fork(). In a child process of a
 *             process that had loaded the library, every config and client function returns
 *             KMB_ERR_FORKED at once, decided before any of the runtime is touched, so it never
 *             hangs; versions, status names and the last error keep working; free functions do
 *             nothing harmful (events, strings and server info are released, configs are left
 *             alone). A pre-fork server (gunicorn, uWSGI) must not load the library in the parent:
 *             load it in each worker, after the fork (or exec() in the child).
 * Panics.     A bug inside the library is reported as KMB_ERR_INTERNAL, never an abort of the host.
 * Signals.    When the library is loaded, the Go runtime installs handlers for the synchronous
 *             signals (SIGSEGV, SIGBUS, SIGFPE...) and SIGPIPE, keeping the handlers installed
 *             before it and invoking them for signals raised in non-Go code; it installs no other
 *             handler (SIGINT, SIGTERM, SIGCHLD stay yours). A handler you install later for one of
 *             those signals must use SA_ONSTACK.
 */
#ifndef KIMBERLITE_H
#define KIMBERLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * Declaration macros
 * ------------------------------------------------------------------------------------------- */
#ifdef __cplusplus
#define KMB_BEGIN_DECL extern "C" {
#define KMB_END_DECL }
#else
#define KMB_BEGIN_DECL
#define KMB_END_DECL
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KMB_EXTERN __attribute__((visibility("default"))) extern
#define KMB_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define KMB_EXTERN extern
#define KMB_DEPRECATED(msg)
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions
 * KIMBERLITE_VERSION_NUMBER packs MAJOR*1000000 + MINOR*1000 + PATCH, so it is usable in #if.
 * KIMBERLITE_VERSION_CHECK(M, m, p) is true when this header is version M.m.p or later.
 * KIMBERLITE_SOVERSION changes only when the ABI breaks (it is the .so.N suffix).
 * Compare KIMBERLITE_VERSION_NUMBER with kmb_version_number() to assert header == library.
 * ------------------------------------------------------------------------------------------- */
#define KIMBERLITE_VERSION_MAJOR 0
#define KIMBERLITE_VERSION_MINOR 1
#define KIMBERLITE_VERSION_PATCH 0
#define KIMBERLITE_VERSION "0.1.0"
#define KIMBERLITE_SOVERSION 0
#define KIMBERLITE_VERSION_NUMBER                                                          \
    (KIMBERLITE_VERSION_MAJOR * 1000000 + KIMBERLITE_VERSION_MINOR * 1000 + KIMBERLITE_VERSION_PATCH)
#define KIMBERLITE_VERSION_CHECK(major, minor, patch)                                      \
    (KIMBERLITE_VERSION_NUMBER >= ((major) * 1000000 + (minor) * 1000 + (patch)))

KMB_BEGIN_DECL

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

/* kmb_status_t: KMB_OK (0) or one of the KMB_ERR_* codes below. */
typedef int32_t kmb_status_t;

/* kmb_config_t: an opaque, mutable client configuration (kmb_config_new). Not thread-safe. */
typedef struct kmb_config kmb_config_t;

/* kmb_client_t: an opaque connected client (kmb_client_connect). Safe to share between threads. */
typedef struct kmb_client kmb_client_t;

/* kmb_subscription_t: an opaque subscription to one stream (kmb_subscribe). See "Subscriptions". */
typedef struct kmb_subscription kmb_subscription_t;

/* kmb_events_t: events read from one stream (kmb_read). Allocated by the library as one block,
 * read-only, owned by the caller and freed with kmb_events_free(). Fields may be added at the end
 * in later versions; existing fields never move. When count is 0, data, lengths and offsets may be
 * NULL. */
typedef struct kmb_events {
    size_t count;                 /* number of events */
    const uint8_t *const *data;   /* data[i] points to lengths[i] bytes (not NUL-terminated) */
    const size_t *lengths;        /* lengths[i] is the size of event i in bytes */
    const uint64_t *offsets;      /* offsets[i] is the stream offset of event i */
    uint64_t next_offset;         /* where to read next: from_offset + count, or from_offset when
                                     nothing was returned */
    int has_more;                 /* 1 if the server reported a next offset (at least one event
                                     came back, so more may follow), else 0 */
} kmb_events_t;

/* kmb_server_info_t: what a server says about itself (kmb_server_info). Allocated by the library as
 * one block, read-only, owned by the caller, freed with kmb_server_info_free(). Fields may be added
 * at the end in later versions. */
typedef struct kmb_server_info {
    const char *build_version;          /* e.g. "0.8.0", NUL-terminated UTF-8 */
    uint32_t protocol_version;          /* 5 */
    size_t capability_count;            /* number of entries in capabilities */
    const char *const *capabilities;    /* NUL-terminated UTF-8 names; NULL when count is 0 */
    uint64_t uptime_secs;               /* seconds since the server started */
    int32_t cluster_mode;               /* KMB_CLUSTER_MODE_* */
    uint32_t tenant_count;              /* tenants registered on the server */
} kmb_server_info_t;

/* Callback types of the _async functions (see "Async" above). Borrowed arguments are valid only
 * during the call; kmb_events_t and kmb_server_info_t passed to a callback are owned by the
 * callback (free them with their kmb_*_free, NULL on error). */
typedef void (*kmb_status_callback_t)(void *user_data, kmb_status_t status);
typedef void (*kmb_uint64_callback_t)(void *user_data, kmb_status_t status, uint64_t value);
typedef void (*kmb_events_callback_t)(void *user_data, kmb_status_t status, kmb_events_t *events);
typedef void (*kmb_server_info_callback_t)(void *user_data, kmb_status_t status,
                                           kmb_server_info_t *info);
/* kmb_subscribe_async's callback: sub is owned by the callback (free it with
 * kmb_subscription_free; NULL on error). */
typedef void (*kmb_subscription_callback_t)(void *user_data, kmb_status_t status,
                                            kmb_subscription_t *sub);

/* ---------------------------------------------------------------------------------------------
 * Status codes. Values are fixed forever; new codes may be added.
 * 1..99: failures of the client itself. 100..199: the server answered with an Error; the wire code
 * is the status minus 100 (also given by kmb_last_error_server_code()).
 * ------------------------------------------------------------------------------------------- */
enum kmb_status_code {
    KMB_OK = 0,                            /* success */
    KMB_ERR_INTERNAL = 1,                  /* a bug in the library (a recovered panic); details in
                                              kmb_last_error_message() */
    KMB_ERR_NULL_ARGUMENT = 2,             /* a required pointer argument was NULL */
    KMB_ERR_INVALID_HANDLE = 3,            /* NULL, freed, closed or foreign handle, or a handle of
                                              the wrong type */
    KMB_ERR_INVALID_UTF8 = 4,              /* a string argument is not valid UTF-8 */
    KMB_ERR_INVALID_ARGUMENT = 5,          /* an argument or option is out of range (the message
                                              names it); nothing was sent */
    KMB_ERR_CLOSED = 6,                    /* the client was closed while the call was running */
    KMB_ERR_TIMEOUT = 7,                   /* the call's deadline (request timeout) passed */
    KMB_ERR_CONNECTION = 8,                /* dial, handshake, write or read on a socket failed */
    KMB_ERR_CLUSTER_UNAVAILABLE = 9,       /* no node could serve the call (no leader, all down) */
    KMB_ERR_OUTCOME_UNKNOWN = 10,          /* an append was sent but its result could not be
                                              learned: read the stream before appending again */
    KMB_ERR_FORKED = 11,                   /* called in a child process after fork() */
    KMB_ERR_PROTOCOL = 12,                 /* the server sent something that is not protocol v5 */
    KMB_ERR_NO_MEMORY = 13,                /* an allocation for a result failed */
    KMB_ERR_BUSY = 14,                     /* too many _async calls pending on this client
                                              (KMB_MAX_PENDING_ASYNC), or a next call already
                                              waiting on the same subscription; retry later */
    KMB_ERR_TLS = 15,                      /* the TLS handshake failed: the server's certificate
                                              was refused (unknown CA, expired, wrong name: the
                                              message gives the verifier's reason), the server
                                              refused this client's certificate, or it does not
                                              speak TLS; not retryable */
    KMB_ERR_SUBSCRIPTION_CLOSED = 16,      /* the subscription was closed (kmb_subscription_close,
                                              its client closed, or the server ended it for good:
                                              kmb_subscription_close_reason() says why) */

    KMB_ERR_SERVER_UNKNOWN = 100,          /* wire 0 Unknown */
    KMB_ERR_SERVER_INTERNAL = 101,         /* wire 1 InternalError */
    KMB_ERR_INVALID_REQUEST = 102,         /* wire 2 InvalidRequest */
    KMB_ERR_AUTHENTICATION_FAILED = 103,   /* wire 3 AuthenticationFailed */
    KMB_ERR_TENANT_NOT_FOUND = 104,        /* wire 4 TenantNotFound */
    KMB_ERR_STREAM_NOT_FOUND = 105,        /* wire 5 StreamNotFound */
    KMB_ERR_TABLE_NOT_FOUND = 106,         /* wire 6 TableNotFound */
    KMB_ERR_QUERY_PARSE = 107,             /* wire 7 QueryParseError */
    KMB_ERR_QUERY_EXECUTION = 108,         /* wire 8 QueryExecutionError */
    KMB_ERR_POSITION_AHEAD = 109,          /* wire 9 PositionAhead */
    KMB_ERR_STREAM_ALREADY_EXISTS = 110,   /* wire 10 StreamAlreadyExists */
    KMB_ERR_INVALID_OFFSET = 111,          /* wire 11 InvalidOffset */
    KMB_ERR_STORAGE = 112,                 /* wire 12 StorageError */
    KMB_ERR_PROJECTION_LAG = 113,          /* wire 13 ProjectionLag (retryable) */
    KMB_ERR_RATE_LIMITED = 114,            /* wire 14 RateLimited (retryable) */
    KMB_ERR_NOT_LEADER = 115,              /* wire 15 NotLeader (retryable) */
    KMB_ERR_OFFSET_MISMATCH = 116,         /* wire 16 OffsetMismatch: expected_offset != length */
    KMB_ERR_SUBSCRIPTION_NOT_FOUND = 117,  /* wire 17 SubscriptionNotFound */
    KMB_ERR_SERVER_SUBSCRIPTION_CLOSED = 118, /* wire 18 SubscriptionClosed */
    KMB_ERR_SUBSCRIPTION_BACKPRESSURE = 119, /* wire 19 SubscriptionBackpressure */
    KMB_ERR_API_KEY_NOT_FOUND = 120,       /* wire 20 ApiKeyNotFound */
    KMB_ERR_TENANT_ALREADY_EXISTS = 121,   /* wire 21 TenantAlreadyExists */
    KMB_ERR_CONSENT_NOT_FOUND = 122,       /* wire 22 ConsentNotFound */
    KMB_ERR_CONSENT_EXPIRED = 123,         /* wire 23 ConsentExpired */
    KMB_ERR_ERASURE_NOT_FOUND = 124,       /* wire 24 ErasureNotFound */
    KMB_ERR_ERASURE_ALREADY_COMPLETE = 125, /* wire 25 ErasureAlreadyComplete */
    KMB_ERR_ERASURE_EXEMPT = 126,          /* wire 26 ErasureExempt */
    KMB_ERR_BREACH_NOT_FOUND = 127,        /* wire 27 BreachNotFound */
    KMB_ERR_EXPORT_NOT_FOUND = 128,        /* wire 28 ExportNotFound */
    KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION = 129, /* wire 29 UniqueConstraintViolation */
    KMB_ERR_SERVER_OTHER = 199             /* a server code this version does not know; see
                                              kmb_last_error_server_code() */
};

/* Data classes of a stream (wire order). KMB_DATA_CLASS_NON_PHI is the user guide's name for
 * Public. */
enum kmb_data_class {
    KMB_DATA_CLASS_PHI = 0,
    KMB_DATA_CLASS_DEIDENTIFIED = 1,
    KMB_DATA_CLASS_PII = 2,
    KMB_DATA_CLASS_SENSITIVE = 3,
    KMB_DATA_CLASS_PCI = 4,
    KMB_DATA_CLASS_FINANCIAL = 5,
    KMB_DATA_CLASS_CONFIDENTIAL = 6,
    KMB_DATA_CLASS_PUBLIC = 7,
    KMB_DATA_CLASS_NON_PHI = 7
};

/* Where reads go (kmb_config_set_read_from). */
enum kmb_read_from {
    KMB_READ_FROM_LEADER = 0,      /* linearizable reads from the leader (default) */
    KMB_READ_FROM_ANY_HEALTHY = 1  /* spread over healthy nodes; a follower may lag */
};

/* kmb_server_info_t.cluster_mode values. */
enum kmb_cluster_mode {
    KMB_CLUSTER_MODE_STANDALONE = 0,
    KMB_CLUSTER_MODE_CLUSTERED = 1
};

/* Pass to kmb_config_set_keep_alive_ms() to disable TCP keep-alive. */
#define KMB_KEEP_ALIVE_DISABLED UINT64_MAX

/* Most _async calls one client accepts before answering KMB_ERR_BUSY. */
#define KMB_MAX_PENDING_ASYNC 65536

/* Largest encoded append batch (the protocol's frame limit, 16 MiB). */
#define KMB_MAX_BATCH_BYTES 16777216

/* Most events in one append (the server's default per-append limit); more is refused before
 * anything is sent. */
#define KMB_MAX_BATCH_EVENTS 100000

/* Pass to kmb_subscription_next() to wait until a batch arrives or the subscription closes. */
#define KMB_NO_TIMEOUT UINT64_MAX

/* ---------------------------------------------------------------------------------------------
 * Library
 * ------------------------------------------------------------------------------------------- */

/* kmb_version: the library's version, e.g. "0.1.0".
 * returns: a static string (program lifetime, do not free); never NULL.
 * threads: any thread; works after fork(). */
KMB_EXTERN const char *kmb_version(void);

/* kmb_version_number: the library's version packed like KIMBERLITE_VERSION_NUMBER.
 * threads: any thread; works after fork(). */
KMB_EXTERN int32_t kmb_version_number(void);

/* kmb_status_name: the name of a status code, e.g. "KMB_ERR_NOT_LEADER".
 * returns: a static string (program lifetime, do not free); "KMB_ERR_UNKNOWN" for a code this
 *          version does not know; never NULL.
 * threads: any thread; works after fork(). */
KMB_EXTERN const char *kmb_status_name(kmb_status_t status);

/* kmb_status_is_retryable: 1 if the same call may be made again with a chance of success
 * (KMB_ERR_CONNECTION, KMB_ERR_TIMEOUT, KMB_ERR_CLUSTER_UNAVAILABLE, KMB_ERR_BUSY,
 * KMB_ERR_PROJECTION_LAG, KMB_ERR_RATE_LIMITED, KMB_ERR_NOT_LEADER), else 0. KMB_ERR_OUTCOME_UNKNOWN
 * is not retryable: read the stream first.
 * threads: any thread; works after fork(). */
KMB_EXTERN int kmb_status_is_retryable(kmb_status_t status);

/* kmb_last_error_message: why this thread's last failing kmb_ call failed, with the server's text
 * when the server answered, e.g. "kimberlite: StreamNotFound: stream not found: 7 (node ...)".
 * returns: library-owned text, valid until this thread's next kmb_ call; "no error" before any
 *          failure; never NULL. Not cleared by a success: look at it only after a non-OK status.
 * threads: per thread; works after fork(). */
KMB_EXTERN const char *kmb_last_error_message(void);

/* kmb_last_error_status: the status of this thread's last failing kmb_ call (KMB_OK if none).
 * threads: per thread; works after fork(). */
KMB_EXTERN kmb_status_t kmb_last_error_status(void);

/* kmb_last_error_server_code: the server's wire error code (0..29 today) of this thread's last
 * failure, or -1 when that failure did not come from a server Error answer.
 * threads: per thread; works after fork(). */
KMB_EXTERN int32_t kmb_last_error_server_code(void);

/* kmb_last_error_request_id: the id of the last request sent for this thread's last failing call,
 * or 0 when none was sent (useful to match server logs).
 * threads: per thread; works after fork(). */
KMB_EXTERN uint64_t kmb_last_error_request_id(void);

/* ---------------------------------------------------------------------------------------------
 * Configuration                                                              @object kmb_config_t
 * Flow: kmb_config_new -> kmb_config_add_address / kmb_config_set_* -> kmb_client_connect ->
 * kmb_config_free. Each setter checks its own value at once and names the option in the last
 * error; relations between options are checked by kmb_client_connect. Setters return
 * KMB_ERR_INVALID_HANDLE for a bad cfg, KMB_ERR_INVALID_ARGUMENT for a value out of range (the
 * config is then unchanged), KMB_ERR_FORKED after fork(). Durations are milliseconds.
 * threads: a config is not thread-safe; do not use one config from two threads at once.
 * ------------------------------------------------------------------------------------------- */

/* kmb_config_new: a config holding every default (no addresses, tenant 0, no token).
 * out: *out receives the new config, owned by the caller: free it with kmb_config_free().
 *      Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (out is NULL), KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_config_new(kmb_config_t **out /* OUT */);

/* kmb_config_free: release a config. NULL is a no-op; a freed or foreign cfg is ignored. Clients
 * connected with it are unaffected (they keep a copy). Does nothing after fork(). */
KMB_EXTERN void kmb_config_free(kmb_config_t *cfg);

/* kmb_config_add_address: add a seed "host:port" (e.g. "127.0.0.1:5432", "[::1]:5432"). The client
 * connects to any seed that answers and finds the leader from there. The string is copied.
 * errors: KMB_ERR_NULL_ARGUMENT (host_port NULL), KMB_ERR_INVALID_UTF8,
 *         KMB_ERR_INVALID_ARGUMENT (not host:port). */
KMB_EXTERN kmb_status_t kmb_config_add_address(kmb_config_t *cfg, const char *host_port);

/* kmb_config_set_tenant: the tenant every request is made for. Default 0. */
KMB_EXTERN kmb_status_t kmb_config_set_tenant(kmb_config_t *cfg, uint64_t tenant_id);

/* kmb_config_set_auth_token: the token sent in every connection's handshake; "" sends none
 * (the default). The string is copied.
 * errors: KMB_ERR_NULL_ARGUMENT (token NULL), KMB_ERR_INVALID_UTF8. */
KMB_EXTERN kmb_status_t kmb_config_set_auth_token(kmb_config_t *cfg, const char *token);

/* kmb_config_set_connect_timeout_ms: bound on one dial plus handshake. Default 5000; must be > 0.
 * kmb_client_connect fails after it when no seed answers. */
KMB_EXTERN kmb_status_t kmb_config_set_connect_timeout_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_request_timeout_ms: deadline of one whole call (acquiring a connection,
 * redirects, retries). Default 30000; must be > 0. Also bounds how long kmb_client_close waits
 * for calls in flight. */
KMB_EXTERN kmb_status_t kmb_config_set_request_timeout_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_min_idle_conns_per_node: connections kept open to each node in use even when
 * idle. Default 1; 0 keeps none; must be <= max_conns_per_node (checked at connect). */
KMB_EXTERN kmb_status_t kmb_config_set_min_idle_conns_per_node(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_max_conns_per_node: cap on open connections per node. Default 4; 1 to 1024. */
KMB_EXTERN kmb_status_t kmb_config_set_max_conns_per_node(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_max_in_flight_per_conn: cap on requests in flight on one connection. Default 256;
 * 1 to 65536. */
KMB_EXTERN kmb_status_t kmb_config_set_max_in_flight_per_conn(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_max_conn_lifetime_ms: an idle connection older than this is closed. Default
 * 3600000 (1 h); 0 means no limit. */
KMB_EXTERN kmb_status_t kmb_config_set_max_conn_lifetime_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_max_conn_lifetime_jitter_ms: random extra lifetime, up to this, so connections
 * do not expire together. Default 300000 (5 min); 0 disables the jitter. */
KMB_EXTERN kmb_status_t kmb_config_set_max_conn_lifetime_jitter_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_max_conn_idle_time_ms: close connections idle this long (above the minimum).
 * Default 300000 (5 min); 0 means never. */
KMB_EXTERN kmb_status_t kmb_config_set_max_conn_idle_time_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_health_check_period_ms: how often every node is pinged in the background and the
 * leader confirmed. Default 2000; 0 disables background checks. */
KMB_EXTERN kmb_status_t kmb_config_set_health_check_period_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_keep_alive_ms: TCP keep-alive period of every socket. Default 15000; 0 uses the
 * OS default; KMB_KEEP_ALIVE_DISABLED turns keep-alive off. */
KMB_EXTERN kmb_status_t kmb_config_set_keep_alive_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_max_dials_per_node: cap on concurrent dials to one node. Default 2; 1 to 1024. */
KMB_EXTERN kmb_status_t kmb_config_set_max_dials_per_node(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_retry_max_attempts: most attempts one call makes, the first included. Default 8;
 * 1 disables retries; 1 to 1000. */
KMB_EXTERN kmb_status_t kmb_config_set_retry_max_attempts(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_retry_initial_backoff_ms: first backoff between attempts (exponential, full
 * jitter). Default 20; must be > 0 and <= retry_max_backoff (checked at connect). */
KMB_EXTERN kmb_status_t kmb_config_set_retry_initial_backoff_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_retry_max_backoff_ms: largest backoff between attempts. Default 1000. */
KMB_EXTERN kmb_status_t kmb_config_set_retry_max_backoff_ms(kmb_config_t *cfg, uint64_t ms);

/* kmb_config_set_retry_budget_ratio: retries are capped at this share of recent calls (plus
 * retry_budget_min_per_sec), so an outage cannot multiply the load. Default 0.2; 0 <= ratio <= 10
 * (NaN refused). */
KMB_EXTERN kmb_status_t kmb_config_set_retry_budget_ratio(kmb_config_t *cfg, double ratio);

/* kmb_config_set_retry_budget_min_per_sec: retries per second always allowed. Default 10. */
KMB_EXTERN kmb_status_t kmb_config_set_retry_budget_min_per_sec(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_max_redirects: NotLeader hints one attempt follows. Default 3. */
KMB_EXTERN kmb_status_t kmb_config_set_max_redirects(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_read_from: KMB_READ_FROM_LEADER (default) or KMB_READ_FROM_ANY_HEALTHY. */
KMB_EXTERN kmb_status_t kmb_config_set_read_from(kmb_config_t *cfg, int32_t read_from);

/* kmb_config_set_append_batch_max_events: most events in one request coalesced from concurrent
 * appends to one stream. Default 1024; 1 to 100000 (the server's per-append limit). */
KMB_EXTERN kmb_status_t kmb_config_set_append_batch_max_events(kmb_config_t *cfg, uint32_t n);

/* kmb_config_set_append_batch_max_bytes: most payload bytes in one coalesced request. Default
 * 4194304 (4 MiB); 1 to 16777216 (the frame limit). */
KMB_EXTERN kmb_status_t kmb_config_set_append_batch_max_bytes(kmb_config_t *cfg, uint32_t n);

/* TLS. Connections use TLS once kmb_config_set_tls(cfg, true) is called: the server's
 * certificate is verified (against the system roots unless a CA is set) and its name checked
 * (against the host of each address unless a server name is set). The connect timeout covers
 * the TLS handshake. A certificate failure is KMB_ERR_TLS and is not retried.
 * Strings: NUL-terminated UTF-8, copied (the caller keeps ownership); "" clears the setting;
 * NULL is KMB_ERR_NULL_ARGUMENT. The files are read by kmb_client_connect(), which fails with
 * KMB_ERR_INVALID_ARGUMENT naming the option when one cannot be read or parsed; a TLS option
 * set while TLS is off is refused there too.
 * threads: like every setter, not concurrently with other calls on the same config. */

/* kmb_config_set_tls: true turns TLS on, false keeps plain TCP. Default false. */
KMB_EXTERN kmb_status_t kmb_config_set_tls(kmb_config_t *cfg, bool on);

/* kmb_config_set_tls_ca_file: path of a PEM file holding the CA certificates the server's must
 * chain to, instead of the system roots. Default "" (system roots). At most one of this and
 * kmb_config_set_tls_ca_pem. */
KMB_EXTERN kmb_status_t kmb_config_set_tls_ca_file(kmb_config_t *cfg, const char *path);

/* kmb_config_set_tls_ca_pem: the same CA certificates given as PEM text. Default "". */
KMB_EXTERN kmb_status_t kmb_config_set_tls_ca_pem(kmb_config_t *cfg, const char *pem);

/* kmb_config_set_tls_cert_file: path of this client's certificate chain (PEM), for servers that
 * require mutual TLS; needs a key. Default "" (no client certificate). */
KMB_EXTERN kmb_status_t kmb_config_set_tls_cert_file(kmb_config_t *cfg, const char *path);

/* kmb_config_set_tls_cert_pem: this client's certificate chain as PEM text. Default "". */
KMB_EXTERN kmb_status_t kmb_config_set_tls_cert_pem(kmb_config_t *cfg, const char *pem);

/* kmb_config_set_tls_key_file: path of the client certificate's private key (PEM). Default "". */
KMB_EXTERN kmb_status_t kmb_config_set_tls_key_file(kmb_config_t *cfg, const char *path);

/* kmb_config_set_tls_key_pem: the client certificate's private key as PEM text. Default "". */
KMB_EXTERN kmb_status_t kmb_config_set_tls_key_pem(kmb_config_t *cfg, const char *pem);

/* kmb_config_set_tls_server_name: the name the server's certificate must carry. Default ""
 * (the host of each address dialed). */
KMB_EXTERN kmb_status_t kmb_config_set_tls_server_name(kmb_config_t *cfg, const char *name);

/* kmb_config_set_tls_insecure_skip_verify: true accepts any server certificate, which lets
 * anyone on the network path read and change the traffic: tests only. Default false. */
KMB_EXTERN kmb_status_t kmb_config_set_tls_insecure_skip_verify(kmb_config_t *cfg, bool skip);

/* ---------------------------------------------------------------------------------------------
 * Client                                                                     @object kmb_client_t
 * Every network call uses the config's request timeout as its deadline and retries what is safe
 * to retry. Errors common to all of them: KMB_ERR_INVALID_HANDLE (bad or closed client),
 * KMB_ERR_FORKED, KMB_ERR_CLOSED (closed during the call), KMB_ERR_TIMEOUT, KMB_ERR_CONNECTION,
 * KMB_ERR_CLUSTER_UNAVAILABLE, KMB_ERR_PROTOCOL, KMB_ERR_AUTHENTICATION_FAILED and the other
 * server codes, KMB_ERR_INTERNAL.
 * threads: every function here may be called concurrently on one client from any thread.
 * ------------------------------------------------------------------------------------------- */

/* kmb_client_connect: validate cfg, copy it, and connect to the first seed that answers (waiting
 * at most the connect timeout per seed).                                           CONSTRUCTOR
 * cfg: read only; may be freed or changed afterwards.
 * out: *out receives the client, owned by the caller: release it with kmb_client_close().
 *      Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (out), KMB_ERR_INVALID_HANDLE (cfg), KMB_ERR_INVALID_ARGUMENT
 *         (invalid config: the message names the option and the bound), KMB_ERR_CONNECTION /
 *         KMB_ERR_CLUSTER_UNAVAILABLE / KMB_ERR_TIMEOUT (no seed answered),
 *         KMB_ERR_AUTHENTICATION_FAILED. */
KMB_EXTERN kmb_status_t kmb_client_connect(const kmb_config_t *cfg, kmb_client_t **out /* OUT */);

/* kmb_client_close: close the client gracefully.                                   DESTRUCTOR
 * New calls on the handle fail at once with KMB_ERR_INVALID_HANDLE. Calls already running finish
 * until the request timeout, then fail with KMB_ERR_CLOSED; pending async callbacks have all been
 * called when this returns, and every socket and library thread of the client is gone. The handle
 * is dead afterwards (closing it again returns KMB_ERR_INVALID_HANDLE). NULL returns
 * KMB_ERR_INVALID_HANDLE.
 * errors: KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED, KMB_ERR_INVALID_ARGUMENT (called from one of
 *         this client's own callbacks, or from a callback of a client that this client's callbacks
 *         are closing: nothing is closed), KMB_ERR_TIMEOUT (calls in flight did not
 *         finish within the request timeout; the client is closed all the same).
 * threads: may be called while other threads use the client (they get KMB_ERR_CLOSED or
 *          KMB_ERR_INVALID_HANDLE, never a crash). */
KMB_EXTERN kmb_status_t kmb_client_close(kmb_client_t *client);

/* kmb_create_stream: create a stream of the calling tenant, or find it: the server is idempotent
 * by name, so an existing stream's id is returned. Placement is Global.
 * name: NUL-terminated UTF-8, copied. data_class: a KMB_DATA_CLASS_* value.
 * stream_id_out: receives the stream id.
 * errors: KMB_ERR_NULL_ARGUMENT (name, stream_id_out), KMB_ERR_INVALID_UTF8,
 *         KMB_ERR_INVALID_ARGUMENT (data_class out of range), common errors. */
KMB_EXTERN kmb_status_t kmb_create_stream(kmb_client_t *client, const char *name, int32_t data_class,
                                          uint64_t *stream_id_out /* OUT */);

/* kmb_append: append count events to a stream, atomically, in order.
 * events[i] points to lengths[i] bytes (events[i] may be NULL when lengths[i] is 0); both arrays
 * are read and the bytes copied before the function returns.
 * expected_offset: NULL appends at the end of the stream; otherwise the append succeeds only if
 *                  the stream's length equals *expected_offset (else KMB_ERR_OFFSET_MISMATCH).
 * first_offset_out: receives the offset of the first event (may be NULL if not wanted).
 * exactly once: an acknowledged append is in the stream once, and no retry of the library writes
 *   it twice. Every request carries an idempotency key; when a send's outcome is lost (connection
 *   or leader lost, NotLeader or RateLimited after sending, a server error) the library re-sends
 *   it with the same key, and a server announcing "idempotent-append" answers with the original
 *   result. Against a server without it (Kimberlite 0.8) the library reads the stream back and
 *   compares bytes, which cannot tell these events from identical ones another writer appended
 *   at the same offset: with such servers, make events unique where exactly-once matters.
 *   With expected_offset NULL, other writers taking the tail never cause
 *   KMB_ERR_OFFSET_MISMATCH: the library retries at the new tail until the request timeout.
 * errors: KMB_ERR_NULL_ARGUMENT (events or lengths NULL with count > 0, or events[i] NULL with
 *         lengths[i] > 0), KMB_ERR_INVALID_ARGUMENT (count 0 or over
 *         KMB_MAX_BATCH_EVENTS, or the batch exceeds KMB_MAX_BATCH_BYTES once encoded), KMB_ERR_STREAM_NOT_FOUND, KMB_ERR_OFFSET_MISMATCH,
 *         KMB_ERR_OUTCOME_UNKNOWN (the events may or may not be in the stream: read it before
 *         appending them again), common errors. */
KMB_EXTERN kmb_status_t kmb_append(kmb_client_t *client, uint64_t stream_id,
                                   const uint8_t *const *events, const size_t *lengths, size_t count,
                                   const uint64_t *expected_offset,
                                   uint64_t *first_offset_out /* OUT, optional */);

/* kmb_read: read events of one stream from from_offset, up to about max_bytes of payload (at least
 * one event when any exists; 0 selects the default, 1 MiB). Loop with out->next_offset while
 * out->has_more to read a whole stream. A stream of the client's tenant that does not exist reads
 * as empty; a stream id of another tenant is KMB_ERR_STREAM_NOT_FOUND.
 * out: *out receives a kmb_events_t the CALLER OWNS; free it with kmb_events_free(). It stays valid
 *      after the client is closed. On error *out is set to NULL.
 * errors: KMB_ERR_NULL_ARGUMENT (out), KMB_ERR_STREAM_NOT_FOUND, KMB_ERR_NO_MEMORY, common errors. */
KMB_EXTERN kmb_status_t kmb_read(kmb_client_t *client, uint64_t stream_id, uint64_t from_offset,
                                 uint64_t max_bytes, kmb_events_t **out /* OUT */);

/* kmb_events_free: release events from kmb_read or an events callback. NULL is a no-op; never
 * free the same events twice. Works after fork(). */
KMB_EXTERN void kmb_events_free(kmb_events_t *events);

/* kmb_stream_length: the number of events in a stream (its next offset).
 * errors: KMB_ERR_NULL_ARGUMENT (length_out), KMB_ERR_STREAM_NOT_FOUND, common errors. */
KMB_EXTERN kmb_status_t kmb_stream_length(kmb_client_t *client, uint64_t stream_id,
                                          uint64_t *length_out /* OUT */);

/* kmb_sync: ask the leader to flush its projections to disk (appends are already durable when
 * acknowledged). errors: common errors. */
KMB_EXTERN kmb_status_t kmb_sync(kmb_client_t *client);

/* kmb_ping: one round trip to the leader (or any node when no leader is known).
 * errors: common errors. */
KMB_EXTERN kmb_status_t kmb_ping(kmb_client_t *client);

/* kmb_server_info: what the leader (or a node) says about itself.
 * out: *out receives a kmb_server_info_t the caller owns; free it with kmb_server_info_free().
 *      Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (out), KMB_ERR_NO_MEMORY, common errors. */
KMB_EXTERN kmb_status_t kmb_server_info(kmb_client_t *client, kmb_server_info_t **out /* OUT */);

/* kmb_server_info_free: release a kmb_server_info_t. NULL is a no-op. Works after fork(). */
KMB_EXTERN void kmb_server_info_free(kmb_server_info_t *info);

/* kmb_client_stats_json: a snapshot of the client's counters as one JSON object: "nodes" (each with
 * "address", "role", "healthy", "open_conns", "idle_conns", "in_flight", "dials",
 * "dial_failures"; "role" is "leader", "follower", "unknown" or "down"), "leader", "leader_view",
 * "operations", "errors", "retries", "redirects", "leader_changes", "latency_p50_ns",
 * "latency_p90_ns", "latency_p99_ns", "latency_max_ns", "subscriptions" (open now),
 * "resubscribes" (times one moved to another connection or node), "async_waits" (calls that
 * waited on the calling thread with kmb_client_set_async_patience_us) and "async_wait_misses"
 * (of them, those that went on in the background).
 * json_out: *json_out receives a NUL-terminated UTF-8 string the caller owns; free it with
 *           kmb_string_free(). Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (json_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_NO_MEMORY,
 *         KMB_ERR_FORKED. No network traffic. */
KMB_EXTERN kmb_status_t kmb_client_stats_json(kmb_client_t *client, char **json_out /* OUT */);

/* kmb_string_free: release a string returned by the library (kmb_client_stats_json,
 * kmb_client_metrics_text). NULL is a no-op. Works after fork(). */
KMB_EXTERN void kmb_string_free(char *s);

/* ---------------------------------------------------------------------------------------------
 * Logs, events and metrics. The client logs what an operator needs (dial failures, nodes down and
 * up, leader changes with their view, appends whose outcome is unknown; health checks, retries,
 * redirects and connections at debug level), rate-limited per kind and node so that a node that
 * stays down yields a few lines a minute. Records and events are delivered by one library thread,
 * one call at a time and in the order they happened; the calls that caused them never wait for
 * the callbacks. A callback must not block: while one runs, later records queue up, and past 4096
 * queued they are dropped (counted in kimberlite_client_observer_dropped_total). A callback may
 * call any kmb_ function except kmb_client_close (refused with KMB_ERR_INVALID_ARGUMENT there).
 * After kmb_client_close returns, the client's callbacks are not called again.
 * ------------------------------------------------------------------------------------------- */

/* Log levels: the values of Go's log/slog, so a level between two of them is meaningful. */
#define KMB_LOG_DEBUG (-4)
#define KMB_LOG_INFO 0
#define KMB_LOG_WARN 4
#define KMB_LOG_ERROR 8

/* kmb_log_callback_t: one log record. level is a KMB_LOG_* value; message is one line of UTF-8,
 * "kimberlite: <what> key=value ...", NUL-terminated and valid only during the call. */
typedef void (*kmb_log_callback_t)(void *user_data, int32_t level, const char *message);

/* kmb_config_set_log_callback: send the log records at min_level and above to cb, called on a
 * library thread with user_data (which must stay valid until every client connected with this
 * config is closed). cb NULL turns logging off (the default: the library logs nothing).
 * errors: KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_config_set_log_callback(kmb_config_t *cfg, int32_t min_level,
                                                    kmb_log_callback_t cb, void *user_data);

/* Event kinds given to a kmb_event_callback_t. Later versions may add kinds: ignore unknown ones. */
#define KMB_EVENT_LEADER_CHANGED 1 /* node: the new leader; previous: the old one or ""; view */
#define KMB_EVENT_NODE_DOWN 2      /* node failed a check, a dial or lost every connection; reason */
#define KMB_EVENT_NODE_UP 3        /* node answered again (or for the first time) */
#define KMB_EVENT_CONN_OPENED 4    /* a connection to node passed its handshake */
#define KMB_EVENT_CONN_CLOSED 5    /* a connection to node closed; reason */

/* kmb_event_callback_t: one event. node, previous and reason are NUL-terminated UTF-8 ("" when
 * they do not apply), valid only during the call; view is the new leader's view (raft term) for
 * KMB_EVENT_LEADER_CHANGED and 0 otherwise. */
typedef void (*kmb_event_callback_t)(void *user_data, int32_t kind, const char *node,
                                     const char *previous, uint64_t view, const char *reason);

/* kmb_config_set_event_callback: send the client's events to cb, called on a library thread
 * with user_data (valid until every client connected with this config is closed). cb NULL turns
 * events off (the default). errors: KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_config_set_event_callback(kmb_config_t *cfg, kmb_event_callback_t cb,
                                                      void *user_data);

/* kmb_event_kind_name: "leader_changed", "node_down", "node_up", "conn_opened", "conn_closed",
 * or "unknown". Static text (program lifetime, do not free); never NULL. Works after fork(). */
KMB_EXTERN const char *kmb_event_kind_name(int32_t kind);

/* kmb_client_metrics_text: the client's counters, per-node gauges and per-operation latency
 * histograms in the Prometheus text exposition format (0.0.4), ready to serve on /metrics.
 * Metric names start with "kimberlite_client_".
 * text_out: *text_out receives a NUL-terminated UTF-8 string the caller owns; free it with
 *           kmb_string_free(). Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (text_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_NO_MEMORY,
 *         KMB_ERR_FORKED. No network traffic. */
KMB_EXTERN kmb_status_t kmb_client_metrics_text(kmb_client_t *client, char **text_out /* OUT */);

/* ---------------------------------------------------------------------------------------------
 * Async variants (see "Async" in Conventions). Arguments are checked, and event bytes and strings
 * copied, before the function returns; a non-OK return means the callback will not be called.
 * Extra errors: KMB_ERR_NULL_ARGUMENT (callback NULL), KMB_ERR_BUSY.
 * threads: any thread; callbacks run on library threads, possibly several at once (or, with a
 * patience, on the calling thread before the function returns: kmb_waiter_set_patience,
 * kmb_client_set_async_patience_us).
 * ------------------------------------------------------------------------------------------- */

/* kmb_create_stream_async: as kmb_create_stream; cb(user_data, status, stream_id). */
KMB_EXTERN kmb_status_t kmb_create_stream_async(kmb_client_t *client, const char *name,
                                                int32_t data_class, kmb_uint64_callback_t cb,
                                                void *user_data);

/* kmb_append_async: as kmb_append; cb(user_data, status, first_offset). expected_offset is read
 * before the function returns. */
KMB_EXTERN kmb_status_t kmb_append_async(kmb_client_t *client, uint64_t stream_id,
                                         const uint8_t *const *events, const size_t *lengths,
                                         size_t count, const uint64_t *expected_offset,
                                         kmb_uint64_callback_t cb, void *user_data);

/* kmb_read_async: as kmb_read; cb(user_data, status, events): the callback owns events (free
 * with kmb_events_free; NULL on error). */
KMB_EXTERN kmb_status_t kmb_read_async(kmb_client_t *client, uint64_t stream_id,
                                       uint64_t from_offset, uint64_t max_bytes,
                                       kmb_events_callback_t cb, void *user_data);

/* kmb_stream_length_async: as kmb_stream_length; cb(user_data, status, length). */
KMB_EXTERN kmb_status_t kmb_stream_length_async(kmb_client_t *client, uint64_t stream_id,
                                                kmb_uint64_callback_t cb, void *user_data);

/* kmb_sync_async: as kmb_sync; cb(user_data, status). */
KMB_EXTERN kmb_status_t kmb_sync_async(kmb_client_t *client, kmb_status_callback_t cb,
                                       void *user_data);

/* kmb_ping_async: as kmb_ping; cb(user_data, status). */
KMB_EXTERN kmb_status_t kmb_ping_async(kmb_client_t *client, kmb_status_callback_t cb,
                                       void *user_data);

/* kmb_server_info_async: as kmb_server_info; cb(user_data, status, info): the callback owns info
 * (free with kmb_server_info_free; NULL on error). */
KMB_EXTERN kmb_status_t kmb_server_info_async(kmb_client_t *client, kmb_server_info_callback_t cb,
                                              void *user_data);

/* kmb_client_set_async_patience_us: for an event loop that awaits one call at a time. With a
 * patience, a kmb_read_async, kmb_stream_length_async, kmb_ping_async or kmb_server_info_async
 * made while no other _async call of this client is in flight first waits for its answer on the
 * calling thread, for up to patience_us microseconds: when the answer comes in that time, cb
 * runs on the calling thread before the _async function returns, and the call costs one
 * wake-up instead of the hand-offs between threads of a call run in the background (about
 * 2.5x faster on loopback). A call that takes longer goes on in the background (a read is sent
 * again), and the next lone calls skip the wait, twice as many after each further miss (up to
 * 1024), so a distant or slow server turns the wait off by itself. Appends, creates, syncs and
 * subscriptions never wait, nor do calls made while others are in flight. 0 (the default): off,
 * so that the calling thread is never held; the Node binding (eventLoopWaitMicros) and Python's
 * kimberlite.aio (event_loop_wait_us) keep that default and pass what their user asks for, for
 * code that awaits one call at a time against a near server (300 suits loopback). Applies from
 * the next call; any thread.
 * errors: KMB_ERR_INVALID_ARGUMENT (over KMB_MAX_ASYNC_PATIENCE_US), KMB_ERR_INVALID_HANDLE,
 *         KMB_ERR_FORKED. */
#define KMB_MAX_ASYNC_PATIENCE_US 1000u
KMB_EXTERN kmb_status_t kmb_client_set_async_patience_us(kmb_client_t *client, uint32_t patience_us);

/* kmb_client_loop_fd: for an event loop that watches descriptors (libuv's uv_poll, asyncio's
 * add_reader, epoll). Once kmb_client_loop_ready has been called (a caller that could not start
 * watching the descriptor just never calls it, and loses nothing), a kmb_read_async,
 * kmb_stream_length_async, kmb_ping_async or kmb_server_info_async that finds an idle
 * connection sends its request from the calling thread and returns at once; *fd, a descriptor
 * of the client's, becomes readable when such a call's answer may have arrived, and
 * kmb_client_loop_ready, called then on the loop's thread, reads it and runs cb there before it
 * returns. Nothing waits: the calling thread is never held, and a call costs one wake-up of the
 * loop, as a socket of the loop's own would. Calls that find no idle connection, that another
 * call or a subscription shares a connection with, that must be retried (a leader change, a
 * broken connection) or that reach their deadline go on in the background as before, their cb
 * on a library thread; so do all other calls (appends, creates, syncs). A patience
 * (kmb_client_set_async_patience_us) that applies comes first.
 * The stats count "loop_calls" and, of them, "loop_settled" (answered in kmb_client_loop_ready).
 * Watch *fd for readability until kmb_client_close, and stop before it: close hands the calls
 * still held to the background and closes *fd. Every call returns the same fd.
 * errors: KMB_ERR_NULL_ARGUMENT, KMB_ERR_INVALID_HANDLE, KMB_ERR_INTERNAL (no descriptor),
 *         KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_client_loop_fd(kmb_client_t *client, int *fd);

/* kmb_client_loop_ready: read the answers that have arrived for calls held by the client's event
 * loop (kmb_client_loop_fd) and run their callbacks on the calling thread, before it returns.
 * It never waits; call it on the loop's thread whenever the fd is readable (a call with
 * nothing ready does nothing).
 * errors: KMB_ERR_INVALID_ARGUMENT (no kmb_client_loop_fd yet), KMB_ERR_INVALID_HANDLE,
 *         KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_client_loop_ready(kmb_client_t *client);

/* kmb_client_loop_idle: call it on the loop's thread just before the loop waits with nothing
 * else to do (libuv: from a uv_prepare callback when uv_backend_timeout is not 0), with fd the
 * descriptor the loop waits on, the one it watches the client's fd through (uv_backend_fd).
 * While the client's event loop holds a call whose answer is due soon (sent less than 250 us
 * ago), it polls fd without sleeping and returns as soon as fd is readable, so that the loop's
 * wait finds the answer at once instead of putting the thread to sleep and paying its wake-up;
 * otherwise it returns at once. It spins for at most 100 us and never takes the loop's other
 * work: anything else ready on fd ends it too. It spins only while answers have come within
 * 250 us on average and fewer threads spin than the process may use CPUs beyond one, the rules
 * of the blocking calls' own wait. The stats count "loop_idle_spins" (the calls that spun).
 * errors: KMB_ERR_INVALID_ARGUMENT (fd < 0, or no kmb_client_loop_fd yet),
 *         KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_client_loop_idle(kmb_client_t *client, int fd);

/* ---------------------------------------------------------------------------------------------
 * Subscriptions                                                        @object kmb_subscription_t
 * A subscription follows one stream: the server pushes committed events as soon as they commit,
 * in offset order, and kmb_subscription_next() hands them over in batches. It belongs to the
 * client, not to a connection: when a connection or node is lost, or the leader changes, the
 * library subscribes again on a healthy node from the offset after the last event it delivered,
 * so the application sees every event once, in order, with no gap and no error.
 * Flow control is by credits: the server sends at most as many events as it holds credits for,
 * one credit per event. The library grants more whenever the balance falls below low_water, after
 * the application took events with kmb_subscription_next(), so a consumer that stops reading
 * stops the pushes and memory stays bounded by the credit window at both ends.
 * A subscription is closed by kmb_subscription_close(), by closing its client, or by the server
 * for good (the stream was deleted...); next then returns KMB_ERR_SUBSCRIPTION_CLOSED and
 * kmb_subscription_close_reason() says why. The handle stays valid until kmb_subscription_free();
 * afterwards (and for NULL or a foreign pointer) every function returns KMB_ERR_INVALID_HANDLE.
 * threads: every function may be called from any thread; only one next call (sync or async) runs
 * at a time per subscription, a second one returns KMB_ERR_BUSY. kmb_subscription_close() from
 * another thread wakes a waiting next.
 * ------------------------------------------------------------------------------------------- */

/* kmb_subscribe: subscribe to a stream from from_offset.                           CONSTRUCTOR
 * credits: the credit window, events the server may push ahead of next (0: the default, 128).
 * low_water: grant more credits when the balance falls below this (0: max(credits / 4, 1)).
 * refill: credits granted per refill (0: back up to the window).
 * The library checks the three against each other (KMB_ERR_INVALID_ARGUMENT names the bound).
 * out: *out receives the subscription, owned by the caller: release it with
 *      kmb_subscription_free(). Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (out), KMB_ERR_INVALID_ARGUMENT, KMB_ERR_STREAM_NOT_FOUND (a stream
 *         of another tenant), common errors. A stream of the client's tenant that does not exist
 *         yet is followed from from_offset as it fills. */
KMB_EXTERN kmb_status_t kmb_subscribe(kmb_client_t *client, uint64_t stream_id, uint64_t from_offset,
                                      uint32_t credits, uint32_t low_water, uint32_t refill,
                                      kmb_subscription_t **out /* OUT */);

/* kmb_subscribe_async: as kmb_subscribe; cb(user_data, status, sub): the callback owns sub (free
 * with kmb_subscription_free; NULL on error). Extra errors and rules as for the other _async
 * functions. */
KMB_EXTERN kmb_status_t kmb_subscribe_async(kmb_client_t *client, uint64_t stream_id,
                                            uint64_t from_offset, uint32_t credits,
                                            uint32_t low_water, uint32_t refill,
                                            kmb_subscription_callback_t cb, void *user_data);

/* kmb_subscription_next: the next batch of events: at least one, in offset order, offsets
 * consecutive, starting at kmb_subscription_next_offset(). Waits up to timeout_ms for one
 * (KMB_NO_TIMEOUT: until a batch arrives or the subscription closes).
 * out: *out receives a kmb_events_t the CALLER OWNS (free it with kmb_events_free()); offsets[i]
 *      is each event's stream offset, next_offset the offset after the batch, has_more is 1.
 *      Set to NULL on error.
 * errors: KMB_ERR_TIMEOUT (nothing arrived in time: the subscription stays usable, call again),
 *         KMB_ERR_SUBSCRIPTION_CLOSED (closed: see kmb_subscription_close_reason()),
 *         KMB_ERR_CLOSED (its client was closed), KMB_ERR_BUSY (another next is waiting),
 *         KMB_ERR_NULL_ARGUMENT (out), KMB_ERR_INVALID_HANDLE, KMB_ERR_NO_MEMORY,
 *         KMB_ERR_FORKED. Lost connections and failovers are not errors: the library
 *         resubscribes and keeps waiting. */
KMB_EXTERN kmb_status_t kmb_subscription_next(kmb_subscription_t *sub, uint64_t timeout_ms,
                                              kmb_events_t **out /* OUT */);

/* kmb_subscription_next_async: as kmb_subscription_next; cb(user_data, status, events): the
 * callback owns events (free with kmb_events_free; NULL on error). The subscription is free for
 * the next call when the callback starts, so the callback may call this function again. The
 * pending call counts as a call of the subscription's client: kmb_client_close() waits for its
 * callback (closing the client closes the subscription, so it comes at once).
 * Extra errors: KMB_ERR_NULL_ARGUMENT (cb), KMB_ERR_BUSY; the callback is not called then. */
KMB_EXTERN kmb_status_t kmb_subscription_next_async(kmb_subscription_t *sub, uint64_t timeout_ms,
                                                    kmb_events_callback_t cb, void *user_data);

/* kmb_subscription_grant_credits: grant the server credits for more events now, beyond the
 * automatic refill (to read faster than the window allows).
 * errors: KMB_ERR_INVALID_ARGUMENT (out of the library's bounds), KMB_ERR_SUBSCRIPTION_CLOSED,
 *         KMB_ERR_INVALID_HANDLE, common errors. */
KMB_EXTERN kmb_status_t kmb_subscription_grant_credits(kmb_subscription_t *sub, uint32_t credits);

/* kmb_subscription_id: the server's id of the current underlying subscription (it changes when
 * the library resubscribes). No network traffic.
 * errors: KMB_ERR_NULL_ARGUMENT (id_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_subscription_id(kmb_subscription_t *sub, uint64_t *id_out /* OUT */);

/* kmb_subscription_credits: the credits the server currently holds for this subscription. No
 * network traffic.
 * errors: KMB_ERR_NULL_ARGUMENT (credits_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_subscription_credits(kmb_subscription_t *sub,
                                                 uint32_t *credits_out /* OUT */);

/* kmb_subscription_next_offset: the offset after the last event next delivered (from_offset
 * before the first batch): where a new subscription would resume. No network traffic.
 * errors: KMB_ERR_NULL_ARGUMENT (offset_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_subscription_next_offset(kmb_subscription_t *sub,
                                                     uint64_t *offset_out /* OUT */);

/* kmb_subscription_close_reason: why the subscription closed: "" while it is open, else the
 * protocol's name ("ClientCancelled" after kmb_subscription_close, "ClientClosed" after its
 * client was closed, "StreamDeleted", "StreamNotFound", ...; treat unknown names as generic).
 * reason_out: *reason_out receives a NUL-terminated UTF-8 string the caller owns; free it with
 *             kmb_string_free(). Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (reason_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_NO_MEMORY,
 *         KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_subscription_close_reason(kmb_subscription_t *sub,
                                                      char **reason_out /* OUT */);

/* kmb_subscription_node: the "host:port" of the node serving the subscription now, or "" while
 * the library resubscribes (and once closed). No network traffic.
 * node_out: *node_out receives a NUL-terminated UTF-8 string the caller owns; free it with
 *           kmb_string_free(). Set to NULL on error.
 * errors: KMB_ERR_NULL_ARGUMENT (node_out), KMB_ERR_INVALID_HANDLE, KMB_ERR_NO_MEMORY,
 *         KMB_ERR_FORKED. */
KMB_EXTERN kmb_status_t kmb_subscription_node(kmb_subscription_t *sub, char **node_out /* OUT */);

/* kmb_subscription_close: unsubscribe. Idempotent (closing a closed subscription returns KMB_OK).
 * A next waiting on another thread returns KMB_ERR_SUBSCRIPTION_CLOSED; events not yet handed
 * over are dropped. The handle stays valid (for close_reason, next_offset...) until
 * kmb_subscription_free().
 * errors: KMB_ERR_INVALID_HANDLE (NULL or freed), KMB_ERR_FORKED; a failure to tell the server
 *         (the subscription is closed here all the same, and the server drops it with the
 *         connection). */
KMB_EXTERN kmb_status_t kmb_subscription_close(kmb_subscription_t *sub);

/* kmb_subscription_free: close the subscription if it is open and release the handle.  DESTRUCTOR
 * Returns at once: telling the server goes on in the background. NULL is a no-op; a freed or
 * foreign handle is ignored. It does not wait for a pending kmb_subscription_next_async: that
 * callback still comes (with KMB_ERR_SUBSCRIPTION_CLOSED), so its user_data must stay valid until
 * then. May be called from any callback. Does nothing after fork(). */
KMB_EXTERN void kmb_subscription_free(kmb_subscription_t *sub);

/* ---------------------------------------------------------------------------------------------
 * Waiters: wait for an _async call in slices, so a blocking caller can look at other things
 * (a language runtime's pending signals: Ctrl-C) between slices without losing track of the
 * call. Pass one of the kmb_waiter_*_callback functions as the callback and the waiter as
 * user_data; the callback stores the result and the error in the waiter instead of calling you.
 *
 *   kmb_waiter_t *w; kmb_waiter_new(&w);
 *   if (kmb_ping_async(c, kmb_waiter_status_callback, w) == KMB_OK) {
 *       while (!kmb_waiter_wait(w, 100)) { if (interrupted) ...; }
 *       status = kmb_waiter_finish(w, NULL, NULL);   (and w is ready for the next call)
 *   }
 *
 * A waiter serves one call at a time. After an interrupted wait the call goes on; wait again
 * later (from any thread) for its result. Not for concurrent waits from several threads.
 *
 * With a patience (kmb_waiter_set_patience), the _async call first runs on the calling thread,
 * as the blocking call does: most calls have completed when it returns (kmb_waiter_wait(w, 0)
 * is then 1), at the cost of one wake-up when the answer arrives instead of the hand-offs
 * between threads of a call run in the background.
 * ------------------------------------------------------------------------------------------- */

/* kmb_waiter_t: an opaque completion slot (kmb_waiter_new). */
typedef struct kmb_waiter kmb_waiter_t;

/* kmb_waiter_new: a waiter with nothing pending. errors: KMB_ERR_NULL_ARGUMENT, KMB_ERR_NO_MEMORY. */
KMB_EXTERN kmb_status_t kmb_waiter_new(kmb_waiter_t **out /* OUT */);

/* kmb_waiter_free: release a waiter and any result nobody took. Only when no call is pending on
 * it (kmb_waiter_wait returned 1, or it was never used). NULL is a no-op. */
KMB_EXTERN void kmb_waiter_free(kmb_waiter_t *w);

/* kmb_waiter_reset: make a waiter ready for the next call, releasing any result nobody took.
 * Only when no call is pending on it. NULL is a no-op. */
KMB_EXTERN void kmb_waiter_reset(kmb_waiter_t *w);

/* kmb_waiter_set_patience: let _async calls given this waiter run on the calling thread for up
 * to patience_ms (at most KMB_WAITER_MAX_PATIENCE_MS) before they return. A call that completes
 * within it has completed when the _async function returns; one that does not (or whose wait is
 * interrupted by a signal delivered to the calling thread, such as SIGINT) returns then and goes
 * on in the background from where it was, exactly as if it had been started there: an append
 * keeps its idempotency key, so it is never written twice. 0 (the default): return at once.
 * Applies to kmb_create_stream_async, kmb_append_async, kmb_read_async,
 * kmb_stream_length_async, kmb_sync_async, kmb_ping_async and kmb_server_info_async with a
 * kmb_waiter_*_callback; kept across calls and resets. NULL is a no-op. */
#define KMB_WAITER_MAX_PATIENCE_MS 10000u
KMB_EXTERN void kmb_waiter_set_patience(kmb_waiter_t *w, uint32_t patience_ms);

/* kmb_waiter_wait: wait up to timeout_ms for the call to complete; 1 when it has, 0 when the
 * time passed first (the call goes on). A timeout_ms of 0 only looks, without waiting. NULL
 * returns 1. */
KMB_EXTERN int kmb_waiter_wait(kmb_waiter_t *w, uint32_t timeout_ms);

/* kmb_waiter_status: the completed call's status. kmb_waiter_value: its number (the first
 * offset of an append, a stream id or length). */
KMB_EXTERN kmb_status_t kmb_waiter_status(const kmb_waiter_t *w);
KMB_EXTERN uint64_t kmb_waiter_value(const kmb_waiter_t *w);

/* kmb_waiter_take_result: the completed call's kmb_events_t * or kmb_server_info_t * (NULL for
 * other calls or on error); the caller owns it from now on and frees it with its kmb_*_free. */
KMB_EXTERN void *kmb_waiter_take_result(kmb_waiter_t *w);

/* kmb_waiter_record_error: make the completed call's error (status, message, server code,
 * request id) this thread's last error, and return its status (KMB_OK if it succeeded). */
KMB_EXTERN kmb_status_t kmb_waiter_record_error(const kmb_waiter_t *w);

/* kmb_waiter_finish: all of the above in one call: record the error, give the number and the
 * result (each out-parameter may be NULL; a result not taken is freed), reset the waiter for
 * the next call, and return the call's status. */
KMB_EXTERN kmb_status_t kmb_waiter_finish(kmb_waiter_t *w, uint64_t *value_out /* OUT */,
                                          void **result_out /* OUT */);

/* Callbacks to pass to the _async functions with a waiter as user_data. */
KMB_EXTERN void kmb_waiter_status_callback(void *waiter, kmb_status_t status);
KMB_EXTERN void kmb_waiter_uint64_callback(void *waiter, kmb_status_t status, uint64_t value);
KMB_EXTERN void kmb_waiter_events_callback(void *waiter, kmb_status_t status, kmb_events_t *events);
KMB_EXTERN void kmb_waiter_server_info_callback(void *waiter, kmb_status_t status,
                                                kmb_server_info_t *info);

KMB_END_DECL

#endif /* KIMBERLITE_H */
