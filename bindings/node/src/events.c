/* events.c: log records and cluster events of a client, delivered to JS without blocking anyone.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static).
 *
 * observer(fn) makes an observer: a threadsafe function around fn (unreferenced, so it never
 * keeps the process alive). connect(..., observer) sets the library's log and event callbacks to
 * it. The library calls them on its delivery thread; each copies the record and queues it without
 * waiting (a full queue drops it), and fn runs on the JS thread with (kind, a, b, c, d, e).
 * releaseObserver(observer), once the client is closed, retires the threadsafe function.
 *
 * The observer struct outlives its users: one reference for the threadsafe function (dropped by
 * its finalizer, which also marks it dead so late library calls stop using it), one for the JS
 * external, and one taken by connect for the library (dropped by releaseObserver, which JS calls
 * only once the client is closed; a client never closed keeps its small observer forever). */
typedef struct {
    pthread_mutex_t mu;
    int dead; /* under mu: the threadsafe function is finalized */
    atomic_int refs;
    int attached; /* JS thread only: given to a config */
    int released; /* JS thread only */
    int lib_ref;  /* JS thread only: the library holds a reference (taken by attach_observer) */
    napi_threadsafe_function tsfn;
} observer;

/* One queued record: kind 0 is a log record (level, message), others a KMB_EVENT_* kind. */
typedef struct {
    int32_t kind;
    int32_t level;
    uint64_t view;
    char *a, *b, *c; /* message, or node / previous / reason */
} observed;

static void observer_unref(observer *o) {
    if (atomic_fetch_sub(&o->refs, 1) == 1) {
        pthread_mutex_destroy(&o->mu);
        free(o);
    }
}

static void observed_free(observed *r) {
    if (r == NULL) return;
    free(r->a);
    free(r->b);
    free(r->c);
    free(r);
}

static char *dup_or_empty(const char *s) {
    const char *src = s ? s : "";
    size_t n = strlen(src);
    char *d = malloc(n + 1);
    if (d) memcpy(d, src, n + 1);
    return d;
}

/* queue hands r to the JS thread, or frees it. Never waits. */
static void observer_queue(observer *o, observed *r) {
    napi_status s = napi_generic_failure;
    pthread_mutex_lock(&o->mu);
    if (!o->dead) s = napi_call_threadsafe_function(o->tsfn, r, napi_tsfn_nonblocking);
    pthread_mutex_unlock(&o->mu);
    if (s != napi_ok) observed_free(r);
}

static void observer_on_log(void *ud, int32_t level, const char *message) {
    observed *r = calloc(1, sizeof *r);
    if (r == NULL) return;
    r->level = level;
    r->a = dup_or_empty(message);
    if (r->a == NULL) {
        observed_free(r);
        return;
    }
    observer_queue(ud, r);
}

static void observer_on_event(void *ud, int32_t kind, const char *node, const char *previous, uint64_t view,
                              const char *reason) {
    observed *r = calloc(1, sizeof *r);
    if (r == NULL) return;
    r->kind = kind;
    r->view = view;
    r->a = dup_or_empty(node);
    r->b = dup_or_empty(previous);
    r->c = dup_or_empty(reason);
    if (!r->a || !r->b || !r->c) {
        observed_free(r);
        return;
    }
    observer_queue(ud, r);
}

static napi_value str_value(napi_env env, const char *s) {
    napi_value v;
    napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
    return v;
}

/* On the JS thread: fn(kind, levelOrView, a, b, c). kind is "log" or the event kind's name. */
static void observer_call_js(napi_env env, napi_value fn, void *context, void *data) {
    (void)context;
    observed *r = data;
    if (env != NULL && fn != NULL && r != NULL) {
        napi_value argv[5], recv;
        argv[0] = str_value(env, r->kind == 0 ? "log" : kmb_event_kind_name(r->kind));
        if (r->kind == 0) napi_create_int32(env, r->level, &argv[1]);
        else napi_create_bigint_uint64(env, r->view, &argv[1]);
        argv[2] = str_value(env, r->a);
        argv[3] = str_value(env, r->b);
        argv[4] = str_value(env, r->c);
        napi_get_undefined(env, &recv);
        if (napi_call_function(env, recv, fn, 5, argv, NULL) == napi_pending_exception) {
            napi_value exc; /* a throwing listener must not take the addon down: report it */
            napi_get_and_clear_last_exception(env, &exc);
            napi_fatal_exception(env, exc);
        }
    }
    observed_free(r);
}

static void observer_finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    observer *o = data;
    pthread_mutex_lock(&o->mu);
    o->dead = 1;
    pthread_mutex_unlock(&o->mu);
    observer_unref(o);
}

/* The external's finalizer: the JS object is gone. Retire the threadsafe function if
 * releaseObserver was never called (a client never disconnected, or never connected), unless
 * the environment's teardown already finalized it (dead: both finalizers run on the JS thread,
 * in either order). */
static void observer_external_finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    observer *o = data;
    if (!o->released && !o->dead) {
        o->released = 1;
        napi_release_threadsafe_function(o->tsfn, napi_tsfn_release);
    }
    observer_unref(o);
}

/* observer(fn): a new observer for connect. */
static napi_value js_observer(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], name, ext;
    napi_valuetype t;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
    if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
        return throw_type(env, "observer expects a function");
    observer *o = calloc(1, sizeof *o);
    if (o == NULL) return throw_range(env, "out of memory");
    pthread_mutex_init(&o->mu, NULL);
    atomic_init(&o->refs, 2); /* the threadsafe function's, the external's */
    napi_create_string_utf8(env, "kimberlite-events", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, argv[0], NULL, name, 4096, 1, o, observer_finalize, NULL,
                                        observer_call_js, &o->tsfn) != napi_ok) {
        pthread_mutex_destroy(&o->mu);
        free(o);
        napi_throw_error(env, NULL, "kimberlite: could not create the event queue");
        return NULL;
    }
    napi_unref_threadsafe_function(env, o->tsfn);
    if (napi_create_external(env, o, observer_external_finalize, NULL, &ext) != napi_ok) return NULL;
    return ext;
}

/* get_observer: the observer behind an external, or NULL (with a TypeError pending). */
static observer *get_observer(napi_env env, napi_value v) {
    napi_valuetype t;
    void *p = NULL;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
        p == NULL) {
        throw_type(env, "expected an observer");
        return NULL;
    }
    return p;
}

/* attach_observer sets cfg's callbacks to the observer v (undefined: none) and takes the
 * library's reference. Returns a status, or -1 with a TypeError pending. */
static kmb_status_t attach_observer(napi_env env, kmb_config_t *cfg, napi_value v) {
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok) return -1;
    if (t == napi_undefined) return KMB_OK;
    observer *o = get_observer(env, v);
    if (o == NULL) return -1;
    if (o->attached || o->released) {
        throw_type(env, "an observer serves one client");
        return -1;
    }
    o->attached = 1;
    o->lib_ref = 1;
    atomic_fetch_add(&o->refs, 1);
    kmb_status_t s = kmb_config_set_log_callback(cfg, KMB_LOG_DEBUG, observer_on_log, o);
    if (s == KMB_OK) s = kmb_config_set_event_callback(cfg, observer_on_event, o);
    return s;
}

/* releaseObserver(observer[, closed = true]): stop delivering. closed: the client is closed (or
 * never connected), so the library's reference goes too; false (a client garbage-collected while
 * the library may still close it) keeps that reference, and the struct, for good. */
static napi_value js_release_observer(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2];
    bool closed = true;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
    if (argc < 1) return throw_type(env, "releaseObserver expects an observer");
    observer *o = get_observer(env, argv[0]);
    if (o == NULL) return NULL;
    napi_valuetype t;
    if (argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_boolean) napi_get_value_bool(env, argv[1], &closed);
    if (!o->released) {
        o->released = 1;
        napi_release_threadsafe_function(o->tsfn, napi_tsfn_release);
    }
    if (closed && o->lib_ref) {
        o->lib_ref = 0;
        observer_unref(o);
    }
    return undefined(env);
}

/* metricsText(client): the client's Prometheus text (no network traffic, synchronous). A
 * disconnected client throws a KimberliteError with code KMB_ERR_CLOSED. */
static napi_value js_metrics_text(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    env_state *st = state_of(env, info, &argc, argv);
    int closed;
    if (st == NULL) return NULL;
    if (argc < 1) return throw_type(env, "metricsText expects (client)");
    client_handle *h = get_handle(env, argv[0], &closed);
    if (h == NULL) {
        if (!closed) return NULL;
        napi_value err = make_error(env, st, KMB_ERR_CLOSED, "kimberlite: the client is disconnected", -1, 0);
        if (err) napi_throw(env, err);
        return NULL;
    }
    char *text = NULL;
    kmb_status_t s = kmb_client_metrics_text(h->client, &text);
    if (s != KMB_OK) {
        napi_value err = make_error(env, st, s, kmb_last_error_message(), kmb_last_error_server_code(),
                                    kmb_last_error_request_id());
        if (err) napi_throw(env, err);
        return NULL;
    }
    napi_value v;
    napi_status ns = napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
    kmb_string_free(text);
    return ns == napi_ok ? v : NULL;
}
