/* settle.c: Settlement on the JS thread: each finished request becomes a resolved or rejected Promise.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
/* ------------------------------------------------------------------------------------------ */
/* Settlement on the JS thread                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void handle_finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    client_handle *h = data;
    if (!h->closed) {
        h->closed = 1;
        list_remove(h->st, h);
        loop_detach(h);
        /* Nothing is pending on it (each call holds a strong reference), so closing is quick,
         * but it still must not happen on the JS thread. */
        if (spawn(close_detached_main, h->client) != 0) kmb_client_close(h->client);
    }
    env_unref(h->st);
    free(h);
}

static napi_value result_connect(napi_env env, req *r) {
    napi_value obj;
    client_handle *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->client = r->client;
    h->patience_us = h->lib_patience = r->patience_us;
    h->st = r->st;
    if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &CLIENT_TAG) != napi_ok ||
        napi_wrap(env, obj, h, handle_finalize, NULL, NULL) != napi_ok) {
        free(h);
        return NULL;
    }
    env_ref(h->st);
    list_add(h->st, h);
    r->client = NULL; /* owned by the handle now */
    loop_attach(env, h);
    return obj;
}

static napi_value result_read(napi_env env, req *r) {
    napi_value out, arr, v;
    kmb_events_t *e = r->events;
    size_t n = e ? e->count : 0;
    CHECK(napi_create_object(env, &out));
    CHECK(napi_create_array_with_length(env, n, &arr));
    for (size_t i = 0; i < n; i++) {
        napi_value ev, off, buf;
        void *ignored;
        CHECK(napi_create_object(env, &ev));
        CHECK(napi_create_bigint_uint64(env, e->offsets[i], &off));
        if (e->lengths[i] == 0) CHECK(napi_create_buffer(env, 0, &ignored, &buf));
        else CHECK(napi_create_buffer_copy(env, e->lengths[i], e->data[i], &ignored, &buf));
        CHECK(napi_set_named_property(env, ev, "offset", off));
        CHECK(napi_set_named_property(env, ev, "data", buf));
        CHECK(napi_set_element(env, arr, (uint32_t)i, ev));
    }
    CHECK(napi_set_named_property(env, out, "events", arr));
    CHECK(napi_create_bigint_uint64(env, e ? e->next_offset : 0, &v));
    CHECK(napi_set_named_property(env, out, "nextOffset", v));
    CHECK(napi_get_boolean(env, e && e->has_more, &v));
    CHECK(napi_set_named_property(env, out, "hasMore", v));
    return out;
fail:
    return NULL;
}

static napi_value result_info(napi_env env, req *r) {
    napi_value out, v, caps;
    kmb_server_info_t *i = r->info;
    if (i == NULL) return NULL;
    CHECK(napi_create_object(env, &out));
    CHECK(napi_create_string_utf8(env, i->build_version ? i->build_version : "", NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "buildVersion", v));
    CHECK(napi_create_uint32(env, i->protocol_version, &v));
    CHECK(napi_set_named_property(env, out, "protocolVersion", v));
    CHECK(napi_create_array_with_length(env, i->capability_count, &caps));
    for (size_t k = 0; k < i->capability_count; k++) {
        CHECK(napi_create_string_utf8(env, i->capabilities[k], NAPI_AUTO_LENGTH, &v));
        CHECK(napi_set_element(env, caps, (uint32_t)k, v));
    }
    CHECK(napi_set_named_property(env, out, "capabilities", caps));
    CHECK(napi_create_bigint_uint64(env, i->uptime_secs, &v));
    CHECK(napi_set_named_property(env, out, "uptimeSecs", v));
    CHECK(napi_create_string_utf8(env, i->cluster_mode == KMB_CLUSTER_MODE_CLUSTERED ? "clustered" : "standalone",
                                  NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "clusterMode", v));
    CHECK(napi_create_uint32(env, i->tenant_count, &v));
    CHECK(napi_set_named_property(env, out, "tenantCount", v));
    return out;
fail:
    return NULL;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
    (void)js_cb;
    (void)context;
    req *r = data;
    if (env == NULL) { /* the environment is being torn down */
        req_abandon(r);
        return;
    }
    env_state *st = r->st;
    napi_handle_scope scope;
    int scoped = napi_open_handle_scope(env, &scope) == napi_ok;
    napi_value value = NULL;
    int ok = r->status == KMB_OK || (r->kind == OP_CLOSE && r->status == KMB_ERR_TIMEOUT);
    if (ok) {
        switch (r->kind) {
        case OP_CONNECT: value = result_connect(env, r); break;
        case OP_CREATE_STREAM:
        case OP_APPEND:
        case OP_LENGTH: napi_create_bigint_uint64(env, r->value, &value); break;
        case OP_READ: value = result_read(env, r); break;
        case OP_INFO: value = result_info(env, r); break;
        case OP_SUBSCRIBE: value = result_subscribe(env, r); break;
        default: value = undefined(env); break;
        }
        if (value == NULL) {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            napi_value exc = NULL;
            if (pending) napi_get_and_clear_last_exception(env, &exc);
            if (exc == NULL) exc = make_error(env, st, KMB_ERR_NO_MEMORY, "kimberlite: could not build the result", -1, 0);
            if (exc) napi_reject_deferred(env, r->deferred, exc);
        } else {
            napi_resolve_deferred(env, r->deferred, value);
        }
    } else {
        napi_value err = make_error(env, st, r->status, r->errmsg, r->server_code, r->request_id);
        if (err) napi_reject_deferred(env, r->deferred, err);
    }
    if (r->kind == OP_CONNECT && r->client != NULL) { /* resolved with nothing: do not leak it */
        if (spawn(close_detached_main, r->client) != 0) kmb_client_close(r->client);
        r->client = NULL;
    }
    if (r->keep) napi_delete_reference(env, r->keep);
    if (--st->pending == 0) napi_unref_threadsafe_function(env, st->tsfn);
    req_free(r);
    if (scoped) napi_close_handle_scope(env, scope);
}
