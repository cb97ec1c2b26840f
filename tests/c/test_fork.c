/* fork(): the child gets KMB_ERR_FORKED from every call at once (an alarm turns a hang into a
 * failure), the parent keeps working. */
#include "testutil.h"

static int child(kmb_client_t *c, kmb_config_t *cfg) {
    int bad = 0;
    uint64_t v;
    kmb_events_t *ev = NULL;
    kmb_server_info_t *info = NULL;
    kmb_config_t *cfg2 = NULL;
    kmb_client_t *c2 = NULL;
    char *json = NULL;
    const uint8_t *evs[1] = {(const uint8_t *)"x"};
    size_t lens[1] = {1};
    alarm(10); /* a hang would be a failure, never a stuck test */
#define F(expr)                                                                  \
    do {                                                                         \
        if ((expr) != KMB_ERR_FORKED) {                                          \
            fprintf(stderr, "child: %s did not return KMB_ERR_FORKED\n", #expr); \
            bad++;                                                               \
        }                                                                        \
    } while (0)
    F(kmb_ping(c));
    F(kmb_sync(c));
    F(kmb_create_stream(c, "s", 0, &v));
    F(kmb_append(c, 1, evs, lens, 1, NULL, &v));
    F(kmb_read(c, 1, 0, 10, &ev));
    F(kmb_stream_length(c, 1, &v));
    F(kmb_server_info(c, &info));
    F(kmb_client_stats_json(c, &json));
    F(kmb_create_stream_async(c, "s", 0, NULL, NULL));
    F(kmb_append_async(c, 1, evs, lens, 1, NULL, NULL, NULL));
    F(kmb_read_async(c, 1, 0, 10, NULL, NULL));
    F(kmb_stream_length_async(c, 1, NULL, NULL));
    F(kmb_sync_async(c, NULL, NULL));
    F(kmb_ping_async(c, NULL, NULL));
    F(kmb_server_info_async(c, NULL, NULL));
    F(kmb_config_new(&cfg2));
    F(kmb_config_add_address(cfg, "a:1"));
    F(kmb_config_set_tenant(cfg, 1));
    F(kmb_config_set_auth_token(cfg, "t"));
    F(kmb_config_set_connect_timeout_ms(cfg, 1));
    F(kmb_config_set_request_timeout_ms(cfg, 1));
    F(kmb_config_set_min_idle_conns_per_node(cfg, 1));
    F(kmb_config_set_max_conns_per_node(cfg, 1));
    F(kmb_config_set_max_in_flight_per_conn(cfg, 1));
    F(kmb_config_set_max_conn_lifetime_ms(cfg, 1));
    F(kmb_config_set_max_conn_lifetime_jitter_ms(cfg, 1));
    F(kmb_config_set_max_conn_idle_time_ms(cfg, 1));
    F(kmb_config_set_health_check_period_ms(cfg, 1));
    F(kmb_config_set_keep_alive_ms(cfg, 1));
    F(kmb_config_set_max_dials_per_node(cfg, 1));
    F(kmb_config_set_retry_max_attempts(cfg, 1));
    F(kmb_config_set_retry_initial_backoff_ms(cfg, 1));
    F(kmb_config_set_retry_max_backoff_ms(cfg, 1));
    F(kmb_config_set_retry_budget_ratio(cfg, 0.1));
    F(kmb_config_set_retry_budget_min_per_sec(cfg, 1));
    F(kmb_config_set_max_redirects(cfg, 1));
    F(kmb_config_set_read_from(cfg, 0));
    F(kmb_config_set_append_batch_max_events(cfg, 1));
    F(kmb_config_set_append_batch_max_bytes(cfg, 1));
    F(kmb_client_connect(cfg, &c2));
    F(kmb_client_close(c));
#undef F
    if (kmb_last_error_status() != KMB_ERR_FORKED) bad++;
    if (strstr(kmb_last_error_message(), "fork") == NULL) bad++;
    /* what needs no Go still works */
    if (strcmp(kmb_status_name(KMB_ERR_FORKED), "KMB_ERR_FORKED") != 0) bad++;
    if (strcmp(kmb_version(), KIMBERLITE_VERSION) != 0) bad++;
    kmb_config_free(cfg); /* must not hang */
    kmb_events_free(NULL);
    kmb_string_free(NULL);
    kmb_server_info_free(NULL);
    return bad;
}

int main(void) {
    kmb_config_t *cfg = t_config(t_addr());
    kmb_client_t *c = NULL;
    pid_t pid;
    int status = 0, round;
    char name[96];
    uint64_t stream = 0, off = 0;
    const uint8_t *evs[1] = {(const uint8_t *)"after-fork"};
    size_t lens[1] = {10};

    REQUIRE(kmb_client_connect(cfg, &c) == KMB_OK);
    CHECK_OK(kmb_ping(c));
    for (round = 0; round < 2; round++) {
        int fds[2];
        char buf[64];
        ssize_t got = 0, r;
        REQUIRE(pipe(fds) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int n;
            close(fds[0]);
            n = snprintf(buf, sizeof buf, "child failures: %d\n", child(c, cfg));
            if (write(fds[1], buf, (size_t)n) != n) _exit(3);
            /* End without exit processing: under valgrind, an exit would run a leak check in the
             * child, where memory that only the vanished Go threads referenced looks lost. */
            kill(getpid(), SIGKILL);
            _exit(2);
        }
        close(fds[1]);
        while (got < (ssize_t)sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0) got += r;
        buf[got] = '\0';
        close(fds[0]);
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(strcmp(buf, "child failures: 0\n") == 0); /* nothing when it hung (alarm) or crashed */
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
            fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
        if (WIFEXITED(status)) fprintf(stderr, "child exited with %d: %s", WEXITSTATUS(status), buf);
        /* the parent keeps working */
        CHECK_OK(kmb_ping(c));
        snprintf(name, sizeof name, "ctest-fork-%d-%d", (int)getpid(), round);
        CHECK_OK(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &stream));
        CHECK_OK(kmb_append(c, stream, evs, lens, 1, NULL, &off));
        CHECK_OK(kmb_config_set_tenant(cfg, 0));
    }
    CHECK_OK(kmb_client_close(c));
    kmb_config_free(cfg);
    return t_done("test_fork");
}
