/* The public subscription functions (see "Subscriptions" in kimberlite.h). As in exports.c, each
 * refuses to enter the Go runtime in a child process after fork(), then calls its Go
 * implementation. */
#include "ffi.h"
#include "_cgo_export.h"

#define GUARD()                                      \
    do {                                             \
        if (kmb__forked) return kmb__forked_error(); \
    } while (0)

kmb_status_t kmb_subscribe(kmb_client_t *client, uint64_t stream_id, uint64_t from_offset,
                           uint32_t credits, uint32_t low_water, uint32_t refill,
                           kmb_subscription_t **out) {
    GUARD();
    return kmbgo_subscribe(client, stream_id, from_offset, credits, low_water, refill, (void **)out);
}

kmb_status_t kmb_subscribe_async(kmb_client_t *client, uint64_t stream_id, uint64_t from_offset,
                                 uint32_t credits, uint32_t low_water, uint32_t refill,
                                 kmb_subscription_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_subscribe_async(client, stream_id, from_offset, credits, low_water, refill, cb,
                                 (uintptr_t)user_data);
}

kmb_status_t kmb_subscription_next(kmb_subscription_t *sub, uint64_t timeout_ms, kmb_events_t **out) {
    GUARD();
    return kmbgo_subscription_next(sub, timeout_ms, out);
}

kmb_status_t kmb_subscription_next_async(kmb_subscription_t *sub, uint64_t timeout_ms,
                                         kmb_events_callback_t cb, void *user_data) {
    GUARD();
    return kmbgo_subscription_next_async(sub, timeout_ms, cb, (uintptr_t)user_data);
}

kmb_status_t kmb_subscription_grant_credits(kmb_subscription_t *sub, uint32_t credits) {
    GUARD();
    return kmbgo_subscription_grant_credits(sub, credits);
}

kmb_status_t kmb_subscription_id(kmb_subscription_t *sub, uint64_t *id_out) {
    GUARD();
    return kmbgo_subscription_id(sub, id_out);
}

kmb_status_t kmb_subscription_credits(kmb_subscription_t *sub, uint32_t *credits_out) {
    GUARD();
    return kmbgo_subscription_credits(sub, credits_out);
}

kmb_status_t kmb_subscription_next_offset(kmb_subscription_t *sub, uint64_t *offset_out) {
    GUARD();
    return kmbgo_subscription_next_offset(sub, offset_out);
}

kmb_status_t kmb_subscription_close_reason(kmb_subscription_t *sub, char **reason_out) {
    GUARD();
    return kmbgo_subscription_close_reason(sub, reason_out);
}

kmb_status_t kmb_subscription_node(kmb_subscription_t *sub, char **node_out) {
    GUARD();
    return kmbgo_subscription_node(sub, node_out);
}

kmb_status_t kmb_subscription_close(kmb_subscription_t *sub) {
    GUARD();
    return kmbgo_subscription_close(sub);
}

void kmb_subscription_free(kmb_subscription_t *sub) {
    if (kmb__forked || sub == NULL) return;
    kmbgo_subscription_free(sub);
}
