/* Overload through one client: 70,000 async calls against one healthy server, far more than it
 * answers within the 300 ms request timeout. Calls may time out (or be refused with KMB_ERR_BUSY
 * past KMB_MAX_PENDING_ASYNC), but none may fail with KMB_ERR_CONNECTION or
 * KMB_ERR_CLUSTER_UNAVAILABLE: a call that misses its deadline fails alone, and the connection
 * stays up for the others. KMB_TEST_LIGHT (valgrind, ASan) runs 5,000 calls. */
#include "testutil.h"

#include <stdatomic.h>

static atomic_int done, ok, timeouts, unknown, connection, unavailable, other;

static void count(kmb_status_t st) {
    switch (st) {
    case KMB_OK: atomic_fetch_add(&ok, 1); break;
    case KMB_ERR_TIMEOUT: atomic_fetch_add(&timeouts, 1); break;
    case KMB_ERR_OUTCOME_UNKNOWN: atomic_fetch_add(&unknown, 1); break;
    case KMB_ERR_CONNECTION: atomic_fetch_add(&connection, 1); break;
    case KMB_ERR_CLUSTER_UNAVAILABLE: atomic_fetch_add(&unavailable, 1); break;
    default:
        if (atomic_fetch_add(&other, 1) == 0)
            fprintf(stderr, "unexpected status %s: %s\n", kmb_status_name(st), kmb_last_error_message());
    }
    atomic_fetch_add(&done, 1);
}

static void on_u64(void *ud, kmb_status_t st, uint64_t v) {
    (void)ud;
    (void)v;
    count(st);
}

static void on_events(void *ud, kmb_status_t st, kmb_events_t *ev) {
    (void)ud;
    kmb_events_free(ev);
    count(st);
}

int main(void) {
    int calls = getenv("KMB_TEST_LIGHT") ? 5000 : 70000;
    int started = 0, busy = 0, i;
    uint64_t stream = 0;
    char name[96];
    static uint8_t payload[2048];
    kmb_config_t *cfg = t_config(t_addr());
    kmb_client_t *c = NULL;
    double deadline;

    CHECK_OK(kmb_config_set_request_timeout_ms(cfg, 300));
    REQUIRE(kmb_client_connect(cfg, &c) == KMB_OK);
    kmb_config_free(cfg);
    snprintf(name, sizeof name, "ctest-overload-%d-%ld", (int)getpid(), (long)time(NULL));
    REQUIRE(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &stream) == KMB_OK);

    for (i = 0; i < calls; i++) {
        kmb_status_t st;
        if (i % 2 == 0) {
            const uint8_t *evs[1] = {payload};
            size_t lens[1] = {sizeof payload};
            /* a distinct event: the call's number in the first bytes (copied before return) */
            memcpy(payload, &i, sizeof i);
            st = kmb_append_async(c, stream, evs, lens, 1, NULL, on_u64, NULL);
        } else {
            st = kmb_read_async(c, stream, 0, 64 << 10, on_events, NULL);
        }
        if (st == KMB_OK) started++;
        else if (st == KMB_ERR_BUSY) busy++;
        else {
            fprintf(stderr, "call %d not started: %s: %s\n", i, kmb_status_name(st), kmb_last_error_message());
            other++;
        }
    }
    deadline = t_now() + 120;
    while (atomic_load(&done) < started && t_now() < deadline) usleep(10000);
    REQUIRE(atomic_load(&done) == started);
    printf("     %d calls: %d started, %d busy; ok %d, timeout %d, outcome unknown %d, connection %d, "
           "unavailable %d, other %d\n",
           calls, started, busy, atomic_load(&ok), atomic_load(&timeouts), atomic_load(&unknown),
           atomic_load(&connection), atomic_load(&unavailable), atomic_load(&other));
    CHECK(atomic_load(&connection) == 0);
    CHECK(atomic_load(&unavailable) == 0);
    CHECK(atomic_load(&other) == 0);
    CHECK(started + busy == calls);
    /* the client is healthy once the server has worked off the backlog */
    deadline = t_now() + 30;
    while (kmb_ping(c) != KMB_OK && t_now() < deadline) usleep(10000);
    CHECK_OK(kmb_ping(c));
    CHECK_OK(kmb_client_close(c));
    return t_done("test_overload");
}
