/* The parts of the ABI that need no Go: versions, status names, and freeing C memory. They work
 * in a child process after fork() too. */
#include <stdlib.h>

#include "ffi.h"

const char *kmb_version(void) { return KIMBERLITE_VERSION; }

int32_t kmb_version_number(void) { return KIMBERLITE_VERSION_NUMBER; }

#define NAME(code) \
    case code:     \
        return #code;

const char *kmb_status_name(kmb_status_t status) {
    switch (status) {
        NAME(KMB_OK)
        NAME(KMB_ERR_INTERNAL)
        NAME(KMB_ERR_NULL_ARGUMENT)
        NAME(KMB_ERR_INVALID_HANDLE)
        NAME(KMB_ERR_INVALID_UTF8)
        NAME(KMB_ERR_INVALID_ARGUMENT)
        NAME(KMB_ERR_CLOSED)
        NAME(KMB_ERR_TIMEOUT)
        NAME(KMB_ERR_CONNECTION)
        NAME(KMB_ERR_CLUSTER_UNAVAILABLE)
        NAME(KMB_ERR_OUTCOME_UNKNOWN)
        NAME(KMB_ERR_FORKED)
        NAME(KMB_ERR_PROTOCOL)
        NAME(KMB_ERR_NO_MEMORY)
        NAME(KMB_ERR_BUSY)
        NAME(KMB_ERR_TLS)
        NAME(KMB_ERR_SUBSCRIPTION_CLOSED)
        NAME(KMB_ERR_SERVER_UNKNOWN)
        NAME(KMB_ERR_SERVER_INTERNAL)
        NAME(KMB_ERR_INVALID_REQUEST)
        NAME(KMB_ERR_AUTHENTICATION_FAILED)
        NAME(KMB_ERR_TENANT_NOT_FOUND)
        NAME(KMB_ERR_STREAM_NOT_FOUND)
        NAME(KMB_ERR_TABLE_NOT_FOUND)
        NAME(KMB_ERR_QUERY_PARSE)
        NAME(KMB_ERR_QUERY_EXECUTION)
        NAME(KMB_ERR_POSITION_AHEAD)
        NAME(KMB_ERR_STREAM_ALREADY_EXISTS)
        NAME(KMB_ERR_INVALID_OFFSET)
        NAME(KMB_ERR_STORAGE)
        NAME(KMB_ERR_PROJECTION_LAG)
        NAME(KMB_ERR_RATE_LIMITED)
        NAME(KMB_ERR_NOT_LEADER)
        NAME(KMB_ERR_OFFSET_MISMATCH)
        NAME(KMB_ERR_SUBSCRIPTION_NOT_FOUND)
        NAME(KMB_ERR_SERVER_SUBSCRIPTION_CLOSED)
        NAME(KMB_ERR_SUBSCRIPTION_BACKPRESSURE)
        NAME(KMB_ERR_API_KEY_NOT_FOUND)
        NAME(KMB_ERR_TENANT_ALREADY_EXISTS)
        NAME(KMB_ERR_CONSENT_NOT_FOUND)
        NAME(KMB_ERR_CONSENT_EXPIRED)
        NAME(KMB_ERR_ERASURE_NOT_FOUND)
        NAME(KMB_ERR_ERASURE_ALREADY_COMPLETE)
        NAME(KMB_ERR_ERASURE_EXEMPT)
        NAME(KMB_ERR_BREACH_NOT_FOUND)
        NAME(KMB_ERR_EXPORT_NOT_FOUND)
        NAME(KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION)
        NAME(KMB_ERR_SERVER_OTHER)
    }
    return "KMB_ERR_UNKNOWN";
}

/* Kept in step with pool.IsRetryable (a Go test compares them for every code). */
int kmb_status_is_retryable(kmb_status_t status) {
    switch (status) {
    case KMB_ERR_CONNECTION:
    case KMB_ERR_TIMEOUT:
    case KMB_ERR_CLUSTER_UNAVAILABLE:
    case KMB_ERR_BUSY:
    case KMB_ERR_PROJECTION_LAG:
    case KMB_ERR_RATE_LIMITED:
    case KMB_ERR_NOT_LEADER:
        return 1;
    }
    return 0;
}

/* Results are single malloc blocks (see results.go), so one free releases all. */
void kmb_events_free(kmb_events_t *events) { free(events); }
void kmb_server_info_free(kmb_server_info_t *info) { free(info); }
void kmb_string_free(char *s) { free(s); }
