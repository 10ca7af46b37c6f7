#include "transport/ndjson.h"

#include <errno.h>
#include <string.h>

void ndjson_reader_init(ndjson_reader_t *r, size_t max_line) {
    buf_init(&r->pending, 0); /* bounded by max_line per unfinished line, checked here */
    r->head = r->scanned = 0;
    r->max_line = max_line ? max_line : NDJSON_MAX_LINE_DEFAULT;
    r->is_failed = false;
}

void ndjson_reader_free(ndjson_reader_t *r) { buf_free(&r->pending); }

size_t ndjson_reader_pending(const ndjson_reader_t *r) { return r->pending.len - r->head; }

static bool emit(const char *line, size_t len, ndjson_line_fn on_line, void *arg) {
    if (len && line[len - 1] == '\r') len--;
    return on_line(arg, line, len);
}

static int fail(ndjson_reader_t *r) {
    r->is_failed = true;
    buf_free(&r->pending);
    r->head = r->scanned = 0;
    return -EMSGSIZE;
}

static void compact(ndjson_reader_t *r) {
    if (r->head == 0) return;
    buf_consume(&r->pending, r->head);
    r->scanned -= r->head;
    r->head = 0;
    /* A huge line is over: give its memory back rather than keep 64 MiB per session, also when the start
     * of the next line is already here (it moves to a buffer of its own size). */
    if (r->pending.cap > ((size_t)1 << 20) && r->pending.len < r->pending.cap / 8) {
        buf_t small;
        buf_init(&small, r->pending.limit);
        if (r->pending.len && buf_append(&small, r->pending.data, r->pending.len) != 0) return;
        buf_free(&r->pending);
        r->pending = small;
    }
}

int ndjson_reader_resume(ndjson_reader_t *r, ndjson_line_fn on_line, void *arg) {
    if (r->is_failed) return -EMSGSIZE;
    int rc = 0;
    while (r->head < r->pending.len) {
        if (r->scanned < r->head) r->scanned = r->head;
        char *from = r->pending.data + r->scanned;
        char *nl = memchr(from, '\n', r->pending.len - r->scanned);
        if (!nl) {
            r->scanned = r->pending.len;
            if (r->pending.len - r->head > r->max_line) return fail(r);
            break;
        }
        size_t start = r->head;
        size_t n = (size_t)(nl - (r->pending.data + start));
        if (n > r->max_line) return fail(r);
        r->head = r->scanned = start + n + 1;
        if (!emit(r->pending.data + start, n, on_line, arg)) {
            rc = 1;
            break;
        }
    }
    compact(r);
    return rc;
}

int ndjson_reader_feed(ndjson_reader_t *r, const char *data, size_t len, ndjson_line_fn on_line, void *arg) {
    if (r->is_failed) return -EMSGSIZE;
    /* Fast path: nothing kept, so whole lines are handed out straight from data. */
    while (r->head == r->pending.len && len) {
        const char *nl = memchr(data, '\n', len);
        if (!nl) break;
        size_t n = (size_t)(nl - data);
        if (n > r->max_line) return fail(r);
        data = nl + 1;
        len -= n + 1;
        if (!emit(nl - n, n, on_line, arg)) {
            if (len && buf_append(&r->pending, data, len) != 0) return fail(r);
            return 1;
        }
    }
    if (!len) return 0;
    /* An unfinished line grows by at most one read past max_line before resume refuses it. */
    if (buf_append(&r->pending, data, len) != 0) return fail(r);
    return ndjson_reader_resume(r, on_line, arg);
}
