/* state.c: Per-environment state: the addon's data for one Node environment and its open clients.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
/* ------------------------------------------------------------------------------------------ */
/* Per-environment state                                                                       */
/* ------------------------------------------------------------------------------------------ */

typedef struct client_handle client_handle;
typedef struct loop_poll loop_poll;

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
    int closed;            /* JS thread only */
    uint32_t patience_us;  /* eventLoopWaitMicros */
    uint32_t lib_patience; /* JS thread only: what the library has now (loop_wait in calls.c) */
    loop_poll *loop;       /* JS thread only: the watch of the library's loop descriptor (loop.c) */
    int idle_armed;        /* JS thread only: a quick call started since the last idle poll (loop.c) */
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
