/* A dead cluster: connecting to a port nobody listens on, and a connected client whose only server
 * is killed. Calls must fail with a connection-class status within their timeouts, never hang. */
#include "testutil.h"

#include <pthread.h>

static int connection_class(kmb_status_t st) {
    return st == KMB_ERR_CONNECTION || st == KMB_ERR_CLUSTER_UNAVAILABLE || st == KMB_ERR_TIMEOUT;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cb_calls = 0;
static kmb_status_t cb_status = KMB_OK;

static void on_ping(void *ud, kmb_status_t st) {
    (void)ud;
    pthread_mutex_lock(&mu);
    cb_calls++;
    cb_status = st;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static kmb_config_t *fast_config(const char *addr) {
    kmb_config_t *cfg = t_config(addr);
    CHECK_OK(kmb_config_set_connect_timeout_ms(cfg, 500));
    CHECK_OK(kmb_config_set_request_timeout_ms(cfg, 2000));
    CHECK_OK(kmb_config_set_retry_max_attempts(cfg, 3));
    CHECK_OK(kmb_config_set_min_idle_conns_per_node(cfg, 0));
    return cfg;
}

static void test_nobody_listens(void) {
    char addr[64];
    kmb_config_t *cfg;
    kmb_client_t *c = (kmb_client_t *)&c;
    kmb_status_t st;
    double t0;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", t_free_port());
    cfg = fast_config(addr);
    t0 = t_now();
    st = kmb_client_connect(cfg, &c);
    printf("     connect to %s: %s after %.2fs: %s\n", addr, kmb_status_name(st), t_now() - t0,
           kmb_last_error_message());
    CHECK(connection_class(st));
    CHECK(c == NULL);
    CHECK(kmb_status_is_retryable(st));
    CHECK(strstr(kmb_last_error_message(), addr) != NULL); /* says what it tried */
    kmb_config_free(cfg);
}

static void test_server_killed(void) {
    t_server srv;
    kmb_config_t *cfg;
    kmb_client_t *c = NULL;
    uint64_t stream = 0, len = 0;
    const uint8_t *evs[1] = {(const uint8_t *)"before"};
    size_t lens[1] = {6};
    kmb_status_t st;
    struct timespec dl;
    double t0;

    t_start_server(&srv, NULL);
    cfg = fast_config(srv.addr);
    REQUIRE(kmb_client_connect(cfg, &c) == KMB_OK);
    kmb_config_free(cfg);
    CHECK_OK(kmb_create_stream(c, "dead-test", KMB_DATA_CLASS_PUBLIC, &stream));
    CHECK_OK(kmb_append(c, stream, evs, lens, 1, NULL, NULL));

    t_kill_server(&srv);

    t0 = t_now();
    st = kmb_ping(c);
    printf("     ping after kill: %s after %.2fs\n", kmb_status_name(st), t_now() - t0);
    CHECK(connection_class(st));
    st = kmb_stream_length(c, stream, &len);
    CHECK(connection_class(st));
    st = kmb_append(c, stream, evs, lens, 1, NULL, NULL);
    CHECK(connection_class(st) || st == KMB_ERR_OUTCOME_UNKNOWN);

    /* the async path reports the failure through its callback, once */
    CHECK_OK(kmb_ping_async(c, on_ping, NULL));
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&mu);
    while (cb_calls == 0 && pthread_cond_timedwait(&cv, &mu, &dl) == 0) {
    }
    CHECK(cb_calls == 1);
    CHECK(connection_class(cb_status));
    pthread_mutex_unlock(&mu);

    CHECK_OK(kmb_client_close(c));
    CHECK(cb_calls == 1);
}

int main(void) {
    test_nobody_listens();
    test_server_killed();
    return t_done("test_dead");
}
