/* The public functions implemented in Go. Each wrapper refuses to enter the Go runtime in a child
 * process after fork() (the runtime's threads are gone there, so any call could hang), then calls
 * the Go implementation. The casts only drop const: Go does not write through those pointers. */
#include "ffi.h"
#include "_cgo_export.h"

#define GUARD()                                 \
    do {                                        \
        if (kmb__forked) return kmb__forked_error(); \
    } while (0)

kmb_status_t kmb_config_new(kmb_config_t **out) {
    GUARD();
    return kmbgo_config_new((void **)out);
}

void kmb_config_free(kmb_config_t *cfg) {
    if (kmb__forked || cfg == NULL) return;
    kmbgo_config_free(cfg);
}

kmb_status_t kmb_config_add_address(kmb_config_t *cfg, const char *host_port) {
    GUARD();
    return kmbgo_config_add_address(cfg, (char *)host_port);
}

kmb_status_t kmb_config_set_tenant(kmb_config_t *cfg, uint64_t tenant_id) {
    GUARD();
    return kmbgo_config_set_tenant(cfg, tenant_id);
}

kmb_status_t kmb_config_set_auth_token(kmb_config_t *cfg, const char *token) {
    GUARD();
    return kmbgo_config_set_auth_token(cfg, (char *)token);
}

#define SETTER(name, type)                                   \
    kmb_status_t kmb_config_set_##name(kmb_config_t *cfg, type v) { \
        GUARD();                                             \
        return kmbgo_config_set_##name(cfg, v);              \
    }

/* The Go side of a string option takes char *; the string is only read. */
#define STRING_SETTER(name)                                              \
    kmb_status_t kmb_config_set_##name(kmb_config_t *cfg, const char *v) { \
        GUARD();                                                         \
        return kmbgo_config_set_##name(cfg, (char *)v);                  \
    }

/* One SETTER per pool.Options entry. */
#include "setters_gen.h"

kmb_status_t kmb_client_connect(const kmb_config_t *cfg, kmb_client_t **out) {
    GUARD();
    return kmbgo_client_connect((void *)cfg, (void **)out);
}

kmb_status_t kmb_client_close(kmb_client_t *client) {
    GUARD();
    if (kmb__in_callback_of(client)) return kmb__close_in_callback_error();
    if (kmb__in_observer_callback()) return kmb__close_in_callback_error();
    return kmbgo_client_close(client, (void *)kmb__callback_client_of_thread());
}

kmb_status_t kmb_create_stream(kmb_client_t *client, const char *name, int32_t data_class,
                               uint64_t *stream_id_out) {
    GUARD();
    return kmbgo_create_stream(client, (char *)name, data_class, stream_id_out);
}

kmb_status_t kmb_append(kmb_client_t *client, uint64_t stream_id, const uint8_t *const *events,
                        const size_t *lengths, size_t count, const uint64_t *expected_offset,
                        uint64_t *first_offset_out) {
    GUARD();
    return kmbgo_append(client, stream_id, (uint8_t **)events, (size_t *)lengths, count,
                        (uint64_t *)expected_offset, first_offset_out);
}

kmb_status_t kmb_read(kmb_client_t *client, uint64_t stream_id, uint64_t from_offset,
                      uint64_t max_bytes, kmb_events_t **out) {
    GUARD();
    return kmbgo_read(client, stream_id, from_offset, max_bytes, out);
}

kmb_status_t kmb_stream_length(kmb_client_t *client, uint64_t stream_id, uint64_t *length_out) {
    GUARD();
    return kmbgo_stream_length(client, stream_id, length_out);
}

kmb_status_t kmb_sync(kmb_client_t *client) {
    GUARD();
    return kmbgo_sync(client);
}

kmb_status_t kmb_ping(kmb_client_t *client) {
    GUARD();
    return kmbgo_ping(client);
}

kmb_status_t kmb_server_info(kmb_client_t *client, kmb_server_info_t **out) {
    GUARD();
    return kmbgo_server_info(client, out);
}

kmb_status_t kmb_client_set_async_patience_us(kmb_client_t *client, uint32_t patience_us) {
    GUARD();
    return kmbgo_client_set_async_patience_us(client, patience_us);
}

kmb_status_t kmb_client_loop_fd(kmb_client_t *client, int *fd) {
    GUARD();
    return kmbgo_client_loop_fd(client, fd);
}

kmb_status_t kmb_client_loop_ready(kmb_client_t *client) {
    GUARD();
    return kmbgo_client_loop_ready(client);
}

kmb_status_t kmb_client_loop_idle(kmb_client_t *client, int fd) {
    GUARD();
    return kmbgo_client_loop_idle(client, fd);
}

kmb_status_t kmb_client_stats_json(kmb_client_t *client, char **json_out) {
    GUARD();
    return kmbgo_client_stats_json(client, json_out);
}

kmb_status_t kmb_create_stream_async(kmb_client_t *client, const char *name, int32_t data_class,
                                     kmb_uint64_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_create_stream_async(client, (char *)name, data_class, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_append_async(kmb_client_t *client, uint64_t stream_id,
                              const uint8_t *const *events, const size_t *lengths, size_t count,
                              const uint64_t *expected_offset, kmb_uint64_callback_t cb,
                              void *user_data) {
    GUARD();
    return kmbgo_append_async(client, stream_id, (uint8_t **)events, (size_t *)lengths, count,
                              (uint64_t *)expected_offset, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_read_async(kmb_client_t *client, uint64_t stream_id, uint64_t from_offset,
                            uint64_t max_bytes, kmb_events_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_read_async(client, stream_id, from_offset, max_bytes, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_stream_length_async(kmb_client_t *client, uint64_t stream_id,
                                     kmb_uint64_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_stream_length_async(client, stream_id, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_sync_async(kmb_client_t *client, kmb_status_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_sync_async(client, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_ping_async(kmb_client_t *client, kmb_status_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_ping_async(client, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_server_info_async(kmb_client_t *client, kmb_server_info_callback_t cb,
                                   void *user_data) {
    GUARD();
    return kmbgo_server_info_async(client, cb, (uintptr_t)user_data);
}
