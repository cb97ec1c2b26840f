/* Helpers shared by the C test programs: checks that report file:line, the test server's address,
 * and starting/stopping a private server process. Header-only so each test is one file. */
#ifndef KMB_TESTUTIL_H
#define KMB_TESTUTIL_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kimberlite.h"

extern char **environ;

static int t_failures = 0;
static int t_checks = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        t_checks++;                                                                      \
        if (!(cond)) {                                                                   \
            t_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

/* CHECK_ST checks a status and prints the last error when it differs. */
#define CHECK_ST(expr, want)                                                             \
    do {                                                                                 \
        kmb_status_t st_ = (expr);                                                       \
        t_checks++;                                                                      \
        if (st_ != (want)) {                                                             \
            t_failures++;                                                                \
            fprintf(stderr, "%s:%d: %s returned %s, want %s (last error: %s)\n", __FILE__, \
                    __LINE__, #expr, kmb_status_name(st_), kmb_status_name(want),        \
                    kmb_last_error_message());                                           \
        }                                                                                \
    } while (0)

#define CHECK_OK(expr) CHECK_ST(expr, KMB_OK)

/* REQUIRE stops the test at once: later checks would only cascade. */
#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s (last error: %s)\n", __FILE__,    \
                    __LINE__, #cond, kmb_last_error_message());                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static inline int t_done(const char *name) {
    if (t_failures) {
        fprintf(stderr, "FAIL %s: %d of %d checks failed\n", name, t_failures, t_checks);
        return 1;
    }
    printf("ok   %s: %d checks\n", name, t_checks);
    return 0;
}

static inline double t_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* t_addr is the address of the shared test server, from $KMB_TEST_ADDR. */
static inline const char *t_addr(void) {
    const char *a = getenv("KMB_TEST_ADDR");
    REQUIRE(a != NULL && *a != '\0');
    return a;
}

/* t_config makes a config for addr with short timeouts, so failures show quickly; five times
 * longer under KMB_TEST_LIGHT (valgrind, ASan), where the library runs many times slower. */
static inline kmb_config_t *t_config(const char *addr) {
    kmb_config_t *cfg = NULL;
    uint64_t scale = getenv("KMB_TEST_LIGHT") ? 5 : 1;
    REQUIRE(kmb_config_new(&cfg) == KMB_OK);
    REQUIRE(kmb_config_add_address(cfg, addr) == KMB_OK);
    REQUIRE(kmb_config_set_connect_timeout_ms(cfg, 2000 * scale) == KMB_OK);
    REQUIRE(kmb_config_set_request_timeout_ms(cfg, 10000 * scale) == KMB_OK);
    return cfg;
}

static inline kmb_client_t *t_connect(const char *addr) {
    kmb_config_t *cfg = t_config(addr);
    kmb_client_t *c = NULL;
    REQUIRE(kmb_client_connect(cfg, &c) == KMB_OK);
    kmb_config_free(cfg);
    return c;
}

/* t_free_port returns a loopback port that was free a moment ago. */
static inline int t_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    REQUIRE(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static inline int t_tcp_ready(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    int ok;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* t_server is a private server process started by a test. */
typedef struct {
    pid_t pid;
    int port;
    char addr[64];
    char dir[128];
} t_server;

/* t_start_server runs `$KIMBERLITE_BIN server --listen 127.0.0.1:PORT --data DIR extra...`
 * (extra: NULL or a NULL-terminated list) and waits (up to 20 s) until it accepts connections. */
static inline void t_start_server(t_server *s, const char *const *extra) {
    const char *bin = getenv("KIMBERLITE_BIN");
    char *argv[32];
    int argc = 8;
    double deadline;
    posix_spawn_file_actions_t fa;
    REQUIRE(bin != NULL);
    s->port = t_free_port();
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%d", s->port);
    snprintf(s->dir, sizeof s->dir, "/tmp/kmb-ctest-XXXXXX");
    REQUIRE(mkdtemp(s->dir) != NULL);
    argv[0] = (char *)bin;
    argv[1] = (char *)"server";
    argv[2] = (char *)"--listen";
    argv[3] = s->addr;
    argv[4] = (char *)"--data";
    argv[5] = s->dir;
    argv[6] = (char *)"--log-level";
    argv[7] = (char *)"warn";
    while (extra != NULL && *extra != NULL && argc < 31) argv[argc++] = (char *)*extra++;
    argv[argc] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&s->pid, bin, &fa, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    deadline = t_now() + 20;
    while (!t_tcp_ready(s->port)) {
        int status;
        REQUIRE(waitpid(s->pid, &status, WNOHANG) == 0); /* the server must still run */
        REQUIRE(t_now() < deadline);
        usleep(20000);
    }
}

/* t_kill_server kills the process and removes its data folder. */
static inline void t_kill_server(t_server *s) {
    char cmd[200];
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
}

#endif
