/* NDJSON lines out of a byte stream whose frames cut lines anywhere. */
#include <errno.h>
#include <string.h>

#include "transport/websocket_internal.h"

void ws_lines_init(ws_lines_t *l, size_t max_line, size_t max_buffered) {
    buf_init(&l->buf, max_buffered);
    l->head = l->scanned = l->partial = 0;
    l->max_line = max_line;
}

void ws_lines_free(ws_lines_t *l) { buf_free(&l->buf); }

int ws_lines_append(ws_lines_t *l, const char *data, size_t len) {
    if (len == 0) return 0;
    if (buf_append(&l->buf, data, len) != 0) return -EMSGSIZE;
    const char *last_nl = memrchr(data, '\n', len);
    l->partial = last_nl ? (size_t)(data + len - last_nl - 1) : l->partial + len;
    return l->partial > l->max_line ? -EMSGSIZE : 0;
}

bool ws_lines_next(ws_lines_t *l, view_t *line) {
    if (l->scanned < l->head) l->scanned = l->head;
    for (;;) {
        if (l->scanned >= l->buf.len) return false;
        char *start = l->buf.data + l->head;
        char *nl = memchr(l->buf.data + l->scanned, '\n', l->buf.len - l->scanned);
        if (!nl) {
            l->scanned = l->buf.len;
            return false;
        }
        l->head = l->scanned = (size_t)(nl - l->buf.data) + 1;
        if (nl == start) continue; /* empty line */
        line->ptr = start;
        line->len = (size_t)(nl - start);
        return true;
    }
}

void ws_lines_compact(ws_lines_t *l) {
    /* Nothing handed out: leave a growing long line where it is instead of moving it every read. */
    if (l->head == 0) return;
    buf_consume(&l->buf, l->head);
    l->scanned -= l->head;
    l->head = 0;
}

void ws_lines_drop_partial(ws_lines_t *l) {
    l->buf.len -= l->partial;
    l->partial = 0;
    if (l->scanned > l->buf.len) l->scanned = l->buf.len;
}
