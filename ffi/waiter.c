/* Waiters: an _async call completed into memory one thread can wait on in slices (see
 * "Waiters" in kimberlite.h). Plain C and pthreads: the callbacks below run on a library thread
 * and touch no Go memory. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ffi.h"

#define KMB_WAITER_MSG_CAP 1024

struct kmb_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    uint32_t patience_ms; /* see kmb_waiter_set_patience; kept across calls */
    kmb_status_t status;
    uint64_t value;
    void *result; /* kmb_events_t * or kmb_server_info_t *, owned by the waiter until taken */
    int32_t server_code;
    uint64_t request_id;
    char message[KMB_WAITER_MSG_CAP];
};

kmb_status_t kmb_waiter_new(kmb_waiter_t **out) {
    kmb_waiter_t *w;
    if (out == NULL) return KMB_ERR_NULL_ARGUMENT;
    w = calloc(1, sizeof *w);
    if (w == NULL) return KMB_ERR_NO_MEMORY;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->server_code = -1; /* nothing pending, nothing completed: ready for a call */
    *out = w;
    return KMB_OK;
}

void kmb_waiter_free(kmb_waiter_t *w) {
    if (w == NULL) return;
    kmb_waiter_reset(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void kmb_waiter_reset(kmb_waiter_t *w) {
    if (w == NULL) return;
    pthread_mutex_lock(&w->mu);
    if (w->result != NULL) {
        /* a result nobody took: events and server info are each one malloc'd block */
        free(w->result);
        w->result = NULL;
    }
    w->done = 0;
    w->status = KMB_OK;
    w->value = 0;
    w->server_code = -1;
    w->request_id = 0;
    w->message[0] = '\0';
    pthread_mutex_unlock(&w->mu);
}

void kmb_waiter_set_patience(kmb_waiter_t *w, uint32_t patience_ms) {
    if (w == NULL) return;
    pthread_mutex_lock(&w->mu);
    w->patience_ms = patience_ms > KMB_WAITER_MAX_PATIENCE_MS ? KMB_WAITER_MAX_PATIENCE_MS : patience_ms;
    pthread_mutex_unlock(&w->mu);
}

uint32_t kmb__waiter_patience(uintptr_t waiter) {
    kmb_waiter_t *w = (kmb_waiter_t *)waiter;
    uint32_t ms;
    if (w == NULL) return 0;
    pthread_mutex_lock(&w->mu);
    ms = w->patience_ms;
    pthread_mutex_unlock(&w->mu);
    return ms;
}

int kmb_waiter_wait(kmb_waiter_t *w, uint32_t timeout_ms) {
    struct timespec dl;
    int done;
    if (w == NULL) return 1;
    if (timeout_ms == 0) { /* a poll: a timed wait for "now" would sleep for the timer slack */
        pthread_mutex_lock(&w->mu);
        done = w->done;
        pthread_mutex_unlock(&w->mu);
        return done;
    }
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT) break;
    }
    done = w->done;
    pthread_mutex_unlock(&w->mu);
    return done;
}

kmb_status_t kmb_waiter_status(const kmb_waiter_t *w) { return w == NULL ? KMB_ERR_NULL_ARGUMENT : w->status; }
uint64_t kmb_waiter_value(const kmb_waiter_t *w) { return w == NULL ? 0 : w->value; }

void *kmb_waiter_take_result(kmb_waiter_t *w) {
    void *r;
    if (w == NULL) return NULL;
    pthread_mutex_lock(&w->mu);
    r = w->result;
    w->result = NULL;
    pthread_mutex_unlock(&w->mu);
    return r;
}

kmb_status_t kmb_waiter_record_error(const kmb_waiter_t *w) {
    if (w == NULL) return KMB_ERR_NULL_ARGUMENT;
    if (w->status != KMB_OK)
        kmb__set_error(w->status, w->message, strlen(w->message), w->server_code, w->request_id);
    return w->status;
}

kmb_status_t kmb_waiter_finish(kmb_waiter_t *w, uint64_t *value_out, void **result_out) {
    kmb_status_t st;
    if (w == NULL) return KMB_ERR_NULL_ARGUMENT;
    st = kmb_waiter_record_error(w);
    if (value_out != NULL) *value_out = w->value;
    if (result_out != NULL) *result_out = kmb_waiter_take_result(w);
    kmb_waiter_reset(w);
    return st;
}

/* complete stores a result and the callback thread's last error, then wakes the waiter. */
static void complete(kmb_waiter_t *w, kmb_status_t status, uint64_t value, void *result) {
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->value = value;
    w->result = result;
    if (status != KMB_OK) {
        const char *m = kmb_last_error_message();
        size_t n = strlen(m);
        if (n > KMB_WAITER_MSG_CAP - 1) n = KMB_WAITER_MSG_CAP - 1; /* already cut at a rune */
        memcpy(w->message, m, n);
        w->message[n] = '\0';
        w->server_code = kmb_last_error_server_code();
        w->request_id = kmb_last_error_request_id();
    }
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void kmb_waiter_status_callback(void *w, kmb_status_t status) { complete(w, status, 0, NULL); }
void kmb_waiter_uint64_callback(void *w, kmb_status_t status, uint64_t value) { complete(w, status, value, NULL); }
void kmb_waiter_events_callback(void *w, kmb_status_t status, kmb_events_t *events) { complete(w, status, 0, events); }
void kmb_waiter_server_info_callback(void *w, kmb_status_t status, kmb_server_info_t *info) { complete(w, status, 0, info); }
