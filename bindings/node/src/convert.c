/* convert.c: Conversions between JS values and C: argument checks, errors, client handles, Promises.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
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
