/* quickstart.c: connect, create a stream, append three events, read them back page by page.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs kimberlite) -o quickstart
 *   ./quickstart 127.0.0.1:5432 [127.0.0.1:5433 ...]
 *
 * Every argument is a seed address of the cluster; the client finds the leader among them.
 */
#include <stdio.h>
#include <string.h>

#include <kimberlite.h>

/* fail prints the failing call with this thread's last error and returns 1. */
static int fail(const char *what, kmb_status_t st) {
    fprintf(stderr, "%s: %s: %s\n", what, kmb_status_name(st), kmb_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    kmb_config_t *cfg = NULL;
    kmb_client_t *client = NULL;
    kmb_status_t st;
    uint64_t stream = 0, first = 0, from = 0;
    const char *texts[] = {"patient admitted", "vitals recorded", "patient discharged"};
    const uint8_t *events[3];
    size_t lengths[3];
    size_t i;
    int a, rc = 0;

    if (KIMBERLITE_VERSION_NUMBER != kmb_version_number()) {
        fprintf(stderr, "header %s but library %s\n", KIMBERLITE_VERSION, kmb_version());
        return 1;
    }

    /* 1. configure: seed addresses and timeouts; connect copies the config */
    if ((st = kmb_config_new(&cfg)) != KMB_OK) return fail("kmb_config_new", st);
    for (a = 1; a < argc || a == 1; a++) {
        st = kmb_config_add_address(cfg, a < argc ? argv[a] : "127.0.0.1:5432");
        if (st != KMB_OK) {
            kmb_config_free(cfg);
            return fail("kmb_config_add_address", st);
        }
    }
    if ((st = kmb_config_set_connect_timeout_ms(cfg, 3000)) != KMB_OK) {
        kmb_config_free(cfg);
        return fail("configure", st);
    }
    st = kmb_client_connect(cfg, &client);
    kmb_config_free(cfg);
    if (st != KMB_OK) return fail("kmb_client_connect", st);

    /* 2. create (or find) a stream */
    if ((st = kmb_create_stream(client, "quickstart-events", KMB_DATA_CLASS_NON_PHI, &stream)) != KMB_OK) {
        rc = fail("kmb_create_stream", st);
        goto out;
    }

    /* 3. append a batch at the end of the stream */
    for (i = 0; i < 3; i++) {
        events[i] = (const uint8_t *)texts[i];
        lengths[i] = strlen(texts[i]);
    }
    if ((st = kmb_append(client, stream, events, lengths, 3, NULL, &first)) != KMB_OK) {
        rc = fail("kmb_append", st);
        goto out;
    }
    printf("appended 3 events to stream %llu at offset %llu\n", (unsigned long long)stream,
           (unsigned long long)first);

    /* 4. read everything from our first event, following next_offset */
    from = first;
    for (;;) {
        kmb_events_t *page = NULL;
        if ((st = kmb_read(client, stream, from, 64 * 1024, &page)) != KMB_OK) {
            rc = fail("kmb_read", st);
            goto out;
        }
        for (i = 0; i < page->count; i++)
            printf("  offset %llu: %.*s\n", (unsigned long long)page->offsets[i], (int)page->lengths[i],
                   (const char *)page->data[i]);
        from = page->next_offset;
        if (!page->has_more) {
            kmb_events_free(page);
            break;
        }
        kmb_events_free(page);
    }
    printf("stream %llu now ends at offset %llu\n", (unsigned long long)stream, (unsigned long long)from);

out:
    if ((st = kmb_client_close(client)) != KMB_OK) rc = fail("kmb_client_close", st);
    return rc;
}
