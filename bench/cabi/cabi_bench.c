/* cabi_bench: what the C ABI costs. Prints one "name value" line per measurement:
 *   status_name_ns   a call that stays in C (kmb_status_name)
 *   enter_go_ns      a call that crosses into Go and back (kmb_config_set_tenant)
 *   append_rt_ns     one synchronous kmb_append of one event, round trip to the server
 *   read_rt_ns       one synchronous kmb_read of one event
 *   append_async_ns  kmb_append_async of one event with WINDOW calls in flight, per append
 * usage: cabi_bench HOST:PORT ROUND_TRIPS */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kimberlite.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* WINDOW async appends are kept in flight; the callback frees a slot. */
#define WINDOW 64
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long in_flight = 0, async_failures = 0;

static void on_append(void *ud, kmb_status_t st, uint64_t first) {
    (void)ud;
    (void)first;
    pthread_mutex_lock(&mu);
    in_flight--;
    if (st != KMB_OK) async_failures++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static void die(const char *what, kmb_status_t st) {
    fprintf(stderr, "%s: %s: %s\n", what, kmb_status_name(st), kmb_last_error_message());
    exit(1);
}

int main(int argc, char **argv) {
    const char *addr;
    long n, i, calls = 5000000;
    kmb_config_t *cfg = NULL;
    kmb_client_t *c = NULL;
    kmb_status_t st;
    uint64_t stream = 0;
    uint8_t payload[100];
    const uint8_t *evs[1] = {payload};
    size_t lens[1] = {sizeof payload};
    char name[64];
    double t0;
    size_t sink = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: cabi_bench HOST:PORT ROUND_TRIPS\n");
        return 2;
    }
    addr = argv[1];
    n = atol(argv[2]);
    memset(payload, 'x', sizeof payload);

    t0 = now_ns();
    for (i = 0; i < calls; i++) sink += strlen(kmb_status_name((kmb_status_t)(i & 15)));
    printf("status_name_ns %.2f\n", (now_ns() - t0) / (double)calls);

    if ((st = kmb_config_new(&cfg)) != KMB_OK) die("kmb_config_new", st);
    t0 = now_ns();
    for (i = 0; i < calls / 10; i++) sink += (size_t)kmb_config_set_tenant(cfg, (uint64_t)i);
    printf("enter_go_ns %.2f\n", (now_ns() - t0) / (double)(calls / 10));
    if ((st = kmb_config_set_tenant(cfg, 0)) != KMB_OK) die("set_tenant", st);
    if ((st = kmb_config_add_address(cfg, addr)) != KMB_OK) die("add_address", st);
    if ((st = kmb_client_connect(cfg, &c)) != KMB_OK) die("connect", st);
    kmb_config_free(cfg);

    snprintf(name, sizeof name, "bench-cabi-%d-%ld", (int)getpid(), (long)time(NULL));
    if ((st = kmb_create_stream(c, name, KMB_DATA_CLASS_PUBLIC, &stream)) != KMB_OK) die("create", st);
    for (i = 0; i < 100; i++) /* warm up connections */
        if ((st = kmb_append(c, stream, evs, lens, 1, NULL, NULL)) != KMB_OK) die("append", st);

    t0 = now_ns();
    for (i = 0; i < n; i++)
        if ((st = kmb_append(c, stream, evs, lens, 1, NULL, NULL)) != KMB_OK) die("append", st);
    printf("append_rt_ns %.0f\n", (now_ns() - t0) / (double)n);

    t0 = now_ns();
    for (i = 0; i < n; i++) {
        kmb_events_t *ev = NULL;
        if ((st = kmb_read(c, stream, (uint64_t)i, sizeof payload, &ev)) != KMB_OK) die("read", st);
        sink += ev->count;
        kmb_events_free(ev);
    }
    printf("read_rt_ns %.0f\n", (now_ns() - t0) / (double)n);

    t0 = now_ns();
    for (i = 0; i < 4 * n; i++) {
        pthread_mutex_lock(&mu);
        while (in_flight >= WINDOW) pthread_cond_wait(&cv, &mu);
        in_flight++;
        pthread_mutex_unlock(&mu);
        if ((st = kmb_append_async(c, stream, evs, lens, 1, NULL, on_append, NULL)) != KMB_OK) die("append_async", st);
    }
    pthread_mutex_lock(&mu);
    while (in_flight > 0) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    if (async_failures) die("append_async callbacks", KMB_ERR_INTERNAL);
    printf("append_async_ns %.0f\n", (now_ns() - t0) / (double)(4 * n));

    if ((st = kmb_client_close(c)) != KMB_OK) die("close", st);
    return sink == 0; /* keep the loops */
}
