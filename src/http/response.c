/* Response heads, whole and streamed bodies, and the write queue behind them (back-pressure). */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <string.h>
#include <strings.h>

#include "http/server_internal.h"
#include "util/log.h"
#include "util/utf8.h"

/* ---- the write queue ---- */

typedef struct {
    uv_write_t req; /* first: the request pointer is the block pointer */
    http_conn_t *conn;
    size_t len;
    char data[];
} write_block_t;

static void on_write(uv_write_t *req, int status) {
    write_block_t *w = (write_block_t *)req;
    http_conn_t *c = w->conn;
    c->write_queued -= w->len;
    bool was_big = w->len >= HTTP_BIG_WRITE_BYTES;
    free(w);
    /* glibc keeps freed megabytes in its heap: a big answer's memory is handed back once it is out. */
#ifdef __GLIBC__
    if (was_big) malloc_trim(0);
#else
    (void)was_big;
#endif
    if (status < 0) {
        if (status != UV_ECANCELED) conn_abort(c, uv_err_name(status));
        return;
    }
    c->write_progress_ms = uv_now(c->srv->loop);
    /* Drain at half the high-water mark, so a producer is not paused and resumed on every write. */
    if (!c->is_above_high_water || c->write_queued > c->srv->limits.write_high_water / 2) return;
    c->is_above_high_water = false;
    http_exchange_t *ex = c->ex;
    log_debug("http.drained", "request_id=%s queued=%zu", ex ? ex->request_id : "-", c->write_queued);
    if (ex && !ex->is_aborted && ex->on_drain) ex->on_drain(ex, ex->drain_arg);
}

int conn_write(http_conn_t *c, const uv_buf_t *bufs, unsigned count, bool is_bounded) {
    if (c->state == CONN_CLOSED || c->state == CONN_LINGER) return UV_ECANCELED;
    size_t total = 0;
    for (unsigned i = 0; i < count; i++) total += bufs[i].len;
    if (total == 0) return 0;
    size_t done = 0;
    if (c->write_queued == 0) {
        /* Most writes fit the socket buffer: no copy, no request. */
        int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, count);
        if (r >= 0) done = (size_t)r;
        else if (r != UV_EAGAIN) {
            conn_abort(c, uv_err_name(r));
            return r;
        }
        if (done == total) return 0;
    }
    size_t rest = total - done;
    http_server_t *srv = c->srv;
    if (is_bounded && c->write_queued + rest > srv->limits.write_limit) {
        log_warn("http.write_limit", "request_id=%s queued=%zu limit=%zu", c->ex ? c->ex->request_id : "-",
                 c->write_queued, srv->limits.write_limit);
        conn_abort(c, "write limit reached");
        return UV_ENOBUFS;
    }
    write_block_t *w = malloc(sizeof *w + rest);
    if (!w) {
        conn_abort(c, "out of memory");
        return UV_ENOMEM;
    }
    w->conn = c;
    w->len = rest;
    size_t at = 0, skip = done;
    for (unsigned i = 0; i < count; i++) {
        size_t len = bufs[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(w->data + at, bufs[i].base + skip, len - skip);
        at += len - skip;
        skip = 0;
    }
    uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r != 0) {
        free(w);
        conn_abort(c, uv_err_name(r));
        return r;
    }
    if (c->write_queued == 0) c->write_progress_ms = uv_now(srv->loop);
    c->write_queued += rest;
    if (c->ex && c->write_queued > c->ex->peak_queued) c->ex->peak_queued = c->write_queued;
    if (c->write_queued > srv->limits.write_high_water && !c->is_above_high_water) {
        c->is_above_high_water = true;
        log_debug("http.congested", "request_id=%s queued=%zu", c->ex ? c->ex->request_id : "-", c->write_queued);
    }
    return 0;
}

/* ---- heads ---- */

void http_set_header(http_exchange_t *ex, const char *name, const char *value) {
    if (ex->is_stream_started || !name || !value) return;
    if (!http_header_name_is_valid(name) || !http_header_value_is_valid(value) || http_header_is_reserved(name)) {
        log_warn("http.header_refused", "request_id=%s name=%.64s", ex->request_id, name);
        return;
    }
    size_t nlen = strlen(name), vlen = strlen(value);
    char *entry = malloc(nlen + vlen + 2);
    if (!entry) return;
    memcpy(entry, name, nlen + 1);
    memcpy(entry + nlen + 1, value, vlen + 1);
    for (size_t i = 0; i < ex->response_header_count; i++) {
        if (strcasecmp(ex->response_headers[i], name) != 0) continue;
        free(ex->response_headers[i]);
        ex->response_headers[i] = entry;
        return;
    }
    if (ex->response_header_count == HTTP_MAX_RESPONSE_HEADERS) {
        log_warn("http.too_many_headers", "request_id=%s name=%.64s", ex->request_id, name);
        free(entry);
        return;
    }
    ex->response_headers[ex->response_header_count++] = entry;
}

static int format_head(http_exchange_t *ex, const char *content_type, http_body_framing_t framing, size_t body_len,
                       buf_t *out) {
    http_conn_t *c = ex->conn;
    bool is_keep_alive = ex->is_keep_alive && !c->must_close && !c->srv->is_stopping && framing != HTTP_BODY_UNTIL_CLOSE;
    if (!is_keep_alive) c->must_close = true;
    buf_t extra;
    buf_init(&extra, 0);
    bool has_id = false;
    int rc = 0;
    for (size_t i = 0; i < ex->response_header_count && !rc; i++) {
        const char *name = ex->response_headers[i];
        if (content_type && !strcasecmp(name, "content-type")) continue;
        if (!strcasecmp(name, "request-id")) has_id = true;
        rc = buf_appendf(&extra, "%s: %s\r\n", name, name + strlen(name) + 1);
    }
    if (!rc && !has_id) rc = buf_appendf(&extra, "request-id: %s\r\n", ex->request_id);
    http_head_t h = {
        .status = ex->status,
        .http_minor = ex->http_minor,
        .content_type = content_type,
        .framing = framing,
        .body_len = body_len,
        .is_keep_alive = is_keep_alive,
        .extra = extra.len ? extra.data : NULL,
    };
    if (!rc) rc = http_format_head(out, &h);
    buf_free(&extra);
    return rc;
}

/* ---- whole responses ---- */

void http_respond(http_exchange_t *ex, int status, const char *content_type, const void *body, size_t len) {
    if (ex->is_stream_started) {
        log_warn("http.respond_after_stream", "request_id=%s status=%d", ex->request_id, status);
        http_stream_end(ex);
        return;
    }
    ex->status = status;
    if (!ex->is_aborted) {
        bool has_body = !http_status_has_no_body(status);
        buf_t head;
        buf_init(&head, 0);
        if (format_head(ex, content_type, has_body ? HTTP_BODY_LENGTH : HTTP_BODY_NONE, len, &head) == 0) {
            uv_buf_t bufs[2] = {uv_buf_init(head.data, (unsigned)head.len), uv_buf_init((char *)body, (unsigned)len)};
            unsigned n = has_body && !ex->is_head_method && len > 0 ? 2 : 1;
            if (conn_write(ex->conn, bufs, n, false) == 0 && n == 2) ex->bytes_sent = len;
        }
        buf_free(&head);
        ex->first_byte_ns = exchange_now_ns();
    }
    exchange_finish(ex);
}

void http_respond_json(http_exchange_t *ex, int status, yyjson_mut_doc *doc) {
    size_t len = 0;
    char *json = doc ? utf8_json_write(doc, &len) : NULL; /* a client's or child's bytes come scrubbed */
    if (!json) {
        static const char fallback[] = "{\"error\":{\"message\":\"could not encode the response\"}}";
        http_respond(ex, 500, "application/json", fallback, sizeof fallback - 1);
        return;
    }
    http_respond(ex, status, "application/json", json, len);
    free(json);
}

/* ---- streamed responses ---- */

int http_stream_begin(http_exchange_t *ex, int status, const char *content_type) {
    if (ex->is_stream_started) return ex->is_aborted ? UV_ECANCELED : 0;
    if (ex->is_aborted) return UV_ECANCELED;
    ex->status = status;
    ex->is_stream_started = true;
    /* An HTTP/1.0 client cannot read chunks: the body then ends when the connection does. */
    ex->framing = ex->http_minor == 0 ? HTTP_BODY_UNTIL_CLOSE : HTTP_BODY_CHUNKED;
    ex->last_write_ms = uv_now(ex->conn->srv->loop);
    buf_t head;
    buf_init(&head, 0);
    int rc = format_head(ex, content_type, ex->framing, 0, &head);
    if (rc == 0) {
        uv_buf_t b = uv_buf_init(head.data, (unsigned)head.len);
        rc = conn_write(ex->conn, &b, 1, true);
    }
    buf_free(&head);
    return rc < 0 ? rc : 0;
}

static int stream_write(http_exchange_t *ex, const void *data, size_t len, bool is_bounded) {
    if (!ex->is_stream_started || ex->is_aborted) return UV_ECANCELED;
    if (len == 0 || ex->is_head_method) return 0;
    char prefix[20];
    uv_buf_t bufs[3];
    unsigned n = 0;
    if (ex->framing == HTTP_BODY_CHUNKED) {
        bufs[n++] = uv_buf_init(prefix, (unsigned)http_chunk_prefix(prefix, len));
        bufs[n++] = uv_buf_init((char *)data, (unsigned)len);
        bufs[n++] = uv_buf_init("\r\n", 2);
    } else {
        bufs[n++] = uv_buf_init((char *)data, (unsigned)len);
    }
    int rc = conn_write(ex->conn, bufs, n, is_bounded);
    if (rc < 0) return rc;
    ex->bytes_sent += len;
    if (!ex->first_byte_ns) ex->first_byte_ns = exchange_now_ns();
    ex->last_write_ms = uv_now(ex->conn->srv->loop);
    return 0;
}

int http_stream_write(http_exchange_t *ex, const void *data, size_t len) { return stream_write(ex, data, len, true); }
int http_stream_write_whole(http_exchange_t *ex, const void *data, size_t len) {
    return stream_write(ex, data, len, false);
}

void http_stream_end(http_exchange_t *ex) {
    if (!ex->is_stream_started) {
        if (!ex->is_aborted) log_warn("http.stream_end_without_begin", "request_id=%s", ex->request_id);
        http_respond(ex, ex->is_aborted ? 499 : 500, "text/plain", "", 0);
        return;
    }
    if (!ex->is_aborted && ex->framing == HTTP_BODY_CHUNKED && !ex->is_head_method) {
        uv_buf_t b = uv_buf_init("0\r\n\r\n", 5);
        conn_write(ex->conn, &b, 1, false);
    }
    exchange_finish(ex);
}

bool http_stream_started(const http_exchange_t *ex) { return ex->is_stream_started; }
