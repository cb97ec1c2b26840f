/* test_observe: a leader killed under load, seen through the log and event callbacks.
 * KMB_TEST_DEV_LOG names the output of a running `kimberlite dev --nodes 3` ("node=ID pid=PID
 * addr=HOST:PORT" and "leader=ID addr=HOST:PORT" lines). The test appends from a thread, kills the
 * leader with SIGKILL, and checks that the event callback reports KMB_EVENT_LEADER_CHANGED with
 * the new leader's address, that a "kimberlite: leader changed leader=ADDR" record reached the log
 * callback, and that the Prometheus text holds the latency histograms. */
#include "testutil.h"

#include <pthread.h>

#define MAX_NODES 8

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char new_leader[128];
static char leader_log[64][256];
static int leader_logs = 0;
static int records = 0;
static volatile int stop_writer = 0;
static volatile long acked = 0;

static void on_log(void *ud, int32_t level, const char *message) {
    (void)ud;
    (void)level;
    pthread_mutex_lock(&mu);
    records++;
    if (strncmp(message, "kimberlite: leader changed", 26) == 0 && leader_logs < 64)
        snprintf(leader_log[leader_logs++], sizeof leader_log[0], "%s", message);
    pthread_mutex_unlock(&mu);
}

static void on_event(void *ud, int32_t kind, const char *node, const char *previous, uint64_t view,
                     const char *reason) {
    (void)ud;
    (void)previous;
    (void)view;
    (void)reason;
    if (kind != KMB_EVENT_LEADER_CHANGED) return;
    pthread_mutex_lock(&mu);
    snprintf(new_leader, sizeof new_leader, "%s", node);
    pthread_mutex_unlock(&mu);
}

typedef struct {
    kmb_client_t *client;
    uint64_t stream;
} writer_arg;

static void *writer(void *p) {
    writer_arg *w = p;
    char buf[64];
    for (long i = 0; !stop_writer; i++) {
        int n = snprintf(buf, sizeof buf, "observe-%ld", i);
        const uint8_t *ev[1] = {(const uint8_t *)buf};
        size_t len[1] = {(size_t)n};
        uint64_t off;
        if (kmb_append(w->client, w->stream, ev, len, 1, NULL, &off) == KMB_OK) acked++;
    }
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    const char *path = getenv("KMB_TEST_DEV_LOG");
    if (path == NULL) {
        printf("skip test_observe (KMB_TEST_DEV_LOG not set)\n");
        return 0;
    }
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    int ids[MAX_NODES], pids[MAX_NODES], n = 0, leader = -1;
    char addrs[MAX_NODES][64], line[256];
    while (fgets(line, sizeof line, f)) {
        int id, pid;
        char addr[64];
        if (sscanf(line, "node=%d pid=%d addr=%63s", &id, &pid, addr) == 3 && n < MAX_NODES) {
            ids[n] = id;
            pids[n] = pid;
            snprintf(addrs[n], sizeof addrs[n], "%s", addr);
            n++;
        } else if (sscanf(line, "leader=%d", &id) == 1) {
            leader = id;
        }
    }
    fclose(f);
    REQUIRE(n == 3 && leader > 0);
    int li = -1;
    for (int i = 0; i < n; i++)
        if (ids[i] == leader) li = i;
    REQUIRE(li >= 0);

    kmb_config_t *cfg = NULL;
    CHECK_OK(kmb_config_new(&cfg));
    for (int i = 0; i < n; i++) CHECK_OK(kmb_config_add_address(cfg, addrs[i]));
    CHECK_OK(kmb_config_set_tenant(cfg, 1));
    CHECK_OK(kmb_config_set_health_check_period_ms(cfg, 500));
    CHECK_OK(kmb_config_set_log_callback(cfg, KMB_LOG_DEBUG, on_log, NULL));
    CHECK_OK(kmb_config_set_event_callback(cfg, on_event, NULL));
    CHECK_ST(kmb_config_set_log_callback(NULL, KMB_LOG_INFO, on_log, NULL), KMB_ERR_INVALID_HANDLE);
    CHECK(strcmp(kmb_event_kind_name(KMB_EVENT_NODE_DOWN), "node_down") == 0);
    CHECK(strcmp(kmb_event_kind_name(999), "unknown") == 0);
    kmb_client_t *client = NULL;
    CHECK_OK(kmb_client_connect(cfg, &client));
    kmb_config_free(cfg);
    REQUIRE(client != NULL);
    writer_arg w = {client, 0};
    CHECK_OK(kmb_create_stream(client, "observe-c", KMB_DATA_CLASS_NON_PHI, &w.stream));

    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, writer, &w) == 0);
    double deadline = now_s() + 30;
    while (acked < 50 && now_s() < deadline) usleep(10000);
    REQUIRE(acked >= 50);
    REQUIRE(kill(pids[li], SIGKILL) == 0);

    /* Wait (bounded) for an event naming a leader other than the one killed. */
    int seen = 0;
    deadline = now_s() + 60;
    while (!seen && now_s() < deadline) {
        pthread_mutex_lock(&mu);
        seen = new_leader[0] != '\0' && strcmp(new_leader, addrs[li]) != 0;
        pthread_mutex_unlock(&mu);
        if (!seen) usleep(10000);
    }
    CHECK(seen);
    char want[200];
    pthread_mutex_lock(&mu);
    snprintf(want, sizeof want, "kimberlite: leader changed leader=%s", new_leader);
    pthread_mutex_unlock(&mu);
    int logged = 0;
    deadline = now_s() + 10;
    while (!logged && now_s() < deadline) {
        pthread_mutex_lock(&mu);
        for (int i = 0; i < leader_logs; i++)
            if (strncmp(leader_log[i], want, strlen(want)) == 0) logged = 1;
        pthread_mutex_unlock(&mu);
        if (!logged) usleep(10000);
    }
    CHECK(logged);
    long before = acked;
    deadline = now_s() + 60;
    while (acked < before + 50 && now_s() < deadline) usleep(10000);
    CHECK(acked >= before + 50);
    stop_writer = 1;
    pthread_join(th, NULL);

    char *text = NULL;
    CHECK_OK(kmb_client_metrics_text(client, &text));
    CHECK(text != NULL && strstr(text, "kimberlite_client_operation_duration_seconds_bucket{op=\"append\"") != NULL);
    CHECK(text != NULL && strstr(text, "kimberlite_client_node_role{node=\"") != NULL);
    kmb_string_free(text);
    CHECK_ST(kmb_client_metrics_text(client, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_OK(kmb_client_close(client));
    CHECK_ST(kmb_client_metrics_text(client, &text), KMB_ERR_INVALID_HANDLE);
    CHECK(text == NULL);

    if (t_failures) {
        printf("FAIL test_observe: %d of %d checks\n", t_failures, t_checks);
        return 1;
    }
    printf("ok   test_observe (%d checks, %d log records, new leader %s)\n", t_checks, records, new_leader);
    return 0;
}
