/* calls.c: The exported client calls: each checks its arguments and starts the library's _async call.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
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

/* get_patience reads options.eventLoopWaitMicros (checked by lib/options.js; absent: 0) for
 * kmb_client_set_async_patience_us. Returns KMB_OK, or -1 after throwing a TypeError. */
static kmb_status_t get_patience(napi_env env, napi_value options, uint32_t *out) {
    bool has = false;
    napi_value v;
    napi_valuetype t;
    *out = 0;
    if (napi_has_named_property(env, options, "eventLoopWaitMicros", &has) != napi_ok) return -1;
    if (!has) return KMB_OK;
    napi_get_named_property(env, options, "eventLoopWaitMicros", &v);
    if (napi_typeof(env, v, &t) != napi_ok) return -1;
    if (t == napi_undefined) return KMB_OK;
    if (t != napi_number || napi_get_value_uint32(env, v, out) != napi_ok) {
        throw_type(env, "option \"eventLoopWaitMicros\" must be a number");
        return -1;
    }
    return KMB_OK;
}

/* connect(addresses: string[], tenantId: bigint, authToken: string, options: object[, observer]) */
static napi_value js_connect(napi_env env, napi_callback_info info) {
    size_t argc = 5;
    napi_value argv[5];
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
    if (s == KMB_OK) s = get_patience(env, argv[3], &r->patience_us);
    if (s == KMB_OK && argc >= 5) s = attach_observer(env, cfg, argv[4]);
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
    loop_detach(h);
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

/* loop_wait gives the quick call about to start the client's eventLoopWaitMicros while no call
 * of this environment has an unsettled Promise, else none: a call started while earlier ones
 * are pending, as in Promise.all, must not wait for its answer before the next one is sent
 * (an earlier call that ended on the loop is still pending until its Promise settles). The
 * library is told only when that changes. It also arms the loop's next idle poll (loop.c), which
 * only such a call can use. */
static void loop_wait(client_handle *h) {
    h->idle_armed = 1;
    uint32_t want = h->st->pending == 0 ? h->patience_us : 0;
    if (want != h->lib_patience && kmb_client_set_async_patience_us(h->client, want) == KMB_OK)
        h->lib_patience = want;
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
    if (promise != NULL) {
        loop_wait(h);
        started(env, r, kmb_read_async(h->client, stream, from, max, on_events, r));
    }
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
    if (promise != NULL) {
        loop_wait(h);
        started(env, r, kmb_stream_length_async(h->client, stream, on_uint64, r));
    }
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
    if (promise != NULL) {
        loop_wait(h);
        started(env, r, kmb_ping_async(h->client, on_status, r));
    }
    return promise;
}

static napi_value js_server_info(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    OPEN_CLIENT(1, "serverInfo expects (client)");
    req *r;
    napi_value promise = begin(env, st, OP_INFO, argv[0], &r);
    if (promise != NULL) {
        loop_wait(h);
        started(env, r, kmb_server_info_async(h->client, on_info, r));
    }
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
