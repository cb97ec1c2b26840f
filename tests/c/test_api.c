/* Every function of the C API, single-threaded: versions, status codes, the config and its
 * validation, every client operation against a real server, and every bad argument (NULL, freed,
 * closed and foreign handles, invalid UTF-8, empty and oversized batches). */
#include "testutil.h"

#include <math.h>

static int contains(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

static void test_versions(void) {
    char buf[32];
    CHECK(KIMBERLITE_VERSION_NUMBER ==
          KIMBERLITE_VERSION_MAJOR * 1000000 + KIMBERLITE_VERSION_MINOR * 1000 + KIMBERLITE_VERSION_PATCH);
    /* packing: each part in its own decimal field */
    CHECK(KIMBERLITE_VERSION_NUMBER / 1000000 == KIMBERLITE_VERSION_MAJOR);
    CHECK(KIMBERLITE_VERSION_NUMBER / 1000 % 1000 == KIMBERLITE_VERSION_MINOR);
    CHECK(KIMBERLITE_VERSION_NUMBER % 1000 == KIMBERLITE_VERSION_PATCH);
    CHECK(KIMBERLITE_VERSION_NUMBER == 1000); /* 0.1.0 */
    CHECK(KIMBERLITE_VERSION_CHECK(0, 1, 0));
    CHECK(KIMBERLITE_VERSION_CHECK(0, 0, 999));
    CHECK(!KIMBERLITE_VERSION_CHECK(0, 1, 1));
    CHECK(!KIMBERLITE_VERSION_CHECK(1, 0, 0));
    snprintf(buf, sizeof buf, "%d.%d.%d", KIMBERLITE_VERSION_MAJOR, KIMBERLITE_VERSION_MINOR,
             KIMBERLITE_VERSION_PATCH);
    CHECK(strcmp(buf, KIMBERLITE_VERSION) == 0);
    /* header == library */
    CHECK(strcmp(kmb_version(), KIMBERLITE_VERSION) == 0);
    CHECK(kmb_version_number() == KIMBERLITE_VERSION_NUMBER);
}

static const kmb_status_t all_codes[] = {
    KMB_OK, KMB_ERR_INTERNAL, KMB_ERR_NULL_ARGUMENT, KMB_ERR_INVALID_HANDLE, KMB_ERR_INVALID_UTF8,
    KMB_ERR_INVALID_ARGUMENT, KMB_ERR_CLOSED, KMB_ERR_TIMEOUT, KMB_ERR_CONNECTION,
    KMB_ERR_CLUSTER_UNAVAILABLE, KMB_ERR_OUTCOME_UNKNOWN, KMB_ERR_FORKED, KMB_ERR_PROTOCOL,
    KMB_ERR_NO_MEMORY, KMB_ERR_BUSY, KMB_ERR_SERVER_UNKNOWN, KMB_ERR_SERVER_INTERNAL,
    KMB_ERR_INVALID_REQUEST, KMB_ERR_AUTHENTICATION_FAILED, KMB_ERR_TENANT_NOT_FOUND,
    KMB_ERR_STREAM_NOT_FOUND, KMB_ERR_TABLE_NOT_FOUND, KMB_ERR_QUERY_PARSE, KMB_ERR_QUERY_EXECUTION,
    KMB_ERR_POSITION_AHEAD, KMB_ERR_STREAM_ALREADY_EXISTS, KMB_ERR_INVALID_OFFSET, KMB_ERR_STORAGE,
    KMB_ERR_PROJECTION_LAG, KMB_ERR_RATE_LIMITED, KMB_ERR_NOT_LEADER, KMB_ERR_OFFSET_MISMATCH,
    KMB_ERR_SUBSCRIPTION_NOT_FOUND, KMB_ERR_SUBSCRIPTION_CLOSED, KMB_ERR_SUBSCRIPTION_BACKPRESSURE,
    KMB_ERR_API_KEY_NOT_FOUND, KMB_ERR_TENANT_ALREADY_EXISTS, KMB_ERR_CONSENT_NOT_FOUND,
    KMB_ERR_CONSENT_EXPIRED, KMB_ERR_ERASURE_NOT_FOUND, KMB_ERR_ERASURE_ALREADY_COMPLETE,
    KMB_ERR_ERASURE_EXEMPT, KMB_ERR_BREACH_NOT_FOUND, KMB_ERR_EXPORT_NOT_FOUND,
    KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION, KMB_ERR_SERVER_OTHER};

static void test_statuses(void) {
    size_t n = sizeof all_codes / sizeof all_codes[0], i, j;
    int32_t s;
    int retryable = 0;
    CHECK(n == 46); /* 0, 14 client codes, 30 wire codes, SERVER_OTHER */
    CHECK(strcmp(kmb_status_name(KMB_OK), "KMB_OK") == 0);
    CHECK(strcmp(kmb_status_name(KMB_ERR_NOT_LEADER), "KMB_ERR_NOT_LEADER") == 0);
    for (i = 0; i < n; i++) {
        const char *name = kmb_status_name(all_codes[i]);
        CHECK(name != NULL && strcmp(name, "KMB_ERR_UNKNOWN") != 0);
        for (j = 0; j < i; j++) CHECK(strcmp(name, kmb_status_name(all_codes[j])) != 0);
        retryable += kmb_status_is_retryable(all_codes[i]);
    }
    /* the 30 wire codes are 100 + code */
    CHECK(KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION - KMB_ERR_SERVER_UNKNOWN == 29);
    for (s = -2000; s < 2000; s++) CHECK(kmb_status_name(s) != NULL);
    CHECK(strcmp(kmb_status_name(-1), "KMB_ERR_UNKNOWN") == 0);
    CHECK(strcmp(kmb_status_name(99), "KMB_ERR_UNKNOWN") == 0);
    CHECK(retryable == 7);
    CHECK(kmb_status_is_retryable(KMB_ERR_CONNECTION));
    CHECK(kmb_status_is_retryable(KMB_ERR_NOT_LEADER));
    CHECK(!kmb_status_is_retryable(KMB_ERR_OUTCOME_UNKNOWN));
    CHECK(!kmb_status_is_retryable(KMB_ERR_OFFSET_MISMATCH));
    CHECK(!kmb_status_is_retryable(12345));
    CHECK(KMB_DATA_CLASS_NON_PHI == KMB_DATA_CLASS_PUBLIC);
}

static void test_last_error_initial(void) {
    CHECK(strcmp(kmb_last_error_message(), "no error") == 0);
    CHECK(kmb_last_error_status() == KMB_OK);
    CHECK(kmb_last_error_server_code() == -1);
    CHECK(kmb_last_error_request_id() == 0);
}

static void test_config(void) {
    kmb_config_t *cfg = NULL, *freed = NULL;
    int foreign = 42;
    kmb_config_t *bogus = (kmb_config_t *)&foreign;

    CHECK_ST(kmb_config_new(NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK(kmb_last_error_status() == KMB_ERR_NULL_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "out is NULL"));
    CHECK_OK(kmb_config_new(&cfg));
    REQUIRE(cfg != NULL);

    /* every setter, good values */
    CHECK_OK(kmb_config_add_address(cfg, "127.0.0.1:1"));
    CHECK_OK(kmb_config_add_address(cfg, "[::1]:5432"));
    CHECK_OK(kmb_config_set_tenant(cfg, 7));
    CHECK_OK(kmb_config_set_auth_token(cfg, ""));
    CHECK_OK(kmb_config_set_auth_token(cfg, "t\xc3\xa9st"));
    CHECK_OK(kmb_config_set_connect_timeout_ms(cfg, 1000));
    CHECK_OK(kmb_config_set_request_timeout_ms(cfg, 1000));
    CHECK_OK(kmb_config_set_min_idle_conns_per_node(cfg, 0));
    CHECK_OK(kmb_config_set_max_conns_per_node(cfg, 2));
    CHECK_OK(kmb_config_set_max_in_flight_per_conn(cfg, 16));
    CHECK_OK(kmb_config_set_max_conn_lifetime_ms(cfg, 0));
    CHECK_OK(kmb_config_set_max_conn_lifetime_jitter_ms(cfg, 0));
    CHECK_OK(kmb_config_set_max_conn_idle_time_ms(cfg, 0));
    CHECK_OK(kmb_config_set_health_check_period_ms(cfg, 0));
    CHECK_OK(kmb_config_set_keep_alive_ms(cfg, 0));
    CHECK_OK(kmb_config_set_keep_alive_ms(cfg, KMB_KEEP_ALIVE_DISABLED));
    CHECK_OK(kmb_config_set_max_dials_per_node(cfg, 1));
    CHECK_OK(kmb_config_set_retry_max_attempts(cfg, 1));
    CHECK_OK(kmb_config_set_retry_initial_backoff_ms(cfg, 5));
    CHECK_OK(kmb_config_set_retry_max_backoff_ms(cfg, 50));
    CHECK_OK(kmb_config_set_retry_budget_ratio(cfg, 0.5));
    CHECK_OK(kmb_config_set_retry_budget_min_per_sec(cfg, 0));
    CHECK_OK(kmb_config_set_max_redirects(cfg, 0));
    CHECK_OK(kmb_config_set_read_from(cfg, KMB_READ_FROM_ANY_HEALTHY));
    CHECK_OK(kmb_config_set_read_from(cfg, KMB_READ_FROM_LEADER));
    CHECK_OK(kmb_config_set_append_batch_max_events(cfg, 10));
    CHECK_OK(kmb_config_set_append_batch_max_bytes(cfg, 1024));

    /* bad values: refused at once, message names the option */
#define BAD(call, option)                                   \
    do {                                                    \
        CHECK_ST(call, KMB_ERR_INVALID_ARGUMENT);           \
        CHECK(contains(kmb_last_error_message(), option));  \
    } while (0)
    BAD(kmb_config_set_connect_timeout_ms(cfg, 0), "connect_timeout_ms");
    BAD(kmb_config_set_connect_timeout_ms(cfg, UINT64_MAX / 2), "connect_timeout_ms");
    BAD(kmb_config_set_request_timeout_ms(cfg, 0), "request_timeout_ms");
    BAD(kmb_config_set_max_conns_per_node(cfg, 0), "max_conns_per_node");
    BAD(kmb_config_set_max_in_flight_per_conn(cfg, 0), "max_in_flight_per_conn");
    BAD(kmb_config_set_max_conn_lifetime_ms(cfg, UINT64_MAX - 1), "max_conn_lifetime_ms");
    BAD(kmb_config_set_keep_alive_ms(cfg, UINT64_MAX - 1), "keep_alive_ms");
    BAD(kmb_config_set_max_dials_per_node(cfg, 0), "max_dials_per_node");
    BAD(kmb_config_set_retry_max_attempts(cfg, 0), "retry_max_attempts");
    BAD(kmb_config_set_retry_initial_backoff_ms(cfg, 0), "retry_initial_backoff_ms");
    BAD(kmb_config_set_retry_max_backoff_ms(cfg, 0), "retry_max_backoff_ms");
    BAD(kmb_config_set_retry_budget_ratio(cfg, -0.1), "retry_budget_ratio");
    BAD(kmb_config_set_retry_budget_ratio(cfg, 10.5), "retry_budget_ratio");
    BAD(kmb_config_set_retry_budget_ratio(cfg, NAN), "retry_budget_ratio");
    BAD(kmb_config_set_read_from(cfg, 2), "read_from");
    BAD(kmb_config_set_read_from(cfg, -1), "read_from");
    BAD(kmb_config_set_append_batch_max_events(cfg, 0), "append_batch_max_events");
    BAD(kmb_config_set_append_batch_max_bytes(cfg, 0), "append_batch_max_bytes");
    BAD(kmb_config_add_address(cfg, "no-port"), "no-port");
    BAD(kmb_config_add_address(cfg, ""), "host:port");
    BAD(kmb_config_add_address(cfg, "a:99999"), "from 1 to 65535");
    BAD(kmb_config_add_address(cfg, "a:0"), "from 1 to 65535");
    BAD(kmb_config_add_address(cfg, ":5432"), "no host");
    {
        /* a 1 MiB host is refused, and the message does not echo all of it */
        size_t n = (size_t)1 << 20;
        char *huge = malloc(n + 8);
        REQUIRE(huge != NULL);
        memset(huge, 'h', n);
        memcpy(huge + n, ":5432", 6);
        BAD(kmb_config_add_address(cfg, huge), "at most 253");
        CHECK(strlen(kmb_last_error_message()) < 400);
        free(huge);
    }
#undef BAD
    CHECK_ST(kmb_config_add_address(cfg, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_config_add_address(cfg, "h\xff\xfe:1"), KMB_ERR_INVALID_UTF8);
    CHECK(contains(kmb_last_error_message(), "host_port"));
    CHECK_ST(kmb_config_set_auth_token(cfg, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_config_set_auth_token(cfg, "\xc3("), KMB_ERR_INVALID_UTF8);

    /* NULL and foreign handles, every setter */
#define BADH(h)                                                                 \
    do {                                                                        \
        CHECK_ST(kmb_config_add_address(h, "a:1"), KMB_ERR_INVALID_HANDLE);     \
        CHECK_ST(kmb_config_set_tenant(h, 1), KMB_ERR_INVALID_HANDLE);          \
        CHECK_ST(kmb_config_set_auth_token(h, "x"), KMB_ERR_INVALID_HANDLE);    \
        CHECK_ST(kmb_config_set_connect_timeout_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_request_timeout_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_min_idle_conns_per_node(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_max_conns_per_node(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_max_in_flight_per_conn(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_max_conn_lifetime_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_max_conn_lifetime_jitter_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_max_conn_idle_time_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_health_check_period_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_keep_alive_ms(h, 1), KMB_ERR_INVALID_HANDLE);   \
        CHECK_ST(kmb_config_set_max_dials_per_node(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_retry_max_attempts(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_retry_initial_backoff_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_retry_max_backoff_ms(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_retry_budget_ratio(h, 0.1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_retry_budget_min_per_sec(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_max_redirects(h, 1), KMB_ERR_INVALID_HANDLE);   \
        CHECK_ST(kmb_config_set_read_from(h, 0), KMB_ERR_INVALID_HANDLE);       \
        CHECK_ST(kmb_config_set_append_batch_max_events(h, 1), KMB_ERR_INVALID_HANDLE); \
        CHECK_ST(kmb_config_set_append_batch_max_bytes(h, 1), KMB_ERR_INVALID_HANDLE); \
    } while (0)
    BADH(NULL);
    BADH(bogus);
    CHECK_OK(kmb_config_new(&freed));
    kmb_config_free(freed);
    BADH(freed);
    kmb_config_free(freed); /* a second free is ignored */
    kmb_config_free(NULL);
    kmb_config_free(bogus);
    CHECK(foreign == 42); /* never dereferenced */
#undef BADH
    kmb_config_free(cfg);
}

static void test_connect_errors(void) {
    kmb_config_t *cfg = NULL;
    kmb_client_t *c = (kmb_client_t *)&c;
    int foreign = 0;

    CHECK_OK(kmb_config_new(&cfg));
    CHECK_ST(kmb_client_connect(cfg, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_client_connect(NULL, &c), KMB_ERR_INVALID_HANDLE);
    CHECK(c == NULL); /* set to NULL on error */
    CHECK_ST(kmb_client_connect((kmb_config_t *)&foreign, &c), KMB_ERR_INVALID_HANDLE);
    /* no address */
    CHECK_ST(kmb_client_connect(cfg, &c), KMB_ERR_INVALID_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "Addresses"));
    /* relations between options are checked at connect */
    CHECK_OK(kmb_config_add_address(cfg, t_addr()));
    CHECK_OK(kmb_config_set_min_idle_conns_per_node(cfg, 9));
    CHECK_OK(kmb_config_set_max_conns_per_node(cfg, 2));
    CHECK_ST(kmb_client_connect(cfg, &c), KMB_ERR_INVALID_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "MinIdleConnsPerNode"));
    CHECK_OK(kmb_config_set_min_idle_conns_per_node(cfg, 1));
    /* UINT32_MAX (often -1 through an unsigned type) would mean billions of sockets */
    CHECK_OK(kmb_config_set_max_conns_per_node(cfg, UINT32_MAX));
    CHECK_ST(kmb_client_connect(cfg, &c), KMB_ERR_INVALID_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "MaxConnsPerNode"));
    CHECK_OK(kmb_config_set_max_conns_per_node(cfg, 2));
    CHECK_OK(kmb_config_set_min_idle_conns_per_node(cfg, UINT32_MAX));
    CHECK_ST(kmb_client_connect(cfg, &c), KMB_ERR_INVALID_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "MinIdleConnsPerNode"));
    CHECK_OK(kmb_config_set_min_idle_conns_per_node(cfg, 1));
    CHECK_OK(kmb_config_set_retry_initial_backoff_ms(cfg, 100));
    CHECK_OK(kmb_config_set_retry_max_backoff_ms(cfg, 10));
    CHECK_ST(kmb_client_connect(cfg, &c), KMB_ERR_INVALID_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "RetryMaxBackoff"));
    kmb_config_free(cfg);
    /* a freed config cannot connect */
    CHECK_ST(kmb_client_connect(cfg, &c), KMB_ERR_INVALID_HANDLE);
}

/* unique_name makes a stream name no earlier run used. */
static void unique_name(char *buf, size_t n, const char *what) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, n, "ctest-%s-%d-%ld-%ld", what, (int)getpid(), (long)ts.tv_sec, ts.tv_nsec);
}

static void test_server_ops(kmb_client_t *c) {
    kmb_server_info_t *info = NULL;
    char *json = NULL;
    size_t i;

    CHECK_OK(kmb_ping(c));
    CHECK_OK(kmb_sync(c));
    CHECK_OK(kmb_server_info(c, &info));
    REQUIRE(info != NULL);
    CHECK(info->protocol_version == 5);
    CHECK(info->build_version != NULL && info->build_version[0] != '\0');
    CHECK(info->cluster_mode == KMB_CLUSTER_MODE_STANDALONE ||
          info->cluster_mode == KMB_CLUSTER_MODE_CLUSTERED);
    for (i = 0; i < info->capability_count; i++) CHECK(info->capabilities[i] != NULL);
    kmb_server_info_free(info);
    info = (kmb_server_info_t *)&info;
    CHECK_ST(kmb_server_info(c, NULL), KMB_ERR_NULL_ARGUMENT);

    CHECK_OK(kmb_client_stats_json(c, &json));
    REQUIRE(json != NULL);
    CHECK(json[0] == '{');
    CHECK(contains(json, "\"nodes\""));
    CHECK(contains(json, "\"operations\""));
    CHECK(contains(json, "\"latency_p99_ns\""));
    kmb_string_free(json);
    CHECK_ST(kmb_client_stats_json(c, NULL), KMB_ERR_NULL_ARGUMENT);
    kmb_string_free(NULL);
    kmb_events_free(NULL);
    kmb_server_info_free(NULL);
}

static void test_streams(kmb_client_t *c) {
    char name[128];
    uint64_t id = 0, id2 = 0, dummy = 0;
    int dc;

    unique_name(name, sizeof name, "create");
    CHECK_OK(kmb_create_stream(c, name, KMB_DATA_CLASS_NON_PHI, &id));
    CHECK(id != 0);
    CHECK_OK(kmb_create_stream(c, name, KMB_DATA_CLASS_PHI, &id2)); /* idempotent by name */
    CHECK(id2 == id);
    for (dc = KMB_DATA_CLASS_PHI; dc <= KMB_DATA_CLASS_PUBLIC; dc++) {
        char n2[160];
        snprintf(n2, sizeof n2, "%s-class-%d", name, dc);
        CHECK_OK(kmb_create_stream(c, n2, dc, &dummy));
    }
    CHECK_ST(kmb_create_stream(c, name, 8, &dummy), KMB_ERR_INVALID_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "data_class"));
    CHECK_ST(kmb_create_stream(c, name, -1, &dummy), KMB_ERR_INVALID_ARGUMENT);
    CHECK_ST(kmb_create_stream(c, NULL, 0, &dummy), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_create_stream(c, name, 0, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_create_stream(c, "bad\xff", 0, &dummy), KMB_ERR_INVALID_UTF8);
    CHECK(contains(kmb_last_error_message(), "name"));
}

static void test_append_read(kmb_client_t *c) {
    char name[128];
    uint64_t id = 0, first = 99, len = 0, expected, from;
    const uint8_t *evs[3];
    size_t lens[3];
    kmb_events_t *ev = NULL;
    uint8_t *big;
    size_t total = 0, seen = 0;
    int pages = 0;

    unique_name(name, sizeof name, "append");
    REQUIRE(kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &id) == KMB_OK);

    evs[0] = (const uint8_t *)"alpha";
    lens[0] = 5;
    evs[1] = NULL; /* an empty event may be NULL */
    lens[1] = 0;
    evs[2] = (const uint8_t *)"gamma\0x";
    lens[2] = 7; /* binary, with a NUL inside */
    CHECK_OK(kmb_append(c, id, evs, lens, 3, NULL, &first));
    CHECK(first == 0);
    CHECK_OK(kmb_stream_length(c, id, &len));
    CHECK(len == 3);

    expected = 3;
    CHECK_OK(kmb_append(c, id, evs, lens, 1, &expected, &first));
    CHECK(first == 3);
    CHECK_OK(kmb_append(c, id, evs, lens, 1, NULL, NULL)); /* first_offset_out is optional */

    /* optimistic concurrency: the server's code, text and request id reach the caller */
    expected = 1;
    CHECK_ST(kmb_append(c, id, evs, lens, 1, &expected, &first), KMB_ERR_OFFSET_MISMATCH);
    CHECK(kmb_last_error_server_code() == 16);
    CHECK(kmb_last_error_request_id() != 0);
    CHECK(contains(kmb_last_error_message(), "offset mismatch"));
    CHECK(!kmb_status_is_retryable(kmb_last_error_status()));

    /* bad batches */
    CHECK_ST(kmb_append(c, id, NULL, NULL, 0, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
    CHECK_ST(kmb_append(c, id, evs, lens, 0, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
    CHECK_ST(kmb_append(c, id, NULL, lens, 1, NULL, &first), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_append(c, id, evs, NULL, 1, NULL, &first), KMB_ERR_NULL_ARGUMENT);
    lens[1] = 4; /* NULL data with a length */
    CHECK_ST(kmb_append(c, id, evs, lens, 3, NULL, &first), KMB_ERR_NULL_ARGUMENT);
    CHECK(contains(kmb_last_error_message(), "events[1]"));
    lens[1] = 0;
    CHECK_ST(kmb_append(c, id, evs, lens, (size_t)1 << 40, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
    {
        /* more empty events than the server takes in one append: refused before sending */
        size_t n = KMB_MAX_BATCH_EVENTS + 1, i;
        const uint8_t **many = calloc(n, sizeof *many);
        size_t *many_lens = calloc(n, sizeof *many_lens);
        uint64_t before = 0, after = 0;
        REQUIRE(many != NULL && many_lens != NULL);
        for (i = 0; i < n; i++) many[i] = (const uint8_t *)"";
        CHECK_OK(kmb_stream_length(c, id, &before));
        CHECK_ST(kmb_append(c, id, many, many_lens, n, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
        CHECK(contains(kmb_last_error_message(), "KMB_MAX_BATCH_EVENTS"));
        CHECK_OK(kmb_stream_length(c, id, &after));
        CHECK(after == before);
        free(many);
        free(many_lens);
    }
    big = calloc(1, (size_t)KMB_MAX_BATCH_BYTES + 1);
    REQUIRE(big != NULL);
    evs[0] = big;
    lens[0] = (size_t)KMB_MAX_BATCH_BYTES + 1;
    CHECK_ST(kmb_append(c, id, evs, lens, 1, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
    evs[0] = big;
    lens[0] = KMB_MAX_BATCH_BYTES / 2 + 1;
    evs[1] = big;
    lens[1] = KMB_MAX_BATCH_BYTES / 2 + 1;
    CHECK_ST(kmb_append(c, id, evs, lens, 2, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
    lens[0] = KMB_MAX_BATCH_BYTES; /* payload fits, the encoded frame does not */
    CHECK_ST(kmb_append(c, id, evs, lens, 1, NULL, &first), KMB_ERR_INVALID_ARGUMENT);
    free(big);
    CHECK_OK(kmb_stream_length(c, id, &len));
    CHECK(len == 5); /* nothing refused was appended */

    /* a stream that does not exist */
    evs[0] = (const uint8_t *)"x";
    lens[0] = 1;
    CHECK_ST(kmb_append(c, id + 100000, evs, lens, 1, NULL, &first), KMB_ERR_STREAM_NOT_FOUND);
    CHECK(kmb_last_error_server_code() == 5);
    CHECK(contains(kmb_last_error_message(), "not found"));
    CHECK_ST(kmb_stream_length(c, id + 100000, &len), KMB_ERR_STREAM_NOT_FOUND);
    CHECK_ST(kmb_stream_length(c, id, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_OK(kmb_read(c, id + 100000, 0, 1024, &ev)); /* reads as empty */
    REQUIRE(ev != NULL);
    CHECK(ev->count == 0 && ev->has_more == 0 && ev->next_offset == 0);
    kmb_events_free(ev);

    /* one read with the default page */
    CHECK_OK(kmb_read(c, id, 0, 0, &ev));
    REQUIRE(ev != NULL);
    CHECK(ev->count == 5);
    if (ev->count == 5) {
        CHECK(ev->lengths[0] == 5 && memcmp(ev->data[0], "alpha", 5) == 0);
        CHECK(ev->lengths[1] == 0);
        CHECK(ev->lengths[2] == 7 && memcmp(ev->data[2], "gamma\0x", 7) == 0);
        CHECK(ev->offsets[0] == 0 && ev->offsets[4] == 4);
        CHECK(ev->next_offset == 5);
    }
    kmb_events_free(ev);

    /* the read loop: a page of about one event at a time, following next_offset */
    from = 0;
    for (;;) {
        size_t i;
        CHECK_OK(kmb_read(c, id, from, 1, &ev));
        REQUIRE(ev != NULL);
        pages++;
        for (i = 0; i < ev->count; i++) {
            CHECK(ev->offsets[i] == from + i);
            total += ev->lengths[i];
            seen++;
        }
        CHECK(ev->next_offset == from + ev->count);
        from = ev->next_offset;
        if (!ev->has_more) {
            CHECK(ev->count == 0);
            kmb_events_free(ev);
            break;
        }
        kmb_events_free(ev);
        REQUIRE(pages < 100);
    }
    CHECK(seen == 5);
    CHECK(total == 5 + 0 + 7 + 5 + 5);
    CHECK(from == 5);
    ev = (kmb_events_t *)&ev;
    CHECK_ST(kmb_read(c, id, 0, 10, NULL), KMB_ERR_NULL_ARGUMENT);
}

static void ignore_u64(void *ud, kmb_status_t st, uint64_t v) { (void)ud; (void)st; (void)v; }
static void ignore_st(void *ud, kmb_status_t st) { (void)ud; (void)st; }
static void ignore_ev(void *ud, kmb_status_t st, kmb_events_t *e) { (void)ud; (void)st; kmb_events_free(e); }
static void ignore_info(void *ud, kmb_status_t st, kmb_server_info_t *i) { (void)ud; (void)st; kmb_server_info_free(i); }

/* every client function on a bad handle h answers want, never crashes */
static void check_bad_client(kmb_client_t *h, kmb_status_t want) {
    uint64_t v = 0;
    kmb_events_t *ev = (kmb_events_t *)&v;
    kmb_server_info_t *info = (kmb_server_info_t *)&v;
    char *json = (char *)&v;
    const uint8_t *evs[1] = {(const uint8_t *)"x"};
    size_t lens[1] = {1};
    CHECK_ST(kmb_ping(h), want);
    CHECK_ST(kmb_sync(h), want);
    CHECK_ST(kmb_create_stream(h, "s", 0, &v), want);
    CHECK_ST(kmb_append(h, 1, evs, lens, 1, NULL, &v), want);
    CHECK_ST(kmb_read(h, 1, 0, 10, &ev), want);
    CHECK(ev == NULL);
    CHECK_ST(kmb_stream_length(h, 1, &v), want);
    CHECK_ST(kmb_server_info(h, &info), want);
    CHECK(info == NULL);
    CHECK_ST(kmb_client_stats_json(h, &json), want);
    CHECK(json == NULL);
    CHECK_ST(kmb_create_stream_async(h, "s", 0, ignore_u64, NULL), want);
    CHECK_ST(kmb_append_async(h, 1, evs, lens, 1, NULL, ignore_u64, NULL), want);
    CHECK_ST(kmb_read_async(h, 1, 0, 10, ignore_ev, NULL), want);
    CHECK_ST(kmb_stream_length_async(h, 1, ignore_u64, NULL), want);
    CHECK_ST(kmb_sync_async(h, ignore_st, NULL), want);
    CHECK_ST(kmb_ping_async(h, ignore_st, NULL), want);
    CHECK_ST(kmb_server_info_async(h, ignore_info, NULL), want);
    CHECK_ST(kmb_client_close(h), want);
}

static void test_async_bad_args(kmb_client_t *c) {
    const uint8_t *evs[1] = {(const uint8_t *)"x"};
    size_t lens[1] = {1};
    CHECK_ST(kmb_create_stream_async(c, "s", 0, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_create_stream_async(c, NULL, 0, ignore_u64, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_create_stream_async(c, "\xff", 0, ignore_u64, NULL), KMB_ERR_INVALID_UTF8);
    CHECK_ST(kmb_create_stream_async(c, "s", 99, ignore_u64, NULL), KMB_ERR_INVALID_ARGUMENT);
    CHECK_ST(kmb_append_async(c, 1, evs, lens, 1, NULL, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_append_async(c, 1, NULL, NULL, 0, NULL, ignore_u64, NULL), KMB_ERR_INVALID_ARGUMENT);
    CHECK_ST(kmb_append_async(c, 1, NULL, lens, 1, NULL, ignore_u64, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_read_async(c, 1, 0, 1, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_stream_length_async(c, 1, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_sync_async(c, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_ping_async(c, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_server_info_async(c, NULL, NULL), KMB_ERR_NULL_ARGUMENT);
}

int main(void) {
    kmb_client_t *c;
    kmb_config_t *cfg;
    int foreign = 7;

    test_last_error_initial();
    test_versions();
    test_statuses();
    test_config();
    test_connect_errors();

    c = t_connect(t_addr());
    test_server_ops(c);
    test_streams(c);
    test_append_read(c);
    test_async_bad_args(c);

    /* NULL, foreign and wrong-type handles */
    check_bad_client(NULL, KMB_ERR_INVALID_HANDLE);
    check_bad_client((kmb_client_t *)&foreign, KMB_ERR_INVALID_HANDLE);
    CHECK(foreign == 7);
    cfg = t_config(t_addr());
    check_bad_client((kmb_client_t *)cfg, KMB_ERR_INVALID_HANDLE); /* a config is not a client */
    CHECK_ST(kmb_config_set_tenant((kmb_config_t *)c, 1), KMB_ERR_INVALID_HANDLE);
    kmb_config_free((kmb_config_t *)c); /* ignored: not a config */
    CHECK_OK(kmb_ping(c));
    kmb_config_free(cfg);

    /* closed handle: dead for good */
    CHECK_OK(kmb_client_close(c));
    check_bad_client(c, KMB_ERR_INVALID_HANDLE);
    CHECK(contains(kmb_last_error_message(), "closed"));

    return t_done("test_api");
}
