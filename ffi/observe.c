/* Trampolines for the log and event callbacks (kmb_config_set_log_callback,
 * kmb_config_set_event_callback). They run on the library thread that delivers records and
 * events, and mark it, so that kmb_client_close from inside such a callback is refused instead
 * of waiting forever for the callback to return. */
#include "ffi.h"
#include "_cgo_export.h"

static _Thread_local int kmb__in_observer = 0;

int kmb__in_observer_callback(void) { return kmb__in_observer; }

void kmb__call_log_cb(kmb_log_callback_t cb, uintptr_t user_data, int32_t level, const char *message) {
    kmb__in_observer = 1;
    cb((void *)user_data, level, message);
    kmb__in_observer = 0;
}

void kmb__call_event_cb(kmb_event_callback_t cb, uintptr_t user_data, int32_t kind, const char *node,
                        const char *previous, uint64_t view, const char *reason) {
    kmb__in_observer = 1;
    cb((void *)user_data, kind, node, previous, view, reason);
    kmb__in_observer = 0;
}

const char *kmb_event_kind_name(int32_t kind) {
    switch (kind) {
    case KMB_EVENT_LEADER_CHANGED: return "leader_changed";
    case KMB_EVENT_NODE_DOWN: return "node_down";
    case KMB_EVENT_NODE_UP: return "node_up";
    case KMB_EVENT_CONN_OPENED: return "conn_opened";
    case KMB_EVENT_CONN_CLOSED: return "conn_closed";
    default: return "unknown";
    }
}

kmb_status_t kmb_config_set_log_callback(kmb_config_t *cfg, int32_t min_level, kmb_log_callback_t cb,
                                         void *user_data) {
    if (kmb__forked) return kmb__forked_error();
    return kmbgo_config_set_log_callback(cfg, min_level, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_config_set_event_callback(kmb_config_t *cfg, kmb_event_callback_t cb, void *user_data) {
    if (kmb__forked) return kmb__forked_error();
    return kmbgo_config_set_event_callback(cfg, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_client_metrics_text(kmb_client_t *client, char **text_out) {
    if (kmb__forked) return kmb__forked_error();
    return kmbgo_client_metrics_text(client, text_out);
}
