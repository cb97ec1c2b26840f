/* subscribe.c: Subscriptions: subscribe, take the next batch, read the state, grant credits,
 * close. Every call that may wait on the network runs as the library's _async variant (subscribe,
 * next) or on a thread of our own (grant, close), and settles through the same completion queue as
 * the other calls. A pending next is one request: lib/subscription.js asks for the next batch only
 * when its consumer has taken the last one, so a slow consumer leaves events with the library,
 * whose credit window bounds them.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static); settle.c builds subscribe's result with result_subscribe. */
/* ------------------------------------------------------------------------------------------ */
/* Subscriptions                                                                               */
/* ------------------------------------------------------------------------------------------ */

static const napi_type_tag SUBSCRIPTION_TAG = {0x6b696d6265726c69ULL, 0x74652d7375627363ULL};

/* sub_handle: the native side of a subscription object; freed by its finalizer. */
typedef struct {
    kmb_subscription_t *sub;
    env_state *st;
} sub_handle;

static void on_subscription(void *ud, kmb_status_t status, kmb_subscription_t *sub) {
    req *r = ud;
    capture(r, status);
    r->sub = sub;
    dispatch(r);
}

/* kmb_subscription_free returns at once (the unsubscribe goes on in the library). */
static void sub_finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    sub_handle *s = data;
    kmb_subscription_free(s->sub);
    env_unref(s->st);
    free(s);
}

/* result_subscribe wraps the subscription of a finished OP_SUBSCRIBE (JS thread). */
static napi_value result_subscribe(napi_env env, req *r) {
    napi_value obj;
    sub_handle *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->sub = r->sub;
    s->st = r->st;
    if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &SUBSCRIPTION_TAG) != napi_ok ||
        napi_wrap(env, obj, s, sub_finalize, NULL, NULL) != napi_ok) {
        free(s);
        return NULL;
    }
    env_ref(s->st);
    r->sub = NULL; /* owned by the object now */
    return obj;
}

/* get_sub unwraps a subscription object; a TypeError is thrown (and NULL returned) otherwise. */
static sub_handle *get_sub(napi_env env, napi_value v) {
    napi_valuetype t;
    bool tagged = false;
    void *p = NULL;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
        napi_check_object_type_tag(env, v, &SUBSCRIPTION_TAG, &tagged) != napi_ok || !tagged ||
        napi_unwrap(env, v, &p) != napi_ok || p == NULL) {
        throw_type(env, "the subscription handle is not a Kimberlite subscription");
        return NULL;
    }
    return p;
}

/* get_u32 reads an integer number in 0..2^32-1. */
static int get_u32(napi_env env, napi_value v, const char *name, uint32_t *out) {
    napi_valuetype t;
    double d;
    char msg[160];
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
        snprintf(msg, sizeof msg, "\"%s\" must be a number", name);
        throw_type(env, msg);
        return 0;
    }
    napi_get_value_double(env, v, &d);
    if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
        snprintf(msg, sizeof msg, "\"%s\" must be an integer between 0 and 4294967295", name);
        throw_range(env, msg);
        return 0;
    }
    *out = (uint32_t)d;
    return 1;
}

static napi_value throw_status(napi_env env, env_state *st, kmb_status_t s) {
    napi_value err = make_error(env, st, s, kmb_last_error_message(), kmb_last_error_server_code(),
                                kmb_last_error_request_id());
    if (err) napi_throw(env, err);
    return NULL;
}

/* subscribe(client, streamId: bigint, fromOffset: bigint, credits, lowWater, refill: number) */
static napi_value js_subscribe(napi_env env, napi_callback_info info) {
    size_t argc = 6;
    napi_value argv[6];
    int closed;
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 6) return throw_type(env, "subscribe expects (client, streamId, fromOffset, credits, lowWater, refill)");
    client_handle *h = get_handle(env, argv[0], &closed);
    if (h == NULL) return closed ? reject_closed(env, st) : NULL;
    uint64_t stream, from;
    uint32_t credits, low, refill;
    if (!get_u64(env, argv[1], "streamId", &stream) || !get_u64(env, argv[2], "fromOffset", &from) ||
        !get_u32(env, argv[3], "initialCredits", &credits) || !get_u32(env, argv[4], "lowWater", &low) ||
        !get_u32(env, argv[5], "refill", &refill))
        return NULL;
    req *r;
    napi_value promise = begin(env, st, OP_SUBSCRIBE, argv[0], &r);
    if (promise != NULL)
        started(env, r, kmb_subscribe_async(h->client, stream, from, credits, low, refill, on_subscription, r));
    return promise;
}

/* subNext(sub, timeoutMs: bigint): the next batch, shaped like read()'s result. */
static napi_value js_sub_next(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2];
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 2) return throw_type(env, "subNext expects (subscription, timeoutMs)");
    sub_handle *s = get_sub(env, argv[0]);
    uint64_t timeout;
    if (s == NULL || !get_u64(env, argv[1], "timeoutMs", &timeout)) return NULL;
    req *r;
    napi_value promise = begin(env, st, OP_READ, argv[0], &r);
    if (promise != NULL) started(env, r, kmb_subscription_next_async(s->sub, timeout, on_events, r));
    return promise;
}

/* subState(sub): { id, credits, nextOffset, closeReason, node } without network traffic. */
static napi_value js_sub_state(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 1) return throw_type(env, "subState expects (subscription)");
    sub_handle *s = get_sub(env, argv[0]);
    if (s == NULL) return NULL;
    uint64_t id = 0, next = 0;
    uint32_t credits = 0;
    char *reason = NULL, *node = NULL;
    kmb_status_t rc = kmb_subscription_id(s->sub, &id);
    if (rc == KMB_OK) rc = kmb_subscription_credits(s->sub, &credits);
    if (rc == KMB_OK) rc = kmb_subscription_next_offset(s->sub, &next);
    if (rc == KMB_OK) rc = kmb_subscription_close_reason(s->sub, &reason);
    if (rc == KMB_OK) rc = kmb_subscription_node(s->sub, &node);
    if (rc != KMB_OK) {
        kmb_string_free(reason);
        return throw_status(env, st, rc);
    }
    napi_value out = NULL, v;
    CHECK(napi_create_object(env, &out));
    CHECK(napi_create_bigint_uint64(env, id, &v));
    CHECK(napi_set_named_property(env, out, "id", v));
    CHECK(napi_create_uint32(env, credits, &v));
    CHECK(napi_set_named_property(env, out, "credits", v));
    CHECK(napi_create_bigint_uint64(env, next, &v));
    CHECK(napi_set_named_property(env, out, "nextOffset", v));
    CHECK(napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "closeReason", v));
    CHECK(napi_create_string_utf8(env, node, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "node", v));
    kmb_string_free(reason);
    kmb_string_free(node);
    return out;
fail:
    kmb_string_free(reason);
    kmb_string_free(node);
    return NULL;
}

/* Grant and close may wait on the network: they run on a thread of our own. */
static void *sub_call_main(void *arg) {
    req *r = arg;
    kmb_status_t s = r->kind == OP_SUB_GRANT ? kmb_subscription_grant_credits(r->sub, (uint32_t)r->value)
                                             : kmb_subscription_close(r->sub);
    r->sub = NULL; /* borrowed from the subscription object, which the request keeps alive */
    capture(r, s);
    dispatch(r);
    return NULL;
}

static napi_value sub_call(napi_env env, env_state *st, napi_value obj, sub_handle *s, op_kind kind, uint32_t n) {
    req *r;
    napi_value promise = begin(env, st, kind, obj, &r);
    if (promise == NULL) return NULL;
    r->sub = s->sub;
    r->value = n;
    if (spawn(sub_call_main, r) != 0) {
        r->sub = NULL;
        napi_value err = make_error(env, st, KMB_ERR_NO_MEMORY, "kimberlite: could not start a thread", -1, 0);
        if (err) napi_reject_deferred(env, r->deferred, err);
        if (r->keep) napi_delete_reference(env, r->keep);
        req_free(r);
        return promise;
    }
    started(env, r, KMB_OK);
    return promise;
}

/* subGrant(sub, n: number) */
static napi_value js_sub_grant(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2];
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 2) return throw_type(env, "subGrant expects (subscription, credits)");
    sub_handle *s = get_sub(env, argv[0]);
    uint32_t n;
    if (s == NULL || !get_u32(env, argv[1], "credits", &n)) return NULL;
    return sub_call(env, st, argv[0], s, OP_SUB_GRANT, n);
}

/* subClose(sub): unsubscribe (idempotent); a pending subNext then rejects with
 * KMB_ERR_SUBSCRIPTION_CLOSED. */
static napi_value js_sub_close(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    env_state *st = state_of(env, info, &argc, argv);
    if (st == NULL) return NULL;
    if (argc < 1) return throw_type(env, "subClose expects (subscription)");
    sub_handle *s = get_sub(env, argv[0]);
    if (s == NULL) return NULL;
    return sub_call(env, st, argv[0], s, OP_SUB_CLOSE, 0);
}
