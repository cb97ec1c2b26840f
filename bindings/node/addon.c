/* addon.c: the native half of @kimberlite/client, an N-API addon over libkimberlite.
 *
 * index.js validates and normalises every argument; this file checks them again (a caller that
 * goes around index.js gets a TypeError or RangeError, never a crash) and turns each call into
 * the library's _async variant. The library calls back on one of its own threads; the callback
 * copies the result into a request and queues it on the environment's threadsafe function,
 * whose call_js settles the Promise on the JS thread. Nothing here waits on the network on the
 * JS thread or on libuv's worker pool: connect and close, which have no _async variant, run on
 * short-lived threads of our own.
 *
 * The threadsafe function is unreferenced while no call is pending, so an idle client never
 * keeps the process alive, and referenced while any is. An environment cleanup hook closes the
 * clients still open when the environment (main thread or worker) goes away.
 *
 * Each file of src/ has one job: state.c (per-environment state), requests.c (requests and their
 * completion on library threads), convert.c (JS <-> C conversions), subscribe.c (subscriptions),
 * loop.c (the library's loop descriptor, watched by libuv), settle.c (settling Promises on the
 * JS thread), options.c (connect options), events.c (log records, cluster events and metrics
 * text), calls.c (the exported calls), signals.c (SA_ONSTACK for signal handlers installed
 * later). They are included here, in dependency order, as one translation unit; this file keeps
 * module setup.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* SA_ONSTACK (signals.c) */
#define NAPI_VERSION 8
#include <node_api.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kimberlite.h"

#include "src/state.c"
#include "src/requests.c"
#include "src/convert.c"
#include "src/subscribe.c"
#include "src/loop.c"
#include "src/settle.c"
#include "src/options.c"
#include "src/events.c"
#include "src/calls.c"
#include "src/signals.c"

/* ------------------------------------------------------------------------------------------ */
/* Module                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* env_cleanup: the environment is going away (process exit or a worker ending). Close every
 * client still open, so its sockets and library threads go too, then retire the threadsafe
 * function. Callbacks that still arrive find st->closing set and drop their requests. The
 * closes run on threads of their own: kmb_client_close waits for calls in flight (up to the
 * request timeout), and process.exit() must not wait for a call nobody will see. */
static void env_cleanup(void *arg) {
    env_state *st = arg;
    pthread_mutex_lock(&st->mu);
    st->closing = 1;
    pthread_mutex_unlock(&st->mu);
    for (client_handle *h = st->clients, *next; h != NULL; h = next) {
        next = h->next;
        h->closed = 1;
        h->prev = h->next = NULL;
        loop_detach(h);
        if (spawn(close_detached_main, h->client) != 0) kmb_client_close(h->client);
    }
    st->clients = NULL;
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    env_unref(st);
}

static napi_value module_init(napi_env env, napi_value exports) {
    env_state *st = calloc(1, sizeof *st);
    napi_value name;
    if (st == NULL) {
        napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
        return NULL;
    }
    atomic_init(&st->refs, 1);
    pthread_mutex_init(&st->mu, NULL);
    if (napi_create_string_utf8(env, "kimberlite", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, call_js, &st->tsfn) != napi_ok) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        napi_throw_error(env, NULL, "kimberlite: could not create the completion queue");
        return NULL;
    }
    napi_unref_threadsafe_function(env, st->tsfn);
    /* Registered after the threadsafe function, so it runs before Node's own teardown of it. */
    napi_add_env_cleanup_hook(env, env_cleanup, st);

    napi_property_descriptor props[] = {
        {"init", NULL, js_init, NULL, NULL, NULL, napi_enumerable, st},
        {"fixSignalStacks", NULL, js_fix_signal_stacks, NULL, NULL, NULL, napi_enumerable, st},
        {"version", NULL, js_version, NULL, NULL, NULL, napi_enumerable, st},
        {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, st},
        {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, st},
        {"createStream", NULL, js_create_stream, NULL, NULL, NULL, napi_enumerable, st},
        {"append", NULL, js_append, NULL, NULL, NULL, napi_enumerable, st},
        {"read", NULL, js_read, NULL, NULL, NULL, napi_enumerable, st},
        {"streamLength", NULL, js_stream_length, NULL, NULL, NULL, napi_enumerable, st},
        {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, st},
        {"ping", NULL, js_ping, NULL, NULL, NULL, napi_enumerable, st},
        {"serverInfo", NULL, js_server_info, NULL, NULL, NULL, napi_enumerable, st},
        {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, st},
        {"subscribe", NULL, js_subscribe, NULL, NULL, NULL, napi_enumerable, st},
        {"subNext", NULL, js_sub_next, NULL, NULL, NULL, napi_enumerable, st},
        {"subState", NULL, js_sub_state, NULL, NULL, NULL, napi_enumerable, st},
        {"subGrant", NULL, js_sub_grant, NULL, NULL, NULL, napi_enumerable, st},
        {"subClose", NULL, js_sub_close, NULL, NULL, NULL, napi_enumerable, st},
        {"observer", NULL, js_observer, NULL, NULL, NULL, napi_enumerable, st},
        {"releaseObserver", NULL, js_release_observer, NULL, NULL, NULL, napi_enumerable, st},
        {"metricsText", NULL, js_metrics_text, NULL, NULL, NULL, napi_enumerable, st},
    };
    if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
    return exports;
}

NAPI_MODULE_INIT() { return module_init(env, exports); }
