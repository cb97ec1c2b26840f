/* Authentication against a private server started with --auth-token: the server's code and text
 * reach the caller through the status and the thread's last error. */
#include "testutil.h"

static kmb_status_t connect_with(const char *addr, const char *token, uint64_t tenant, kmb_client_t **out) {
    kmb_config_t *cfg = t_config(addr);
    kmb_status_t st;
    if (token != NULL) CHECK_OK(kmb_config_set_auth_token(cfg, token));
    CHECK_OK(kmb_config_set_tenant(cfg, tenant));
    CHECK_OK(kmb_config_set_retry_max_attempts(cfg, 1));
    st = kmb_client_connect(cfg, out);
    kmb_config_free(cfg);
    return st;
}

static void expect_auth_failed(const char *what, kmb_status_t st) {
    CHECK_ST(st, KMB_ERR_AUTHENTICATION_FAILED);
    CHECK(kmb_last_error_server_code() == 3);
    CHECK(!kmb_status_is_retryable(st));
    printf("     %s: %s\n", what, kmb_last_error_message());
}

int main(void) {
    static const char *const extra[] = {"--auth-token", "s3cret=42", NULL};
    t_server srv;
    kmb_client_t *c = NULL;
    uint64_t stream = 0;
    kmb_status_t st;

    t_start_server(&srv, extra);

    /* the right token, for its own tenant */
    REQUIRE(connect_with(srv.addr, "s3cret", 42, &c) == KMB_OK);
    CHECK_OK(kmb_create_stream(c, "auth-ok", KMB_DATA_CLASS_PHI, &stream));
    CHECK(stream >> 32 == 42);
    CHECK_OK(kmb_client_close(c));

    /* A wrong token, and the right token for another tenant: refused with the server's code 3 and
     * its text, and not retryable (retrying cannot help). */
    c = NULL;
    st = connect_with(srv.addr, "wrong", 42, &c);
    if (st == KMB_OK) { /* a server may accept the handshake and refuse the requests */
        st = kmb_create_stream(c, "auth-wrong", KMB_DATA_CLASS_PHI, &stream);
        kmb_client_close(c);
    }
    expect_auth_failed("wrong token", st);
    CHECK(strstr(kmb_last_error_message(), "authentication failed") != NULL); /* the server's text */

    c = NULL;
    st = connect_with(srv.addr, "s3cret", 7, &c);
    if (st == KMB_OK) {
        st = kmb_create_stream(c, "auth-tenant", KMB_DATA_CLASS_PHI, &stream);
        kmb_client_close(c);
    }
    expect_auth_failed("token of another tenant", st);
    CHECK(strstr(kmb_last_error_message(), "tenant") != NULL);

    t_kill_server(&srv);
    return t_done("test_auth");
}
