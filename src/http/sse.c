/* Server-sent events (WHATWG HTML 9.2) on a streamed exchange. */
#include "http/sse.h"

#include <errno.h>
#include <string.h>

/* An event name is one line; anything else would forge fields. */
static bool is_one_line(const char *s) { return !strpbrk(s, "\r\n"); }

int sse_begin(http_exchange_t *ex) {
    http_set_header(ex, "cache-control", "no-cache");
    http_set_header(ex, "x-accel-buffering", "no");
    return http_stream_begin(ex, 200, "text/event-stream");
}

/* prefix + line + "\n" for each line of text (split at \r\n, \r or \n): "a\n" is two lines, "" is one. */
static int each_line(buf_t *out, const char *prefix, const char *text, size_t len) {
    size_t start = 0;
    for (size_t i = 0;; i++) {
        if (i < len && text[i] != '\n' && text[i] != '\r') continue;
        int rc = buf_append_str(out, prefix);
        if (!rc) rc = buf_append(out, text + start, i - start);
        if (!rc) rc = buf_append(out, "\n", 1);
        if (rc) return rc;
        if (i >= len) return 0;
        if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n') i++;
        start = i + 1;
    }
}

int sse_format_event(buf_t *out, const char *event, const char *data, size_t len) {
    if (event && !is_one_line(event)) return -EINVAL;
    if (!data) len = 0;
    int rc = buf_reserve(out, len + (event ? strlen(event) : 0) + 16);
    if (!rc && event) rc = buf_appendf(out, "event: %s\n", event);
    if (!rc) rc = each_line(out, "data: ", data ? data : "", len);
    if (!rc) rc = buf_append(out, "\n", 1);
    return rc;
}

int sse_send(http_exchange_t *ex, const char *event, const char *data, size_t len) {
    buf_t frame;
    buf_init(&frame, 0);
    int rc = sse_format_event(&frame, event, data, len);
    if (!rc) rc = http_stream_write(ex, frame.data, frame.len);
    buf_free(&frame);
    return rc;
}

int sse_comment(http_exchange_t *ex, const char *text) {
    buf_t frame;
    buf_init(&frame, 0);
    const char *t = text ? text : "";
    int rc = each_line(&frame, ": ", t, strlen(t));
    if (!rc) rc = buf_append(&frame, "\n", 1);
    if (!rc) rc = http_stream_write(ex, frame.data, frame.len);
    buf_free(&frame);
    return rc;
}

static void on_keepalive(http_exchange_t *ex, void *arg) {
    (void)arg;
    sse_comment(ex, "ping");
}

void sse_keepalive(http_exchange_t *ex, long interval_ms) {
    http_exchange_set_heartbeat(ex, interval_ms, interval_ms > 0 ? on_keepalive : NULL, NULL);
}
