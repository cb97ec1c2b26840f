/* TLS through the C ABI against private servers: certificates made at test time by
 * `kimberlite certs`, the CA given as a file and as PEM, mutual TLS, and the refusals
 * (KMB_ERR_TLS with the verifier's reason, not retryable). */
#include "testutil.h"

static char pki[128], other[128];

static void make_certs(char *dir, size_t n) {
    char cmd[400];
    snprintf(dir, n, "/tmp/kmb-ctest-pki-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "'%s' certs --dir '%s' >/dev/null", getenv("KIMBERLITE_BIN"), dir);
    REQUIRE(system(cmd) == 0);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    REQUIRE(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc((size_t)n + 1, 1);
    REQUIRE(buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    return buf;
}

static const char *in(const char *dir, const char *name) {
    static char paths[8][200];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 200, "%s/%s", dir, name);
    return p;
}

/* try_connect connects with TLS on and the given CA file (or NULL), client certificate files
 * (or NULL), and runs one call. */
static kmb_status_t try_connect(const char *addr, const char *ca_file, const char *ca_pem, const char *cert,
                                const char *key) {
    kmb_config_t *cfg = t_config(addr);
    kmb_client_t *c = NULL;
    uint64_t stream = 0;
    kmb_status_t st;
    CHECK_OK(kmb_config_set_tls(cfg, true));
    if (ca_file != NULL) CHECK_OK(kmb_config_set_tls_ca_file(cfg, ca_file));
    if (ca_pem != NULL) CHECK_OK(kmb_config_set_tls_ca_pem(cfg, ca_pem));
    if (cert != NULL) CHECK_OK(kmb_config_set_tls_cert_file(cfg, cert));
    if (key != NULL) CHECK_OK(kmb_config_set_tls_key_file(cfg, key));
    CHECK_OK(kmb_config_set_retry_max_attempts(cfg, 8));
    st = kmb_client_connect(cfg, &c);
    kmb_config_free(cfg);
    if (st != KMB_OK) return st;
    st = kmb_create_stream(c, "c-tls", KMB_DATA_CLASS_NON_PHI, &stream);
    CHECK_OK(kmb_client_close(c));
    return st;
}

static void expect_tls(const char *what, kmb_status_t st, const char *reason) {
    CHECK_ST(st, KMB_ERR_TLS);
    CHECK(!kmb_status_is_retryable(st));
    CHECK(strstr(kmb_last_error_message(), reason) != NULL);
    printf("     %s: %s\n", what, kmb_last_error_message());
}

int main(void) {
    t_server tls_srv, mtls_srv;
    kmb_config_t *cfg;
    char *ca_pem;
    const char *tls_args[5], *mtls_args[7];

    make_certs(pki, sizeof pki);
    make_certs(other, sizeof other);
    tls_args[0] = "--tls-cert";
    tls_args[1] = in(pki, "node.crt");
    tls_args[2] = "--tls-key";
    tls_args[3] = in(pki, "node.key");
    tls_args[4] = NULL;
    t_start_server(&tls_srv, tls_args);
    memcpy(mtls_args, tls_args, 4 * sizeof tls_args[0]);
    mtls_args[4] = "--tls-client-ca";
    mtls_args[5] = in(pki, "ca.crt");
    mtls_args[6] = NULL;
    t_start_server(&mtls_srv, mtls_args);

    /* the right CA, as a file and as PEM text */
    CHECK_OK(try_connect(tls_srv.addr, in(pki, "ca.crt"), NULL, NULL, NULL));
    ca_pem = read_file(in(pki, "ca.crt"));
    CHECK_OK(try_connect(tls_srv.addr, NULL, ca_pem, NULL, NULL));
    /* mutual TLS */
    CHECK_OK(try_connect(mtls_srv.addr, in(pki, "ca.crt"), NULL, in(pki, "client.crt"), in(pki, "client.key")));

    expect_tls("wrong CA", try_connect(tls_srv.addr, in(other, "ca.crt"), NULL, NULL, NULL), "unknown authority");
    expect_tls("no client certificate", try_connect(mtls_srv.addr, in(pki, "ca.crt"), NULL, NULL, NULL),
               "certificate required");
    /* a server that closes during the handshake may be at its connection limit: retryable */
    CHECK_ST(try_connect(t_addr(), in(pki, "ca.crt"), NULL, NULL, NULL), KMB_ERR_CONNECTION);
    CHECK(strstr(kmb_last_error_message(), "during the TLS handshake (is TLS enabled on it?)") != NULL);

    /* bad settings: named at once or at connect */
    CHECK_OK(kmb_config_new(&cfg));
    CHECK_ST(kmb_config_set_tls_ca_file(cfg, NULL), KMB_ERR_NULL_ARGUMENT);
    CHECK_ST(kmb_config_set_tls_server_name(cfg, "\xff"), KMB_ERR_INVALID_UTF8);
    CHECK_ST(kmb_config_set_tls_ca_file(NULL, "x"), KMB_ERR_INVALID_HANDLE);
    kmb_config_free(cfg);
    CHECK_ST(try_connect(tls_srv.addr, "/nonexistent/ca.crt", NULL, NULL, NULL), KMB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(kmb_last_error_message(), "TLSCAFile") != NULL);

    free(ca_pem);
    t_kill_server(&tls_srv);
    t_kill_server(&mtls_srv);
    {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", pki, other);
        if (system(cmd) != 0) fprintf(stderr, "could not remove the certificates\n");
    }
    return t_done("test_tls");
}
