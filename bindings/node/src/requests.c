/* requests.c: Requests and their completion on library threads: the callbacks record each outcome and
 * queue the request for the JS thread; connect and close run on threads of our own.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef enum { OP_CONNECT, OP_CLOSE, OP_CREATE_STREAM, OP_APPEND, OP_READ, OP_LENGTH, OP_SYNC,
               OP_PING, OP_INFO, OP_SUBSCRIBE, OP_SUB_GRANT, OP_SUB_CLOSE } op_kind;

/* req: one pending call, from its start on the JS thread to its settlement there. */
typedef struct {
    env_state *st;
    op_kind kind;
    napi_deferred deferred;
    napi_ref keep;           /* strong reference to the client object while the call runs */
    kmb_config_t *cfg;       /* OP_CONNECT input */
    uint32_t patience_us;    /* OP_CONNECT input: kmb_client_set_async_patience_us */
    kmb_client_t *client;    /* OP_CONNECT result, OP_CLOSE target */
    kmb_status_t status;
    uint64_t value;
    kmb_events_t *events;
    kmb_server_info_t *info;
    kmb_subscription_t *sub; /* OP_SUBSCRIBE result (subscribe.c), OP_SUB_* target */
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
    kmb_subscription_free(r->sub); /* a subscription made for nobody */
    r->sub = NULL;
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

static void call_js(napi_env env, napi_value js_cb, void *context, void *data); /* settle.c */

/* Set on the JS thread while kmb_client_loop_ready runs there (loop.c): the calls it finishes
 * settle at once, without a trip through the threadsafe function. */
static _Thread_local env_state *ready_st;
static _Thread_local napi_env ready_env;

/* dispatch hands a finished request to the JS thread. Any thread. */
static void dispatch(req *r) {
    env_state *st = r->st;
    if (ready_st == st) {
        call_js(ready_env, NULL, NULL, r);
        return;
    }
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
    if (s == KMB_OK && (s = kmb_client_set_async_patience_us(c, r->patience_us)) != KMB_OK) {
        capture(r, s); /* the message names the limit; nothing is left open */
        kmb_client_close(c);
    } else {
        capture(r, s);
    }
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
