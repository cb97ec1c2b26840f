/* Subscriptions: every event appended by another client arrives once, in order, in batches with
 * offsets; a timeout is KMB_ERR_TIMEOUT and the subscription goes on; the async next; one next at
 * a time; close (idempotent) and free; NULL, freed and foreign handles; closing the client wakes
 * a next that waits without timeout. */
#include "testutil.h"

#include <pthread.h>

#define EVENTS 300

static void make_stream(kmb_client_t *c, const char *tag, uint64_t *sid) {
    char name[96];
    snprintf(name, sizeof name, "ctest-sub-%s-%d-%ld", tag, (int)getpid(), (long)time(NULL));
    REQUIRE(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, sid) == KMB_OK);
}

static void append_one(kmb_client_t *c, uint64_t sid, const char *payload) {
    const uint8_t *evs[1] = {(const uint8_t *)payload};
    size_t lens[1] = {strlen(payload)};
    CHECK_OK(kmb_append(c, sid, evs, lens, 1, NULL, NULL));
}

typedef struct {
    kmb_client_t *client;
    uint64_t sid;
} writer_t;

/* writer appends EVENTS distinct events in batches of 1..5 from its own client. */
static void *writer(void *arg) {
    writer_t *w = arg;
    char bufs[5][32];
    const uint8_t *evs[5];
    size_t lens[5];
    int i = 0;
    while (i < EVENTS) {
        size_t n = (size_t)(i % 5) + 1, k;
        if (i + (int)n > EVENTS) n = (size_t)(EVENTS - i);
        for (k = 0; k < n; k++) {
            snprintf(bufs[k], sizeof bufs[k], "ev-%d", i + (int)k);
            evs[k] = (const uint8_t *)bufs[k];
            lens[k] = strlen(bufs[k]);
        }
        if (kmb_append(w->client, w->sid, evs, lens, n, NULL, NULL) != KMB_OK) return (void *)1;
        i += (int)n;
    }
    return NULL;
}

static int is_event(const kmb_events_t *ev, size_t i, uint64_t offset) {
    char want[32];
    snprintf(want, sizeof want, "ev-%llu", (unsigned long long)offset);
    return ev->offsets[i] == offset && ev->lengths[i] == strlen(want) && memcmp(ev->data[i], want, strlen(want)) == 0;
}

static void test_receive_timeout_close(kmb_client_t *c, kmb_client_t *w) {
    uint64_t sid, next = 0, v = 0;
    uint32_t credits = 0;
    kmb_subscription_t *sub = NULL;
    kmb_events_t *ev = NULL;
    char *reason = NULL;
    writer_t wr;
    pthread_t t;
    void *wrote = (void *)1;
    int ordered = 1;

    make_stream(c, "a", &sid);
    CHECK_OK(kmb_subscribe(c, sid, 0, 16, 0, 0, &sub));
    REQUIRE(sub != NULL);
    CHECK_OK(kmb_subscription_id(sub, &v));
    CHECK_OK(kmb_subscription_credits(sub, &credits));
    CHECK(credits <= 16);
    CHECK_OK(kmb_subscription_close_reason(sub, &reason));
    CHECK(reason != NULL && strcmp(reason, "") == 0);
    kmb_string_free(reason);
    CHECK_OK(kmb_subscription_node(sub, &reason));
    CHECK(reason != NULL && strcmp(reason, t_addr()) == 0);
    kmb_string_free(reason);
    CHECK_ST(kmb_subscription_node(sub, NULL), KMB_ERR_NULL_ARGUMENT);

    wr.client = w;
    wr.sid = sid;
    REQUIRE(pthread_create(&t, NULL, writer, &wr) == 0);
    while (next < EVENTS) {
        size_t i;
        kmb_status_t st = kmb_subscription_next(sub, 30000, &ev);
        CHECK_OK(st);
        if (st != KMB_OK) break;
        CHECK(ev->count >= 1 && ev->count <= 16);
        CHECK(ev->has_more == 1);
        for (i = 0; i < ev->count; i++) ordered &= is_event(ev, i, next + i);
        next += ev->count;
        CHECK(ev->next_offset == next);
        kmb_events_free(ev);
        ev = NULL;
    }
    pthread_join(t, &wrote);
    CHECK(wrote == NULL);
    CHECK(ordered);
    CHECK(next == EVENTS);
    CHECK_OK(kmb_subscription_next_offset(sub, &v));
    CHECK(v == EVENTS);

    /* nothing more: a timeout, and the subscription goes on */
    ev = (kmb_events_t *)&ev;
    CHECK_ST(kmb_subscription_next(sub, 100, &ev), KMB_ERR_TIMEOUT);
    CHECK(ev == NULL);
    CHECK(kmb_status_is_retryable(KMB_ERR_TIMEOUT));
    append_one(w, sid, "ev-300");
    CHECK_OK(kmb_subscription_next(sub, 30000, &ev));
    CHECK(ev != NULL && ev->count == 1 && is_event(ev, 0, 300));
    kmb_events_free(ev);
    CHECK_OK(kmb_subscription_grant_credits(sub, 10));

    /* close: next says so, close again is fine, the reason is the protocol's */
    CHECK_OK(kmb_subscription_close(sub));
    CHECK_OK(kmb_subscription_close(sub));
    CHECK_ST(kmb_subscription_next(sub, 1000, &ev), KMB_ERR_SUBSCRIPTION_CLOSED);
    CHECK(strstr(kmb_last_error_message(), "ClientCancelled") != NULL);
    CHECK(!kmb_status_is_retryable(KMB_ERR_SUBSCRIPTION_CLOSED));
    CHECK_OK(kmb_subscription_close_reason(sub, &reason));
    CHECK(reason != NULL && strcmp(reason, "ClientCancelled") == 0);
    kmb_string_free(reason);
    kmb_subscription_free(sub);

    /* freed: every function says so */
    CHECK_ST(kmb_subscription_next(sub, 0, &ev), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_close(sub), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_id(sub, &v), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_credits(sub, &credits), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_grant_credits(sub, 1), KMB_ERR_INVALID_HANDLE);
    kmb_subscription_free(sub); /* ignored */
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    kmb_status_t status;
    size_t count;
    uint64_t first;
} async_t;

static async_t as = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static void on_batch(void *ud, kmb_status_t st, kmb_events_t *ev) {
    async_t *a = ud;
    pthread_mutex_lock(&a->mu);
    a->calls++;
    a->status = st;
    a->count = ev ? ev->count : 0;
    a->first = ev && ev->count ? ev->offsets[0] : 0;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    kmb_events_free(ev);
}

static int wait_calls(async_t *a, int n) {
    double deadline = t_now() + 30;
    int ok;
    pthread_mutex_lock(&a->mu);
    while (a->calls < n && t_now() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    ok = a->calls >= n;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

static kmb_subscription_t *made_async;
static void on_subscribed(void *ud, kmb_status_t st, kmb_subscription_t *sub) {
    async_t *a = ud;
    pthread_mutex_lock(&a->mu);
    a->calls++;
    a->status = st;
    made_async = sub;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static void test_async(kmb_client_t *c, kmb_client_t *w) {
    uint64_t sid;
    kmb_subscription_t *sub = NULL;
    kmb_events_t *ev = NULL;

    make_stream(c, "b", &sid);
    append_one(w, sid, "ev-0");
    CHECK_OK(kmb_subscribe_async(c, sid, 0, 0, 0, 0, on_subscribed, &as));
    REQUIRE(wait_calls(&as, 1));
    CHECK_OK(as.status);
    sub = made_async;
    REQUIRE(sub != NULL);

    CHECK_OK(kmb_subscription_next_async(sub, 30000, on_batch, &as));
    REQUIRE(wait_calls(&as, 2));
    CHECK_OK(as.status);
    CHECK(as.count == 1 && as.first == 0);

    /* a timeout through the callback */
    CHECK_OK(kmb_subscription_next_async(sub, 100, on_batch, &as));
    REQUIRE(wait_calls(&as, 3));
    CHECK(as.status == KMB_ERR_TIMEOUT);

    /* one next at a time: a second is refused while the first waits */
    CHECK_OK(kmb_subscription_next_async(sub, KMB_NO_TIMEOUT, on_batch, &as));
    CHECK_ST(kmb_subscription_next(sub, 0, &ev), KMB_ERR_BUSY);
    CHECK_ST(kmb_subscription_next_async(sub, 0, on_batch, &as), KMB_ERR_BUSY);
    append_one(w, sid, "ev-1");
    REQUIRE(wait_calls(&as, 4));
    CHECK_OK(as.status);
    CHECK(as.count == 1 && as.first == 1);

    /* freeing with a next pending: its callback still comes, with the close */
    CHECK_OK(kmb_subscription_next_async(sub, KMB_NO_TIMEOUT, on_batch, &as));
    kmb_subscription_free(sub);
    REQUIRE(wait_calls(&as, 5));
    CHECK(as.status == KMB_ERR_SUBSCRIPTION_CLOSED);
    CHECK_ST(kmb_subscription_next_async(sub, 0, on_batch, &as), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_next_async(NULL, 0, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_subscribe_async(c, sid, 0, 0, 0, 0, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
}

static void test_bad_handles(kmb_client_t *c) {
    kmb_subscription_t *sub = (kmb_subscription_t *)&sub;
    kmb_subscription_t *foreign = (kmb_subscription_t *)c; /* a handle of the wrong type */
    kmb_events_t *ev = NULL;
    uint64_t v;
    char *reason = NULL;

    CHECK_ST(kmb_subscribe(c, 1, 0, 0, 0, 0, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_subscribe(NULL, 1, 0, 0, 0, 0, &sub), KMB_ERR_INVALID_HANDLE);
    CHECK(sub == NULL);
    CHECK_ST(kmb_subscription_next(NULL, 0, &ev), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_close(NULL), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_id(NULL, &v), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_next_offset(NULL, &v), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_close_reason(NULL, &reason), KMB_ERR_INVALID_HANDLE);
    CHECK(reason == NULL);
    CHECK_ST(kmb_subscription_close_reason(NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_subscription_node(foreign, &reason), KMB_ERR_INVALID_HANDLE);
    CHECK(reason == NULL);
    CHECK_ST(kmb_subscription_next(foreign, 0, &ev), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_close(foreign), KMB_ERR_INVALID_HANDLE);
    CHECK_ST(kmb_subscription_close((kmb_subscription_t *)&v), KMB_ERR_INVALID_HANDLE);
    kmb_subscription_free(NULL);
    kmb_subscription_free(foreign); /* ignored */
    CHECK_ST(kmb_subscription_grant_credits((kmb_subscription_t *)&ev, 1), KMB_ERR_INVALID_HANDLE);
}

typedef struct {
    kmb_subscription_t *sub;
    kmb_status_t status;
    int started;
} waiter_t;

static void *wait_forever(void *arg) {
    waiter_t *wt = arg;
    kmb_events_t *ev = NULL;
    __atomic_store_n(&wt->started, 1, __ATOMIC_SEQ_CST);
    wt->status = kmb_subscription_next(wt->sub, KMB_NO_TIMEOUT, &ev);
    kmb_events_free(ev);
    return NULL;
}

/* Closing the client wakes a next that waits without timeout; the subscription says why. */
static void test_client_close_wakes_next(const char *addr) {
    kmb_client_t *c = t_connect(addr);
    uint64_t sid;
    waiter_t wt = {NULL, -1, 0};
    pthread_t t;
    kmb_events_t *ev = NULL;

    make_stream(c, "c", &sid);
    CHECK_OK(kmb_subscribe(c, sid, 0, 0, 0, 0, &wt.sub));
    REQUIRE(wt.sub != NULL);
    REQUIRE(pthread_create(&t, NULL, wait_forever, &wt) == 0);
    while (!__atomic_load_n(&wt.started, __ATOMIC_SEQ_CST)) usleep(1000);
    CHECK_OK(kmb_client_close(c));
    pthread_join(t, NULL);
    CHECK(wt.status == KMB_ERR_SUBSCRIPTION_CLOSED || wt.status == KMB_ERR_CLOSED);
    CHECK(kmb_subscription_next(wt.sub, 0, &ev) != KMB_OK);
    CHECK(ev == NULL);
    kmb_subscription_free(wt.sub);
}

int main(void) {
    const char *addr = t_addr();
    kmb_client_t *c = t_connect(addr), *w = t_connect(addr);
    test_receive_timeout_close(c, w);
    test_async(c, w);
    test_bad_handles(c);
    test_client_close_wakes_next(addr);
    CHECK_OK(kmb_client_close(w));
    CHECK_OK(kmb_client_close(c));
    return t_done("test_subscribe");
}
