/* One client shared by 8 pthreads; per-thread last errors; _async callbacks, each called exactly
 * once on a library thread; kmb_client_close with callbacks pending. */
#include "testutil.h"

#include <poll.h>
#include <pthread.h>

#define THREADS 8
#define PER_THREAD 40

static kmb_client_t *client;
static uint64_t shared_stream;

typedef struct {
    int index;
    uint64_t own_stream;
    int failures;
} worker_t;

static void *worker(void *arg) {
    worker_t *w = arg;
    char name[96], payload[64];
    int i;
    uint64_t len = 0, off;
    kmb_events_t *ev = NULL;

    snprintf(name, sizeof name, "ctest-thread-%d-%d-%ld", (int)getpid(), w->index, (long)time(NULL));
    if (kmb_create_stream(client, name, KMB_DATA_CLASS_PUBLIC, &w->own_stream) != KMB_OK) {
        w->failures++;
        return NULL;
    }
    for (i = 0; i < PER_THREAD; i++) {
        const uint8_t *evs[1];
        size_t lens[1];
        snprintf(payload, sizeof payload, "t%d-e%d", w->index, i);
        evs[0] = (const uint8_t *)payload;
        lens[0] = strlen(payload);
        if (kmb_append(client, w->own_stream, evs, lens, 1, NULL, &off) != KMB_OK || off != (uint64_t)i)
            w->failures++;
        if (kmb_append(client, shared_stream, evs, lens, 1, NULL, NULL) != KMB_OK) w->failures++;
        /* this thread's own failure, while the others succeed: the last error is per thread */
        if (i % 10 == 0) {
            char want[64];
            uint64_t missing = shared_stream + 1000000 + (uint64_t)w->index;
            if (kmb_stream_length(client, missing, &len) != KMB_ERR_STREAM_NOT_FOUND) w->failures++;
            snprintf(want, sizeof want, "%llu", (unsigned long long)missing);
            if (kmb_last_error_status() != KMB_ERR_STREAM_NOT_FOUND) w->failures++;
            if (strstr(kmb_last_error_message(), want) == NULL) {
                fprintf(stderr, "thread %d: last error %s lacks %s\n", w->index, kmb_last_error_message(), want);
                w->failures++;
            }
        }
    }
    if (kmb_stream_length(client, w->own_stream, &len) != KMB_OK || len != PER_THREAD) w->failures++;
    if (kmb_read(client, w->own_stream, 0, 0, &ev) != KMB_OK || ev->count != PER_THREAD) {
        w->failures++;
    } else {
        snprintf(payload, sizeof payload, "t%d-e%d", w->index, PER_THREAD - 1);
        if (ev->lengths[PER_THREAD - 1] != strlen(payload) ||
            memcmp(ev->data[PER_THREAD - 1], payload, strlen(payload)) != 0)
            w->failures++;
    }
    kmb_events_free(ev);
    return NULL;
}

static void test_threads(void) {
    pthread_t th[THREADS];
    worker_t w[THREADS];
    int i;
    uint64_t len = 0;
    char name[96];

    snprintf(name, sizeof name, "ctest-shared-%d-%ld", (int)getpid(), (long)time(NULL));
    REQUIRE(kmb_create_stream(client, name, KMB_DATA_CLASS_PUBLIC, &shared_stream) == KMB_OK);
    for (i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        REQUIRE(pthread_create(&th[i], NULL, worker, &w[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].failures == 0);
    }
    CHECK_OK(kmb_stream_length(client, shared_stream, &len));
    CHECK(len == THREADS * PER_THREAD);
}

/* ---- async ---- */

#define ASYNC_CALLS 64

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls[ASYNC_CALLS]; /* times each callback ran */
    kmb_status_t status[ASYNC_CALLS];
    uint64_t value[ASYNC_CALLS];
    int32_t server_code[ASYNC_CALLS];
    int on_caller_thread;
    int done;
    pthread_t caller;
} tracker_t;

typedef struct {
    tracker_t *t;
    int slot;
} slot_t;

static tracker_t tr;
static slot_t slots[ASYNC_CALLS];

static void tracker_reset(void) {
    int i;
    memset(tr.calls, 0, sizeof tr.calls);
    tr.done = 0;
    tr.on_caller_thread = 0;
    tr.caller = pthread_self();
    for (i = 0; i < ASYNC_CALLS; i++) {
        slots[i].t = &tr;
        slots[i].slot = i;
    }
}

static void record(void *ud, kmb_status_t st, uint64_t v) {
    slot_t *s = ud;
    pthread_mutex_lock(&s->t->mu);
    s->t->calls[s->slot]++;
    s->t->status[s->slot] = st;
    s->t->value[s->slot] = v;
    s->t->server_code[s->slot] = st == KMB_OK ? -1 : kmb_last_error_server_code();
    if (pthread_equal(pthread_self(), s->t->caller)) s->t->on_caller_thread++;
    s->t->done++;
    pthread_cond_broadcast(&s->t->cv);
    pthread_mutex_unlock(&s->t->mu);
}

static void on_u64(void *ud, kmb_status_t st, uint64_t v) { record(ud, st, v); }
static void on_status(void *ud, kmb_status_t st) { record(ud, st, 0); }
static void on_events(void *ud, kmb_status_t st, kmb_events_t *ev) {
    record(ud, st, ev ? ev->count : 0);
    kmb_events_free(ev);
}
static void on_info(void *ud, kmb_status_t st, kmb_server_info_t *info) {
    record(ud, st, info ? info->protocol_version : 0);
    kmb_server_info_free(info);
}

/* wait_done waits (20 s at most) for n callbacks. */
static int wait_done(int n) {
    struct timespec dl;
    int ok = 1;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&tr.mu);
    while (tr.done < n && ok) ok = pthread_cond_timedwait(&tr.cv, &tr.mu, &dl) == 0 || tr.done >= n;
    pthread_mutex_unlock(&tr.mu);
    return tr.done >= n;
}

static void test_async(void) {
    char name[96];
    uint64_t stream = 0;
    int i, n = 0;
    const uint8_t *evs[2] = {(const uint8_t *)"one", (const uint8_t *)"two"};
    size_t lens[2] = {3, 3};
    uint64_t wrong = 77;

    tracker_reset();
    snprintf(name, sizeof name, "ctest-async-%d-%ld", (int)getpid(), (long)time(NULL));
    CHECK_OK(kmb_create_stream_async(client, name, KMB_DATA_CLASS_PII, on_u64, &slots[n++]));
    REQUIRE(wait_done(1));
    CHECK(tr.status[0] == KMB_OK);
    stream = tr.value[0];
    CHECK(stream != 0);

    /* 20 appends in flight at once, then the other operations */
    for (i = 0; i < 20; i++)
        CHECK_OK(kmb_append_async(client, stream, evs, lens, 2, NULL, on_u64, &slots[n++]));
    REQUIRE(wait_done(n));
    {
        int seen[40] = {0};
        for (i = 1; i < n; i++) {
            CHECK(tr.status[i] == KMB_OK);
            if (tr.value[i] < 40 && tr.value[i] % 2 == 0) seen[tr.value[i]]++;
        }
        for (i = 0; i < 40; i += 2) CHECK(seen[i] == 1); /* every batch got its own offsets */
    }
    CHECK_OK(kmb_stream_length_async(client, stream, on_u64, &slots[n++]));
    CHECK_OK(kmb_read_async(client, stream, 0, 0, on_events, &slots[n++]));
    CHECK_OK(kmb_sync_async(client, on_status, &slots[n++]));
    CHECK_OK(kmb_ping_async(client, on_status, &slots[n++]));
    CHECK_OK(kmb_server_info_async(client, on_info, &slots[n++]));
    /* failures come through the callback, with the thread's last error set */
    CHECK_OK(kmb_stream_length_async(client, stream + 999999, on_u64, &slots[n++]));
    CHECK_OK(kmb_append_async(client, stream, evs, lens, 1, &wrong, on_u64, &slots[n++]));
    REQUIRE(wait_done(n));
    CHECK(tr.value[21] == 40); /* length */
    CHECK(tr.value[22] == 40); /* events read */
    CHECK(tr.status[23] == KMB_OK && tr.status[24] == KMB_OK);
    CHECK(tr.status[25] == KMB_OK && tr.value[25] == 5);
    CHECK(tr.status[26] == KMB_ERR_STREAM_NOT_FOUND && tr.server_code[26] == 5);
    CHECK(tr.status[27] == KMB_ERR_OFFSET_MISMATCH && tr.server_code[27] == 16);
    for (i = 0; i < n; i++) CHECK(tr.calls[i] == 1);
    CHECK(tr.on_caller_thread == 0);
}

/* close with callbacks pending: close returns only after every callback ran, exactly once */
static void test_close_pending(void) {
    char name[96];
    uint64_t stream = 0;
    int i, ok = 0, closed = 0;
    const uint8_t *evs[1] = {(const uint8_t *)"pending"};
    size_t lens[1] = {7};
    kmb_client_t *c = t_connect(t_addr());

    snprintf(name, sizeof name, "ctest-close-%d-%ld", (int)getpid(), (long)time(NULL));
    REQUIRE(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &stream) == KMB_OK);
    tracker_reset();
    for (i = 0; i < ASYNC_CALLS; i++)
        CHECK_OK(kmb_append_async(c, stream, evs, lens, 1, NULL, on_u64, &slots[i]));
    CHECK_OK(kmb_client_close(c));
    pthread_mutex_lock(&tr.mu);
    CHECK(tr.done == ASYNC_CALLS); /* no waiting: close already waited */
    for (i = 0; i < ASYNC_CALLS; i++) {
        CHECK(tr.calls[i] == 1);
        if (tr.status[i] == KMB_OK) ok++;
        if (tr.status[i] == KMB_ERR_CLOSED) closed++;
    }
    pthread_mutex_unlock(&tr.mu);
    CHECK(ok + closed == ASYNC_CALLS);
    CHECK_ST(kmb_ping_async(c, on_status, &slots[0]), KMB_ERR_INVALID_HANDLE);
}

/* a callback may not close its own client (it would wait for itself), but may close another */
static kmb_client_t *self_client, *other_client;
static kmb_status_t self_close_status = -1, other_close_status = -1;

static void close_from_callback(void *ud, kmb_status_t st) {
    (void)st;
    self_close_status = kmb_client_close(self_client);
    other_close_status = kmb_client_close(other_client);
    record(ud, KMB_OK, 0);
}

static void test_close_from_callback(void) {
    self_client = t_connect(t_addr());
    other_client = t_connect(t_addr());
    tracker_reset();
    CHECK_OK(kmb_ping_async(self_client, close_from_callback, &slots[0]));
    REQUIRE(wait_done(1));
    CHECK(self_close_status == KMB_ERR_INVALID_ARGUMENT);
    CHECK(other_close_status == KMB_OK);
    CHECK_OK(kmb_ping(self_client)); /* refused close left it open */
    CHECK_OK(kmb_client_close(self_client));
    CHECK_ST(kmb_ping(other_client), KMB_ERR_INVALID_HANDLE);
}

/* two clients whose callbacks close each other: the first close waits for the other client's
 * callback, the second would wait for the first's, so it is refused at once (nothing closed);
 * both callbacks return, and no thread is left waiting for ever */
typedef struct {
    kmb_client_t *closes;
    kmb_status_t status;
} cross_t;

static kmb_client_t *cross_a, *cross_b;
static cross_t cross_of_a, cross_of_b;
static pthread_mutex_t cross_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cross_cv = PTHREAD_COND_INITIALIZER;
static int cross_inside = 0;

static void cross_close(void *ud, kmb_status_t st) {
    cross_t *x = ud;
    double deadline = t_now() + 10;
    (void)st;
    /* both callbacks are running before either closes, so the two closes overlap */
    pthread_mutex_lock(&cross_mu);
    cross_inside++;
    pthread_cond_broadcast(&cross_cv);
    while (cross_inside < 2 && t_now() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cross_cv, &cross_mu, &ts);
    }
    pthread_mutex_unlock(&cross_mu);
    x->status = kmb_client_close(x->closes);
    record(&slots[x == &cross_of_a ? 0 : 1], KMB_OK, 0);
}

static void test_cross_close_from_callbacks(void) {
    int closed_a, closed_b;
    cross_a = t_connect(t_addr());
    cross_b = t_connect(t_addr());
    cross_of_a.closes = cross_b;
    cross_of_b.closes = cross_a;
    cross_of_a.status = cross_of_b.status = -1;
    tracker_reset();
    CHECK_OK(kmb_ping_async(cross_a, cross_close, &cross_of_a));
    CHECK_OK(kmb_ping_async(cross_b, cross_close, &cross_of_b));
    REQUIRE(wait_done(2));
    CHECK(cross_inside == 2);
    /* exactly one close went through; the other was refused with a reason */
    CHECK((cross_of_a.status == KMB_OK && cross_of_b.status == KMB_ERR_INVALID_ARGUMENT) ||
          (cross_of_b.status == KMB_OK && cross_of_a.status == KMB_ERR_INVALID_ARGUMENT));
    closed_b = cross_of_a.status == KMB_OK;
    closed_a = cross_of_b.status == KMB_OK;
    /* the refused one left its client open: it still works and closes normally */
    if (closed_b) {
        CHECK_OK(kmb_ping(cross_a));
        CHECK_OK(kmb_client_close(cross_a));
        CHECK_ST(kmb_ping(cross_b), KMB_ERR_INVALID_HANDLE);
    } else if (closed_a) {
        CHECK_OK(kmb_ping(cross_b));
        CHECK_OK(kmb_client_close(cross_b));
        CHECK_ST(kmb_ping(cross_a), KMB_ERR_INVALID_HANDLE);
    }
}

/* with a patience, an _async call runs on the calling thread: it has completed, with the right
 * result, when the start returns */
static void test_waiter_patience(void) {
    kmb_waiter_t *w = NULL;
    kmb_client_t *c = t_connect(t_addr());
    uint64_t sid = 0, value = 99;
    void *result = NULL;
    kmb_events_t *ev;
    char payload[3][32], name[96];
    int i;
    snprintf(name, sizeof name, "ctest-patience-%d-%ld", (int)getpid(), (long)time(NULL));
    REQUIRE(kmb_waiter_new(&w) == KMB_OK);
    CHECK(kmb_waiter_wait(w, 0) == 0); /* a poll of a waiter with nothing completed */
    kmb_waiter_set_patience(NULL, 5); /* a no-op */
    kmb_waiter_set_patience(w, KMB_WAITER_MAX_PATIENCE_MS);
    CHECK_OK(kmb_create_stream_async(c, name, KMB_DATA_CLASS_PUBLIC, kmb_waiter_uint64_callback, w));
    CHECK(kmb_waiter_wait(w, 0) == 1);
    CHECK_OK(kmb_waiter_finish(w, &sid, NULL));
    for (i = 0; i < 3; i++) {
        const uint8_t *one;
        size_t len;
        snprintf(payload[i], sizeof payload[i], "patient-%d", i);
        one = (const uint8_t *)payload[i];
        len = strlen(payload[i]);
        CHECK_OK(kmb_append_async(c, sid, &one, &len, 1, NULL, kmb_waiter_uint64_callback, w));
        CHECK(kmb_waiter_wait(w, 0) == 1);
        CHECK_OK(kmb_waiter_finish(w, &value, NULL));
        CHECK(value == (uint64_t)i);
    }
    CHECK_OK(kmb_read_async(c, sid, 0, 0, kmb_waiter_events_callback, w));
    CHECK(kmb_waiter_wait(w, 0) == 1);
    CHECK_OK(kmb_waiter_finish(w, NULL, &result));
    ev = result;
    REQUIRE(ev != NULL);
    CHECK(ev->count == 3);
    for (i = 0; i < 3 && i < (int)ev->count; i++)
        CHECK(ev->lengths[i] == strlen(payload[i]) && memcmp(ev->data[i], payload[i], ev->lengths[i]) == 0);
    kmb_events_free(ev);
    /* an error is delivered at once too, with its message */
    CHECK_OK(kmb_stream_length_async(c, UINT64_C(0xdead0000beef), kmb_waiter_uint64_callback, w));
    CHECK(kmb_waiter_wait(w, 0) == 1);
    CHECK_ST(kmb_waiter_finish(w, &value, NULL), KMB_ERR_STREAM_NOT_FOUND);
    CHECK(strstr(kmb_last_error_message(), "not found") != NULL);
    CHECK_OK(kmb_ping_async(c, kmb_waiter_status_callback, w));
    CHECK(kmb_waiter_wait(w, 0) == 1);
    CHECK_OK(kmb_waiter_finish(w, NULL, NULL));
    kmb_waiter_free(w);
    CHECK_OK(kmb_client_close(c));
}

/* held_append's callback stays running until held_state is 2: its call is in flight meanwhile */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;
static int held_state;

static void held_append(void *ud, kmb_status_t st, uint64_t first) {
    (void)ud;
    (void)st;
    (void)first;
    pthread_mutex_lock(&held_mu);
    held_state = 1;
    pthread_cond_broadcast(&held_cv);
    while (held_state != 2) pthread_cond_wait(&held_cv, &held_mu);
    pthread_mutex_unlock(&held_mu);
}

/* with the client's async patience, a lone quick call waits on the calling thread: its callback
 * has run, on this thread, when the start returns. Appends never wait, nor do calls started
 * while others are in flight, and 0 turns it off. */
static void test_client_patience(void) {
    kmb_client_t *c = t_connect(t_addr());
    uint64_t sid = 0;
    const uint8_t *one = (const uint8_t *)"patient";
    size_t len = 7;
    char name[96];
    int i, inline_reads = 0;
    snprintf(name, sizeof name, "ctest-client-patience-%d-%ld", (int)getpid(), (long)time(NULL));
    CHECK_OK(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &sid));
    CHECK_OK(kmb_append(c, sid, &one, &len, 1, NULL, NULL));
    CHECK_ST(kmb_client_set_async_patience_us(NULL, 10), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_client_set_async_patience_us(c, KMB_MAX_ASYNC_PATIENCE_US + 1), KMB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(kmb_last_error_message(), "KMB_MAX_ASYNC_PATIENCE_US") != NULL);
    CHECK_OK(kmb_client_set_async_patience_us(c, KMB_MAX_ASYNC_PATIENCE_US));

    tracker_reset();
    for (i = 0; i < 20; i++) {
        /* Inline means run on this thread: a call that missed its wait may also have finished,
         * on another thread, by the time the start returns (seen on a loaded machine). */
        int before, after_start;
        pthread_mutex_lock(&tr.mu);
        before = tr.on_caller_thread;
        pthread_mutex_unlock(&tr.mu);
        CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[i]));
        pthread_mutex_lock(&tr.mu);
        after_start = tr.on_caller_thread;
        if (after_start == before + 1) {
            inline_reads++;
            CHECK(tr.calls[i] == 1);
        }
        pthread_mutex_unlock(&tr.mu);
        REQUIRE(wait_done(i + 1));
        CHECK(tr.status[i] == KMB_OK && tr.value[i] == 1);
        pthread_mutex_lock(&tr.mu); /* on this thread, a callback runs only inside its start */
        CHECK(tr.on_caller_thread == after_start);
        pthread_mutex_unlock(&tr.mu);
    }
    CHECK(inline_reads >= 5); /* a local server answers well within 1 ms */
    tracker_reset();
    CHECK_OK(kmb_stream_length_async(c, sid, on_u64, &slots[0]));
    CHECK_OK(kmb_ping_async(c, on_status, &slots[1]));
    REQUIRE(wait_done(2));
    CHECK(tr.status[0] == KMB_OK && tr.value[0] == 1 && tr.status[1] == KMB_OK);

    /* an append never waits on the calling thread */
    tracker_reset();
    CHECK_OK(kmb_append_async(c, sid, &one, &len, 1, NULL, on_u64, &slots[0]));
    REQUIRE(wait_done(1));
    CHECK(tr.status[0] == KMB_OK && tr.value[0] == 1);
    CHECK(tr.on_caller_thread == 0);

    /* while another call is in flight (its callback holds it there), none waits here */
    tracker_reset();
    held_state = 0;
    CHECK_OK(kmb_append_async(c, sid, &one, &len, 1, NULL, held_append, NULL)); /* never here */
    pthread_mutex_lock(&held_mu);
    while (held_state == 0) pthread_cond_wait(&held_cv, &held_mu);
    pthread_mutex_unlock(&held_mu);
    for (i = 0; i < 8; i++) CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[i]));
    REQUIRE(wait_done(8));
    for (i = 0; i < 8; i++) CHECK(tr.calls[i] == 1 && tr.status[i] == KMB_OK && tr.value[i] == 3);
    CHECK(tr.on_caller_thread == 0);
    pthread_mutex_lock(&held_mu);
    held_state = 2;
    pthread_cond_broadcast(&held_cv);
    pthread_mutex_unlock(&held_mu);

    CHECK_OK(kmb_client_set_async_patience_us(c, 0));
    tracker_reset();
    for (i = 0; i < 10; i++) {
        CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[i]));
        REQUIRE(wait_done(i + 1));
    }
    CHECK(tr.on_caller_thread == 0);
    CHECK_OK(kmb_client_close(c));
    CHECK_ST(kmb_client_set_async_patience_us(c, 10), KMB_ERR_INVALID_HANDLE);
}

/* loop_until runs an event loop on this thread (poll on the client's fd, then
 * kmb_client_loop_ready; with idle, kmb_client_loop_idle before each poll) until n callbacks
 * ran or 20 s passed. */
static int loop_until_idle(kmb_client_t *c, int fd, int n, int idle) {
    int rounds = 0;
    for (;;) {
        pthread_mutex_lock(&tr.mu);
        int done = tr.done;
        pthread_mutex_unlock(&tr.mu);
        if (done >= n) return 1;
        if (rounds++ > 2000) return 0;
        if (idle) CHECK_OK(kmb_client_loop_idle(c, fd));
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) > 0) CHECK_OK(kmb_client_loop_ready(c));
    }
}

static int loop_until(kmb_client_t *c, int fd, int n) { return loop_until_idle(c, fd, n, 0); }

static int64_t stat_of(kmb_client_t *c, const char *key) {
    char *json = NULL, pat[64];
    int64_t v = -1;
    if (kmb_client_stats_json(c, &json) != KMB_OK) return -1;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(json, pat);
    if (at) v = strtoll(at + strlen(pat), NULL, 10);
    kmb_string_free(json);
    return v;
}

/* with an event loop (kmb_client_loop_fd), quick calls answer inside kmb_client_loop_ready on
 * the loop's thread, and nothing waits; bursts, appends and a close with a call held still get
 * each callback exactly once */
static void test_client_loop(void) {
    kmb_client_t *c = t_connect(t_addr());
    uint64_t sid = 0;
    const uint8_t *one = (const uint8_t *)"looped";
    size_t len = 6;
    char name[96];
    int fd = -1, fd2 = -1, i;
    snprintf(name, sizeof name, "ctest-client-loop-%d-%ld", (int)getpid(), (long)time(NULL));
    CHECK_OK(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &sid));
    CHECK_OK(kmb_append(c, sid, &one, &len, 1, NULL, NULL));
    CHECK_ST(kmb_client_loop_fd(NULL, &fd), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_client_loop_fd(c, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_client_loop_ready(NULL), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_client_loop_ready(c), KMB_ERR_INVALID_ARGUMENT); /* no loop yet */
    CHECK_ST(kmb_client_loop_idle(NULL, 0), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_client_loop_idle(c, 0), KMB_ERR_INVALID_ARGUMENT); /* no loop yet */
    CHECK_OK(kmb_client_loop_fd(c, &fd));
    CHECK_ST(kmb_client_loop_idle(c, -1), KMB_ERR_INVALID_ARGUMENT);
    CHECK_OK(kmb_client_loop_idle(c, fd)); /* no call held: returns at once, without spinning */
    CHECK(stat_of(c, "loop_idle_spins") == 0);
    CHECK_OK(kmb_client_loop_fd(c, &fd2));
    CHECK(fd >= 0 && fd == fd2);
    CHECK_OK(kmb_client_loop_ready(c)); /* nothing ready: returns at once */

    /* serial reads: the start returns before the answer, which runs its callback here */
    tracker_reset();
    for (i = 0; i < 40; i++) {
        CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[i]));
        REQUIRE(loop_until(c, fd, i + 1));
        CHECK(tr.calls[i] == 1 && tr.status[i] == KMB_OK && tr.value[i] == 1);
    }
    CHECK(tr.on_caller_thread >= 30); /* a health check sharing the connection may take a few */
    CHECK(stat_of(c, "loop_calls") >= 30 && stat_of(c, "loop_settled") >= 30);

    /* the same with kmb_client_loop_idle before each wait: each answer still runs its callback
     * here, once. How many waits spun depends on the machine (slow answers, as under valgrind,
     * or one CPU turn it off; the pool's tests hold those rules), but the count is reported. */
    tracker_reset();
    for (i = 0; i < 20; i++) {
        CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[i]));
        REQUIRE(loop_until_idle(c, fd, i + 1, 1));
        CHECK(tr.calls[i] == 1 && tr.status[i] == KMB_OK && tr.value[i] == 1);
    }
    CHECK(tr.on_caller_thread >= 15);
    CHECK(stat_of(c, "loop_idle_spins") >= 0);
    tracker_reset();
    CHECK_OK(kmb_stream_length_async(c, sid, on_u64, &slots[0]));
    REQUIRE(loop_until(c, fd, 1));
    CHECK_OK(kmb_ping_async(c, on_status, &slots[1]));
    REQUIRE(loop_until(c, fd, 2));
    CHECK_OK(kmb_server_info_async(c, on_info, &slots[2]));
    REQUIRE(loop_until(c, fd, 3));
    CHECK(tr.status[0] == KMB_OK && tr.value[0] == 1 && tr.status[1] == KMB_OK && tr.status[2] == KMB_OK &&
          tr.value[2] == 5);

    /* a burst: each read gets its own answer once, wherever it was read */
    tracker_reset();
    for (i = 0; i < 16; i++) CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[i]));
    REQUIRE(loop_until(c, fd, 16));
    for (i = 0; i < 16; i++) CHECK(tr.calls[i] == 1 && tr.status[i] == KMB_OK && tr.value[i] == 1);

    /* an append never goes through the loop */
    tracker_reset();
    CHECK_OK(kmb_append_async(c, sid, &one, &len, 1, NULL, on_u64, &slots[0]));
    REQUIRE(wait_done(1));
    CHECK(tr.status[0] == KMB_OK && tr.value[0] == 1 && tr.on_caller_thread == 0);

    /* a read the loop never drives still ends at close, in the background, exactly once */
    tracker_reset();
    CHECK_OK(kmb_read_async(c, sid, 0, 0, on_events, &slots[0]));
    CHECK_OK(kmb_client_close(c));
    REQUIRE(wait_done(1));
    CHECK(tr.calls[0] == 1 && tr.on_caller_thread == 0);
    CHECK(tr.status[0] == KMB_OK ? tr.value[0] == 2 : tr.status[0] == KMB_ERR_CLOSED);
    CHECK_ST(kmb_client_loop_ready(c), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_client_loop_fd(c, &fd), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_client_loop_idle(c, fd), KMB_ERR_INVALID_HANDLE);
}

/* a waiter completes an _async call into memory one thread waits on in slices */
static void test_waiter(void) {
    kmb_waiter_t *w = NULL;
    kmb_client_t *c = t_connect(t_addr());
    uint64_t value = 99;
    void *result = NULL;
    int slices = 0;
    CHECK_ST(kmb_waiter_new(NULL), KMB_ERR_NULL_ARGUMENT);
    REQUIRE(kmb_waiter_new(&w) == KMB_OK);
    CHECK(kmb_waiter_wait(w, 10) == 0); /* nothing pending: the slice passes */
    CHECK_OK(kmb_ping_async(c, kmb_waiter_status_callback, w));
    while (!kmb_waiter_wait(w, 100) && slices < 200) slices++;
    CHECK_OK(kmb_waiter_finish(w, &value, &result));
    CHECK(result == NULL);
    /* an error: status, message and server code come to the waiting thread */
    CHECK_OK(kmb_stream_length_async(c, UINT64_C(0xdead0000beef), kmb_waiter_uint64_callback, w));
    while (!kmb_waiter_wait(w, 100) && slices < 400) slices++;
    CHECK_ST(kmb_waiter_finish(w, &value, NULL), KMB_ERR_STREAM_NOT_FOUND);
    CHECK(kmb_last_error_status() == KMB_ERR_STREAM_NOT_FOUND);
    CHECK(strstr(kmb_last_error_message(), "not found") != NULL);
    /* a result is handed over once; one nobody takes is freed by the reset */
    CHECK_OK(kmb_server_info_async(c, kmb_waiter_server_info_callback, w));
    while (!kmb_waiter_wait(w, 100) && slices < 600) slices++;
    CHECK_OK(kmb_waiter_finish(w, NULL, &result));
    CHECK(result != NULL && ((kmb_server_info_t *)result)->protocol_version == 5);
    kmb_server_info_free(result);
    CHECK_OK(kmb_read_async(c, UINT64_C(0xdead0000beef), 0, 0, kmb_waiter_events_callback, w));
    while (!kmb_waiter_wait(w, 100) && slices < 800) slices++;
    CHECK(kmb_waiter_status(w) == KMB_ERR_STREAM_NOT_FOUND);
    kmb_waiter_reset(w);
    CHECK(kmb_waiter_wait(NULL, 0) == 1);
    CHECK_ST(kmb_waiter_finish(NULL, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    kmb_waiter_free(w);
    kmb_waiter_free(NULL);
    CHECK_OK(kmb_client_close(c));
}

/* user_data is opaque: small integers cast to void * (a common C idiom, and what the bindings
 * pass) come back unchanged, and never reach the Go runtime as pointers (which would abort it
 * when a goroutine's stack is copied) */
#define INT_UD_CALLS 2000
static int int_ud_seen[INT_UD_CALLS + 1];
static pthread_mutex_t int_ud_mu = PTHREAD_MUTEX_INITIALIZER;
static int int_ud_done = 0;

static void on_int_ud(void *ud, kmb_status_t st) {
    uintptr_t k = (uintptr_t)ud;
    pthread_mutex_lock(&int_ud_mu);
    if (st == KMB_OK && k >= 1 && k <= INT_UD_CALLS) int_ud_seen[k]++;
    int_ud_done++;
    pthread_mutex_unlock(&int_ud_mu);
}

static void test_integer_user_data(void) {
    kmb_client_t *c = t_connect(t_addr());
    uintptr_t i;
    int ok = 1, done = 0;
    double deadline = t_now() + 60;
    for (i = 1; i <= INT_UD_CALLS; i++) CHECK_OK(kmb_ping_async(c, on_int_ud, (void *)i));
    while (t_now() < deadline) {
        pthread_mutex_lock(&int_ud_mu);
        done = int_ud_done;
        pthread_mutex_unlock(&int_ud_mu);
        if (done >= INT_UD_CALLS) break;
        usleep(1000);
    }
    CHECK(done == INT_UD_CALLS);
    for (i = 1; i <= INT_UD_CALLS; i++) ok &= int_ud_seen[i] == 1;
    CHECK(ok);
    CHECK_OK(kmb_client_close(c));
}

/* threads keep using a client while another closes it: each call answers OK, KMB_ERR_CLOSED or
 * KMB_ERR_INVALID_HANDLE (never a crash or a hang), and every thread sees the handle die */
typedef struct {
    kmb_client_t *c;
    uint64_t stream;
    int calls, bad, dead;
} racer_t;

static void *racer(void *arg) {
    racer_t *r = arg;
    const uint8_t *evs[1] = {(const uint8_t *)"race"};
    size_t lens[1] = {4};
    for (;;) {
        kmb_status_t st = (r->calls % 2) ? kmb_ping(r->c) : kmb_append(r->c, r->stream, evs, lens, 1, NULL, NULL);
        r->calls++;
        if (st == KMB_ERR_INVALID_HANDLE) {
            r->dead = 1;
            return NULL;
        }
        if (st != KMB_OK && st != KMB_ERR_CLOSED) {
            fprintf(stderr, "racer: %s: %s\n", kmb_status_name(st), kmb_last_error_message());
            r->bad++;
        }
        if (r->calls > 100000) return NULL;
    }
}

static void test_close_while_in_use(void) {
    racer_t r[4];
    pthread_t th[4];
    uint64_t stream = 0, len = 0;
    char name[96];
    int i;
    kmb_client_t *c = t_connect(t_addr());

    snprintf(name, sizeof name, "ctest-race-%d-%ld", (int)getpid(), (long)time(NULL));
    REQUIRE(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &stream) == KMB_OK);
    for (i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].c = c;
        r[i].stream = stream;
        REQUIRE(pthread_create(&th[i], NULL, racer, &r[i]) == 0);
    }
    /* let the racers get going: wait until some appends landed */
    {
        double deadline = t_now() + 20;
        while (kmb_stream_length(c, stream, &len) == KMB_OK && len < 20 && t_now() < deadline) usleep(1000);
        CHECK(len >= 20);
    }
    CHECK_OK(kmb_client_close(c));
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(r[i].bad == 0);
        CHECK(r[i].dead == 1);
    }
}

int main(void) {
    pthread_mutex_init(&tr.mu, NULL);
    pthread_cond_init(&tr.cv, NULL);
    client = t_connect(t_addr());
    test_threads();
    test_async();
    CHECK_OK(kmb_client_close(client));
    test_close_pending();
    test_close_from_callback();
    test_cross_close_from_callbacks();
    test_waiter();
    test_waiter_patience();
    test_client_patience();
    test_client_loop();
    test_integer_user_data();
    test_close_while_in_use();
    return t_done("test_concurrency");
}
