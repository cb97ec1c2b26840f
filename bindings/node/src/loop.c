/* loop.c: The client's event loop on libuv: quick calls (read, stream length, ping, server info)
 * send their request from the JS thread and leave the answer on the socket; the library's loop
 * descriptor (kmb_client_loop_fd) is watched with a uv_poll, and when it is readable
 * kmb_client_loop_ready reads the answers here, on the JS thread, and their Promises settle at
 * once (dispatch sees ready_st). A call then costs one wake-up of the loop, as a net.Socket's
 * answer would, and nothing ever holds the loop. Calls the library cannot take this way go on
 * in the background as before.
 * A uv_prepare runs just before the loop would sleep: after a quick call was started, when the
 * loop has no earlier deadline, kmb_client_loop_idle polls the loop's own descriptor for a
 * moment, so that an answer due in microseconds is read without the thread's sleep and
 * wake-up; anything else ready for the loop ends that poll too.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
/* ------------------------------------------------------------------------------------------ */
/* The client's event loop                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* The few libuv calls this file makes. The N-API headers do not ship uv.h; Node exports these
 * from its own libuv, whose 1.x ABI keeps them (and UV_POLL, UV_READABLE) stable. The handle is
 * allocated with uv_handle_size, so its layout is never assumed. */
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_poll_s uv_poll_t;
typedef struct uv_prepare_s uv_prepare_t;
typedef void (*uv_poll_cb)(uv_poll_t *handle, int status, int events);
typedef void (*uv_prepare_cb)(uv_prepare_t *handle);
typedef void (*uv_close_cb)(uv_handle_t *handle);
extern size_t uv_handle_size(int type);
extern int uv_poll_init(uv_loop_t *loop, uv_poll_t *handle, int fd);
extern int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb);
extern int uv_poll_stop(uv_poll_t *handle);
extern void uv_close(uv_handle_t *handle, uv_close_cb close_cb);
extern void uv_unref(uv_handle_t *handle);
extern void *uv_handle_get_data(const uv_handle_t *handle);
extern void uv_handle_set_data(uv_handle_t *handle, void *data);
extern int uv_prepare_init(uv_loop_t *loop, uv_prepare_t *prepare);
extern int uv_prepare_start(uv_prepare_t *prepare, uv_prepare_cb cb);
extern int uv_prepare_stop(uv_prepare_t *prepare);
extern int uv_backend_fd(const uv_loop_t *loop);
extern int uv_backend_timeout(const uv_loop_t *loop);
enum { KMB_UV_POLL = 8, KMB_UV_PREPARE = 9, KMB_UV_READABLE = 1 };

/* loop_poll: one client's watch of its loop descriptor. It outlives the client handle until
 * libuv has closed the poll; an async cleanup hook keeps the environment's teardown waiting
 * for that. */
struct loop_poll {
    uv_poll_t *poll;
    uv_prepare_t *prepare; /* the idle poll before the loop sleeps (on_loop_idle) */
    uv_loop_t *loop;
    int open_handles;      /* of poll and prepare, those libuv has not closed yet */
    client_handle *h;      /* NULL once detached */
    napi_env env;
    napi_ref resource;
    napi_async_context actx;
    napi_async_cleanup_hook_handle hook;
    int closing;
};

static void loop_poll_closed(uv_handle_t *handle) {
    loop_poll *lp = uv_handle_get_data(handle);
    if (--lp->open_handles > 0) return;
    if (lp->hook) napi_remove_async_cleanup_hook(lp->hook);
    free(lp->poll);
    free(lp->prepare);
    free(lp);
}

/* loop_close stops watching (at once: the library may close the descriptor after this) and
 * closes the poll. JS thread. */
static void loop_close(loop_poll *lp) {
    if (lp->closing) return;
    lp->closing = 1;
    if (lp->h) lp->h->loop = NULL;
    lp->h = NULL;
    if (lp->actx) napi_async_destroy(lp->env, lp->actx);
    lp->actx = NULL;
    if (lp->resource) napi_delete_reference(lp->env, lp->resource);
    lp->resource = NULL;
    uv_poll_stop(lp->poll);
    uv_close((uv_handle_t *)lp->poll, loop_poll_closed);
    uv_prepare_stop(lp->prepare);
    uv_close((uv_handle_t *)lp->prepare, loop_poll_closed);
}

/* loop_detach: the client is about to close; stop driving its loop first. */
static void loop_detach(client_handle *h) {
    if (h->loop) loop_close(h->loop);
}

static void loop_cleanup_hook(napi_async_cleanup_hook_handle handle, void *arg) {
    (void)handle;
    loop_close(arg); /* loop_poll_closed removes the hook */
}

/* on_loop_ready: the descriptor is readable. The answers are read and their Promises settled
 * inside a callback scope, so that their reactions (microtasks) run when it closes, as after
 * any other callback from native code. */
static void on_loop_ready(uv_poll_t *poll, int status, int events) {
    (void)status;
    (void)events;
    loop_poll *lp = uv_handle_get_data((uv_handle_t *)poll);
    client_handle *h = lp->h;
    if (h == NULL || h->closed) return;
    napi_env env = lp->env;
    napi_handle_scope hs;
    napi_callback_scope cs;
    napi_value resource;
    if (napi_open_handle_scope(env, &hs) != napi_ok) return;
    int scoped = napi_get_reference_value(env, lp->resource, &resource) == napi_ok &&
                 napi_open_callback_scope(env, resource, lp->actx, &cs) == napi_ok;
    ready_st = h->st;
    ready_env = env;
    kmb_client_loop_ready(h->client);
    ready_st = NULL;
    ready_env = NULL;
    if (scoped) napi_close_callback_scope(env, cs);
    napi_close_handle_scope(env, hs);
}

/* on_loop_idle: the loop is about to wait for I/O. Only when it would sleep (no timer due, no
 * immediate, nothing pending: uv_backend_timeout is not 0) and a quick call was started since
 * the last look (idle_armed) does the library look, once per such start: it returns at once
 * unless its loop holds a call whose answer is due soon. So a turn of the loop costs a client
 * nothing unless it just sent a read, however many clients the process has. */
static void on_loop_idle(uv_prepare_t *prepare) {
    loop_poll *lp = uv_handle_get_data((uv_handle_t *)prepare);
    client_handle *h = lp->h;
    if (h == NULL || h->closed || !h->idle_armed || uv_backend_timeout(lp->loop) == 0) return;
    h->idle_armed = 0;
    kmb_client_loop_idle(h->client, uv_backend_fd(lp->loop));
}

/* loop_attach starts watching a new client's loop descriptor. On any failure the client just
 * keeps the background path: the library takes no call through the loop before the first
 * kmb_client_loop_ready, made here once the watch runs. */
static void loop_attach(napi_env env, client_handle *h) {
    uv_loop_t *loop = NULL;
    int fd = -1;
    napi_value resource, name;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) return;
    loop_poll *lp = calloc(1, sizeof *lp);
    if (lp == NULL) return;
    lp->env = env;
    lp->loop = loop;
    lp->poll = calloc(1, uv_handle_size(KMB_UV_POLL));
    lp->prepare = calloc(1, uv_handle_size(KMB_UV_PREPARE));
    if (lp->poll == NULL || lp->prepare == NULL || napi_create_object(env, &resource) != napi_ok ||
        napi_create_reference(env, resource, 1, &lp->resource) != napi_ok ||
        napi_create_string_utf8(env, "kimberlite.read", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, resource, name, &lp->actx) != napi_ok || kmb_client_loop_fd(h->client, &fd) != KMB_OK ||
        uv_poll_init(loop, lp->poll, fd) != 0) {
        if (lp->actx) napi_async_destroy(env, lp->actx);
        if (lp->resource) napi_delete_reference(env, lp->resource);
        free(lp->poll);
        free(lp->prepare);
        free(lp);
        return;
    }
    uv_prepare_init(loop, lp->prepare); /* cannot fail: it only links the handle to the loop */
    lp->open_handles = 2;
    uv_handle_set_data((uv_handle_t *)lp->poll, lp);
    uv_handle_set_data((uv_handle_t *)lp->prepare, lp);
    lp->h = h;
    h->loop = lp;
    /* Neither handle keeps the process alive: a call in flight does (the threadsafe function is
     * referenced while any is pending). */
    uv_unref((uv_handle_t *)lp->poll);
    uv_unref((uv_handle_t *)lp->prepare);
    if (napi_add_async_cleanup_hook(env, loop_cleanup_hook, lp, &lp->hook) != napi_ok) lp->hook = NULL;
    if (uv_poll_start(lp->poll, KMB_UV_READABLE, on_loop_ready) != 0 ||
        uv_prepare_start(lp->prepare, on_loop_idle) != 0) {
        loop_close(lp);
        return;
    }
    kmb_client_loop_ready(h->client); /* from now on the library may take calls through it */
}
