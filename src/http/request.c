/*
 * llhttp callbacks: build the exchange's request from the parser's pieces. They record and pause;
 * connection.c decides what happens next once llhttp_execute returns.
 */
#include <stdio.h>
#include <string.h>

#include "http/server_internal.h"

enum { HEADER_BETWEEN, HEADER_IN_NAME, HEADER_NAME_DONE, HEADER_IN_VALUE };

static http_conn_t *conn_of(llhttp_t *p) { return p->data; }

/* Remember an error for connection.c and stop the parser. */
static int refuse(http_conn_t *c, int status, const char *message) {
    c->pending_status = status;
    snprintf(c->pending_message, sizeof c->pending_message, "%s", message);
    return HPE_USER;
}

static int head_append(http_conn_t *c, const char *at, size_t len) {
    if (buf_append(&c->ex->head, at, len) != 0)
        return refuse(c, 431, "the request head is larger than 64 KiB");
    return 0;
}

static int on_message_begin(llhttp_t *p) {
    http_conn_t *c = conn_of(p);
    if (c->ex) return refuse(c, 400, "a request began before the previous one ended");
    c->ex = exchange_new(c);
    if (!c->ex) return refuse(c, 503, "out of memory");
    /* A keep-alive connection that was idle now owes a whole head within the header timeout. */
    long ms = c->srv->limits.header_timeout_ms;
    if (c->timer_kind != CONN_TIMER_HEAD && ms > 0) conn_start_timer(c, CONN_TIMER_HEAD, (uint64_t)ms);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) { return head_append(conn_of(p), at, len); }

static int on_url_complete(llhttp_t *p) { return head_append(conn_of(p), "", 1); }

/*
 * Trailer fields (after a chunked body) are counted and dropped: storing them would grow the head buffer
 * and move the path, query and header values that already point into it. Nothing here reads trailers.
 */
static int skip_trailer(http_conn_t *c, size_t len) {
    c->ex->trailer_bytes += len;
    if (c->ex->trailer_bytes > HTTP_MAX_HEAD_BYTES) return refuse(c, 431, "the request trailers are larger than 64 KiB");
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = conn_of(p);
    http_exchange_t *ex = c->ex;
    if (ex->is_head_complete) return skip_trailer(c, len);
    if (ex->header_stage != HEADER_IN_NAME) {
        if (ex->header_count >= HTTP_MAX_HEADERS) return refuse(c, 431, "too many request headers");
        ex->headers[ex->header_count].name = ex->head.len;
        ex->header_stage = HEADER_IN_NAME;
    }
    return head_append(c, at, len);
}

static int on_header_field_complete(llhttp_t *p) {
    http_conn_t *c = conn_of(p);
    if (c->ex->is_head_complete) return 0;
    c->ex->header_stage = HEADER_NAME_DONE;
    return head_append(c, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = conn_of(p);
    http_exchange_t *ex = c->ex;
    if (ex->is_head_complete) return skip_trailer(c, len);
    if (ex->header_stage == HEADER_NAME_DONE) {
        ex->headers[ex->header_count].value = ex->head.len;
        ex->header_stage = HEADER_IN_VALUE;
    }
    return head_append(c, at, len);
}

static int on_header_value_complete(llhttp_t *p) {
    http_conn_t *c = conn_of(p);
    http_exchange_t *ex = c->ex;
    if (ex->is_head_complete) return 0;
    http_header_ref_t *h = &ex->headers[ex->header_count];
    if (ex->header_stage != HEADER_IN_VALUE) h->value = ex->head.len; /* empty value */
    while (ex->head.len > h->value && (ex->head.data[ex->head.len - 1] == ' ' || ex->head.data[ex->head.len - 1] == '\t'))
        ex->head.len--;
    ex->header_stage = HEADER_BETWEEN;
    ex->header_count++;
    return head_append(c, "", 1);
}

static void send_continue(http_conn_t *c) {
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)line, sizeof line - 1);
    conn_write(c, &b, 1, false);
}

static int on_headers_complete(llhttp_t *p) {
    http_conn_t *c = conn_of(p);
    http_exchange_t *ex = c->ex;
    ex->method = llhttp_method_name((llhttp_method_t)llhttp_get_method(p));
    ex->http_minor = p->http_major == 1 ? p->http_minor : 1;
    ex->is_head_method = llhttp_get_method(p) == HTTP_HEAD;
    ex->is_keep_alive = llhttp_should_keep_alive(p);
    if (llhttp_get_upgrade(p)) c->must_close = true; /* nothing here speaks another protocol */
    http_split_target((char *)buf_cstr(&ex->head) + ex->target_off, &ex->path, &ex->query);
    ex->is_head_complete = true;
    c->state = CONN_BODY;
    /* llhttp reads a request line without a version as HTTP/0.9, and takes HTTP/2.0 text: neither is
     * what we speak, so neither is answered as if it were HTTP/1.1. */
    if (p->http_major == 0) {
        c->must_close = true;
        refuse(c, 400, "the request line has no HTTP/1.x version");
        return HPE_PAUSED;
    }
    if (p->http_major != 1) {
        c->must_close = true;
        refuse(c, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
        return HPE_PAUSED;
    }
    /* One deadline for the whole body: restarting it per read would let a byte every few seconds hold
     * the connection (and its slot) forever. */
    if (c->srv->limits.body_timeout_ms > 0) conn_start_timer(c, CONN_TIMER_BODY, (uint64_t)c->srv->limits.body_timeout_ms);

    long max = c->srv->limits.max_body_bytes;
    buf_init(&ex->body, max > 0 ? (size_t)max : 0);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0) {
        if (max > 0 && p->content_length > (uint64_t)max) {
            char msg[96];
            snprintf(msg, sizeof msg, "request body is larger than the limit of %ld bytes", max);
            refuse(c, 413, msg);
            return HPE_PAUSED; /* answered before the body is read */
        }
        /* Reserving spares the copies of growing; capped so that a client who only claims a size costs little. */
        size_t want = p->content_length < HTTP_BODY_PREALLOC_MAX ? (size_t)p->content_length : HTTP_BODY_PREALLOC_MAX;
        if (buf_reserve(&ex->body, want) != 0) {
            refuse(c, 503, "out of memory for the request body");
            return HPE_PAUSED;
        }
    }
    const char *expect = http_header(ex, "expect");
    if (expect && ex->http_minor >= 1 && http_header_has_token(expect, "100-continue")) send_continue(c);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = conn_of(p);
    if (buf_append(&c->ex->body, at, len) == 0) return 0;
    char msg[96];
    snprintf(msg, sizeof msg, "request body is larger than the limit of %ld bytes", c->srv->limits.max_body_bytes);
    return refuse(c, 413, msg);
}

static int on_message_complete(llhttp_t *p) {
    conn_of(p)->is_message_complete = true;
    return HPE_PAUSED;
}

void request_settings_init(llhttp_settings_t *s) {
    llhttp_settings_init(s);
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_url_complete = on_url_complete;
    s->on_header_field = on_header_field;
    s->on_header_field_complete = on_header_field_complete;
    s->on_header_value = on_header_value;
    s->on_header_value_complete = on_header_value_complete;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}
