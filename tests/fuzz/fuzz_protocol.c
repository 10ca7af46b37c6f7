/*
 * What the CLI writes: NDJSON split at arbitrary chunk boundaries, each line classified as the session does
 * (proto_parse_line, with its nesting bound), error texts picked apart (proto_extract_upstream_message),
 * and stream events fed to a turn as they would be, then the answer assembled.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "transport/ndjson.h"
#include "engine/protocol.h"
#include "engine/turn.h"

typedef struct {
    turn_stream_t *ts;
} ctx_t;

static bool on_event(void *arg, yyjson_val *event) {
    (void)arg;
    (void)event;
    return true;
}

static void on_line(ctx_t *c, const char *line, size_t len) {
    proto_line_t l;
    proto_parse_line(line, len, &l);
    if (l.kind == PROTO_STREAM_EVENT) {
        (void)turn_stream_feed(c->ts, yyjson_obj_get(l.root, "event"));
    } else if (l.kind == PROTO_ASSISTANT) {
        yyjson_val *m = yyjson_obj_get(l.root, "message");
        if (yyjson_is_obj(m)) (void)turn_stream_feed_message(c->ts, m);
    } else if (l.kind == PROTO_RESULT) {
        const char *text = yyjson_get_str(yyjson_obj_get(l.root, "result"));
        if (text) {
            char msg[512];
            proto_extract_upstream_message(text, msg, sizeof msg);
        }
    }
    proto_line_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t chunk = (size_t)data[0] % 64 + 1; /* the first byte chooses how reads split the stream */
    const char *stops[] = {"STOP"};
    turn_stream_options_t o = {.stop_sequences = stops, .stop_count = 1, .max_tokens = 4096, .model = "m",
                               .emit = on_event, .arg = NULL};
    ctx_t c = {.ts = turn_stream_new(&o)};
    if (!c.ts) return 0;
    ndjson_reader_t r;
    ndjson_reader_init(&r, 1 << 20, 0);
    for (size_t at = 1; at < size; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        (void)ndjson_reader_append(&r, (const char *)data + at, n);
        view_t line;
        int rc;
        while ((rc = ndjson_reader_next(&r, &line)) > 0) on_line(&c, line.ptr, line.len);
        ndjson_reader_compact(&r);
        if (rc < 0) break;
    }
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(c.ts, NULL, &st);
    yyjson_doc_free(msg);
    ndjson_reader_free(&r);
    turn_stream_free(c.ts);
    return 0;
}
