#include "transport/ndjson.h"

#include <errno.h>
#include <string.h>

void ndjson_reader_init(ndjson_reader_t *r, size_t max_line, size_t max_buffered) {
    buf_init(&r->buf, max_buffered); /* without a bound, max_line bounds the unfinished line, checked here */
    r->head = r->scanned = r->partial = 0;
    r->max_line = max_line ? max_line : NDJSON_MAX_LINE_DEFAULT;
    r->error = 0;
}

void ndjson_reader_free(ndjson_reader_t *r) { buf_free(&r->buf); }

size_t ndjson_reader_pending(const ndjson_reader_t *r) { return r->buf.len - r->head; }

int ndjson_reader_append(ndjson_reader_t *r, const char *data, size_t len) {
    if (r->error || len == 0) return r->error;
    if (buf_append(&r->buf, data, len) != 0) return r->error = -EMSGSIZE;
    const char *last_nl = memrchr(data, '\n', len);
    r->partial = last_nl ? (size_t)(data + len - last_nl - 1) : r->partial + len;
    if (r->partial > r->max_line) r->error = -EMSGSIZE;
    return r->error;
}

/* Everything before the failure has been handed out: the bytes held are of no more use. */
static int failed(ndjson_reader_t *r) {
    buf_free(&r->buf);
    r->head = r->scanned = r->partial = 0;
    return r->error;
}

int ndjson_reader_next(ndjson_reader_t *r, view_t *line) {
    if (r->scanned < r->head) r->scanned = r->head;
    char *nl = r->scanned < r->buf.len ? memchr(r->buf.data + r->scanned, '\n', r->buf.len - r->scanned) : NULL;
    if (!nl) {
        r->scanned = r->buf.len;
        return r->error ? failed(r) : 0;
    }
    const char *start = r->buf.data + r->head;
    size_t n = (size_t)(nl - start);
    if (n > r->max_line) { /* it came whole, with the lines after it: none of them is handed out */
        r->error = -EMSGSIZE;
        return failed(r);
    }
    r->head = r->scanned = r->head + n + 1;
    if (n && start[n - 1] == '\r') n--;
    *line = (view_t){start, n};
    return 1;
}

void ndjson_reader_compact(ndjson_reader_t *r) {
    /* Nothing handed out: leave a growing long line where it is instead of moving it every read. */
    if (r->head == 0) return;
    buf_consume(&r->buf, r->head);
    r->scanned -= r->head;
    r->head = 0;
    /* A huge line is over: give its memory back rather than keep 64 MiB per session, also when the start
     * of the next line is already here (it moves to a buffer of its own size). */
    if (r->buf.cap > ((size_t)1 << 20) && r->buf.len < r->buf.cap / 8) {
        buf_t small;
        buf_init(&small, r->buf.limit);
        if (r->buf.len && buf_append(&small, r->buf.data, r->buf.len) != 0) return;
        buf_free(&r->buf);
        r->buf = small;
    }
}

void ndjson_reader_drop_partial(ndjson_reader_t *r) {
    r->buf.len -= r->partial;
    r->partial = 0;
    if (r->scanned > r->buf.len) r->scanned = r->buf.len;
}
