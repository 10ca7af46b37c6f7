/*
 * One TCP connection: reading, driving the parser, timeouts, and teardown.
 *
 * Parser callbacks (request.c) only record what they saw and pause; everything that calls user code
 * (dispatch, the error handler) happens here once llhttp_execute has returned, so no handler ever runs
 * inside the parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"
#include "util/log.h"

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static uint64_t ms_or_off(long ms) { return ms > 0 ? (uint64_t)ms : 0; }

/* How long queued bytes may sit untouched; bounded even when idle timeouts are off. */
static uint64_t stall_ms(const http_server_t *srv) {
    return srv->limits.idle_timeout_ms > 0 ? (uint64_t)srv->limits.idle_timeout_ms : 60000;
}

/* ---- lifecycle ---- */

static void on_handle_closed(uv_handle_t *h) {
    http_conn_t *c = h->data;
    if (--c->open_handles > 0) return;
    http_exchange_t *ex = c->ex;
    if (ex && !ex->is_dispatched) {
        /* A request that was still arriving: nobody saw it, nobody answers it. */
        c->ex = NULL;
        exchange_free(ex);
    } else if (ex) {
        c->in_callback++;
        exchange_notify_abort(ex);
        c->in_callback--;
    }
    conn_maybe_free(c);
}

void conn_maybe_free(http_conn_t *c) {
    if (c->state != CONN_CLOSED || c->open_handles > 0 || c->ex || c->in_callback > 0) return;
    buf_free(&c->in);
    http_server_t *srv = c->srv;
    server_conn_gone(srv, c);
    free(c);
}

static void uncount(http_conn_t *c) {
    if (!c->is_counted) return;
    c->is_counted = false;
    c->srv->serving_count--;
}

void conn_close(http_conn_t *c) {
    if (c->state == CONN_CLOSED) return;
    c->state = CONN_CLOSED;
    uncount(c);
    if (c->ex && c->ex->is_dispatched) c->ex->is_aborted = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->is_reading = false;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->heartbeat, on_handle_closed);
}

void conn_abort(http_conn_t *c, const char *why) {
    if (c->state == CONN_CLOSED) return;
    if (c->ex && c->ex->is_dispatched)
        log_info("http.client_gone", "request_id=%s reason=\"%s\" queued=%zu", c->ex->request_id, why,
                 c->write_queued);
    conn_close(c);
}

static void start_reading(http_conn_t *c);

static void on_shutdown(uv_shutdown_t *req, int status) {
    http_conn_t *c = req->data;
    if (c->state != CONN_LINGER) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_start_timer(c, CONN_TIMER_LINGER, HTTP_LINGER_MS);
}

void conn_close_gracefully(http_conn_t *c) {
    if (c->state == CONN_CLOSED || c->state == CONN_LINGER) return;
    c->state = CONN_LINGER;
    uncount(c);
    c->shutdown_req.data = c;
    /* Closing with unread input would reset the connection and could destroy the answer before the client
     * reads it, so: shut down the write side once the answer is out, then read and discard until EOF. */
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    buf_reset(&c->in);
    start_reading(c);
    /* Until the shutdown completes, a client that does not read is cut by the stall check. */
    conn_start_timer(c, CONN_TIMER_STALL, stall_ms(c->srv));
}

void conn_send_raw_error(http_conn_t *c, int status, const char *message) {
    if (c->state == CONN_CLOSED || c->state == CONN_LINGER) return;
    unsigned char rnd[12] = {0};
    char id[HTTP_REQUEST_ID_LEN + 1], extra[64];
    uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL);
    http_request_id_format(id, rnd);
    snprintf(extra, sizeof extra, "request-id: %s\r\n", id);
    size_t len = strlen(message);
    http_head_t h = {.status = status, .http_minor = 1, .content_type = "text/plain; charset=utf-8",
                     .framing = HTTP_BODY_LENGTH, .body_len = len + 1, .is_keep_alive = false, .extra = extra};
    buf_t head;
    buf_init(&head, 0);
    if (http_format_head(&head, &h) == 0 && buf_append(&head, message, len) == 0 && buf_append(&head, "\n", 1) == 0) {
        uv_buf_t b = uv_buf_init(head.data, (unsigned)head.len);
        conn_write(c, &b, 1, false);
    }
    buf_free(&head);
    log_info("http.rejected", "status=%d reason=\"%s\" client=%s request_id=%s", status, message, c->client_addr, id);
    if (c->ex && !c->ex->is_dispatched) {
        exchange_free(c->ex);
        c->ex = NULL;
    }
    conn_close_gracefully(c);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t);

void conn_start_timer(http_conn_t *c, conn_timer_t kind, uint64_t ms) {
    if (c->state == CONN_CLOSED) return;
    c->timer_kind = kind;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void stop_timer(http_conn_t *c) {
    c->timer_kind = CONN_TIMER_NONE;
    uv_timer_stop(&c->timer);
}


/* While an answer is being written: cut a client that has taken nothing for idle_timeout_ms. */
static void check_stall(http_conn_t *c) {
    uint64_t limit = stall_ms(c->srv);
    uint64_t now = uv_now(c->srv->loop);
    if (c->write_queued > 0 && now - c->write_progress_ms >= limit) {
        conn_abort(c, "client stopped reading");
        return;
    }
    uint64_t wait = c->write_queued > 0 ? limit - (now - c->write_progress_ms) : limit;
    conn_start_timer(c, CONN_TIMER_STALL, wait);
}

/* EOF while the answer is being made. A FIN alone does not say the client is gone: HTTP tools that
 * shutdown(SHUT_WR) after the request still read the answer. Only a write can tell (a closed socket
 * answers data with a reset), so a whole answer is still made and sent, and a stream that begins later
 * notices a vanished client at its first write. */
static void on_peer_done_sending(http_conn_t *c) {
    c->is_peer_done_sending = true;
    c->must_close = true; /* no further request can come */
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->is_reading = false;
}

static void resume_parsing(http_conn_t *c);
static void fail_request(http_conn_t *c, int status, const char *message);

static void on_timer(uv_timer_t *t) {
    http_conn_t *c = t->data;
    conn_timer_t kind = c->timer_kind;
    c->timer_kind = CONN_TIMER_NONE;
    switch (kind) {
    case CONN_TIMER_HEAD:
        if (c->state != CONN_HEAD) return;
        if (c->ex) conn_send_raw_error(c, 408, "the request head did not arrive in time");
        else conn_close(c);
        return;
    case CONN_TIMER_IDLE:
        if (c->state == CONN_HEAD && !c->ex) conn_close(c);
        return;
    case CONN_TIMER_BODY:
        if (c->state == CONN_BODY) fail_request(c, 408, "the request body did not arrive in time");
        return;
    case CONN_TIMER_STALL:
        if (c->state == CONN_BUSY || c->state == CONN_LINGER) check_stall(c);
        return;
    case CONN_TIMER_RESUME:
        if (c->state == CONN_HEAD) resume_parsing(c);
        return;
    case CONN_TIMER_LINGER:
        if (c->state == CONN_LINGER) conn_close(c);
        return;
    case CONN_TIMER_NONE: return;
    }
}

/* ---- accepting ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    http_conn_t *c = h->data;
    *buf = uv_buf_init(c->srv->read_buf, sizeof c->srv->read_buf);
}

static void start_reading(http_conn_t *c) {
    if (c->is_reading || c->state == CONN_CLOSED) return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->is_reading = true;
}

static void note_peer(http_conn_t *c) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    strcpy(c->client_addr, "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) return;
    if (ss.ss_family == AF_INET) uv_ip4_name((struct sockaddr_in *)&ss, c->client_addr, sizeof c->client_addr);
    else if (ss.ss_family == AF_INET6) uv_ip6_name((struct sockaddr_in6 *)&ss, c->client_addr, sizeof c->client_addr);
}

static void on_unaccepted_closed(uv_handle_t *h) { free(h->data); }

/* One peer may not hold every slot (slow bodies, idle keep-alives): its share is capped. */
static bool is_peer_over_cap(const http_server_t *srv, const http_conn_t *c) {
    int cap = srv->limits.max_connections_per_client;
    if (cap <= 0 || !strcmp(c->client_addr, "-")) return false;
    int held = 0;
    for (const http_conn_t *o = srv->conns; o; o = o->next)
        if (o != c && o->is_counted && !strcmp(o->client_addr, c->client_addr) && ++held >= cap) return true;
    return false;
}

void conn_accept(http_server_t *srv) {
    http_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_unaccepted_closed);
        return;
    }
    uv_timer_init(srv->loop, &c->timer);
    uv_timer_init(srv->loop, &c->heartbeat);
    c->timer.data = c->heartbeat.data = c;
    c->open_handles = 3;
    llhttp_init(&c->parser, HTTP_REQUEST, &srv->parser_settings);
    c->parser.data = c;
    buf_init(&c->in, 0); /* bounded by HTTP_MAX_PIPELINED_BYTES: reading stops there */
    c->state = CONN_HEAD;
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->conn_count++;
    uv_tcp_nodelay(&c->tcp, 1); /* SSE events are small and latency matters */
    note_peer(c);

    int max = srv->limits.max_connections;
    if (is_peer_over_cap(srv, c)) {
        log_info("http.client_over_cap", "client=%s max=%d", c->client_addr, srv->limits.max_connections_per_client);
        conn_send_raw_error(c, 503, "too many connections from this address");
        return;
    }
    if (max > 0 && srv->serving_count >= (size_t)max) {
        /* Over the limit: say so, unless even the goodbyes pile up. */
        if (srv->conn_count > 2 * (size_t)max + 16) conn_close(c);
        else conn_send_raw_error(c, 503, "too many connections");
        return;
    }
    c->is_counted = true;
    srv->serving_count++;
    start_reading(c);
    if (srv->limits.header_timeout_ms > 0) conn_start_timer(c, CONN_TIMER_HEAD, ms_or_off(srv->limits.header_timeout_ms));
}

/* ---- requests ---- */

static void dispatch(http_conn_t *c) {
    http_server_t *srv = c->srv;
    http_exchange_t *ex = c->ex;
    c->state = CONN_BUSY;
    c->write_progress_ms = uv_now(srv->loop);
    check_stall(c);
    ex->is_dispatched = true;
    srv->active_exchanges++;
    srv->dispatch(ex, srv->dispatch_ctx); /* may finish ex; c stays (it is freed only from close callbacks) */
}

static void default_error(http_exchange_t *ex, int status, const char *message) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL;
    yyjson_mut_val *err = root ? yyjson_mut_obj_add_obj(doc, root, "error") : NULL;
    if (err) {
        yyjson_mut_doc_set_root(doc, root);
        yyjson_mut_obj_add_str(doc, err, "message", message);
        http_respond_json(ex, status, doc);
    } else {
        http_respond(ex, status, "text/plain", message, strlen(message));
    }
    yyjson_mut_doc_free(doc);
}

/* Errors after a complete head go to the error handler, which shapes them for the route; the connection then ends
 * because the rest of the body cannot be trusted to frame the next request. */
static void fail_request(http_conn_t *c, int status, const char *message) {
    http_server_t *srv = c->srv;
    http_exchange_t *ex = c->ex;
    c->must_close = true;
    c->state = CONN_BUSY;
    c->write_progress_ms = uv_now(srv->loop);
    check_stall(c);
    ex->is_dispatched = true;
    srv->active_exchanges++;
    log_info("http.request_failed", "request_id=%s status=%d reason=\"%s\"", ex->request_id, status, message);
    if (srv->on_error) srv->on_error(ex, status, message, srv->error_ctx);
    else default_error(ex, status, message);
}

/*
 * Feed bytes to the parser and act on why it stopped. data is c->in's contents when is_from_in; otherwise
 * bytes the parser did not take (a pipelined request) are kept in c->in for later.
 */
static void parse(http_conn_t *c, const char *data, size_t len, bool is_from_in) {
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
    /* A parser callback's write (100 Continue) can fail and close the connection; a request completed in
     * the same bytes must not be dispatched then: the handles are closing and close callbacks free it. */
    if (c->state == CONN_CLOSED) return;
    if (err == HPE_OK) {
        if (is_from_in) buf_reset(&c->in);
        return;
    }
    const char *pos = llhttp_get_error_pos(&c->parser);
    size_t used = pos && pos >= data && pos <= data + len ? (size_t)(pos - data) : len;
    int status = c->pending_status;
    char why[sizeof c->pending_message];
    memcpy(why, c->pending_message, sizeof why);
    c->pending_status = 0;
    bool is_dispatch = !status && err == HPE_PAUSED && c->is_message_complete;
    c->is_message_complete = false;
    /* Book-keeping first: the handler may finish at once, and what happens next depends on c->in. */
    if (is_from_in) {
        buf_consume(&c->in, used);
    } else if (is_dispatch && used < len && buf_append(&c->in, data + used, len - used) != 0) {
        conn_close(c);
        return;
    }
    if (is_dispatch) {
        dispatch(c);
    } else if (status && c->ex && c->ex->is_head_complete) {
        fail_request(c, status, why);
    } else if (status) {
        conn_send_raw_error(c, status, why);
    } else if (c->ex && c->ex->is_head_complete) {
        fail_request(c, 400, llhttp_get_error_reason(&c->parser));
    } else {
        log_debug("http.bad_head", "client=%s error=%s", c->client_addr, llhttp_errno_name(err));
        conn_send_raw_error(c, 400, "malformed HTTP request");
    }
}

/* Parse what waited in c->in (after an exchange finished), then wait for more. */
static void resume_parsing(http_conn_t *c) {
    if (c->in.len > 0) parse(c, c->in.data, c->in.len, true);
    if (c->state == CONN_CLOSED || c->state == CONN_LINGER) return;
    if (c->in.len < HTTP_MAX_PIPELINED_BYTES) start_reading(c);
    if (c->state == CONN_HEAD && !c->ex && c->timer_kind == CONN_TIMER_NONE && c->srv->limits.idle_timeout_ms > 0)
        conn_start_timer(c, CONN_TIMER_IDLE, ms_or_off(c->srv->limits.idle_timeout_ms));
}

void conn_exchange_done(http_conn_t *c) {
    if (c->state == CONN_CLOSED) {
        conn_maybe_free(c);
        return;
    }
    if (c->state != CONN_BUSY) return;
    uv_timer_stop(&c->heartbeat);
    if (c->must_close || c->srv->is_stopping) {
        conn_close_gracefully(c);
        return;
    }
    c->state = CONN_HEAD;
    stop_timer(c);
    llhttp_resume(&c->parser);
    if (c->in.len > 0) conn_start_timer(c, CONN_TIMER_RESUME, 0); /* not from inside the handler that finished */
    else resume_parsing(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    http_conn_t *c = s->data;
    if (nread < 0) {
        /* Once a stream is flowing, a FIN is a client leaving (every stream client reads until the end). */
        bool is_streaming = c->ex && c->ex->is_stream_started;
        if (c->state == CONN_BUSY && nread == UV_EOF && !c->is_peer_done_sending && !is_streaming)
            on_peer_done_sending(c);
        else if (c->state == CONN_BUSY) conn_abort(c, nread == UV_EOF ? "closed by client" : uv_err_name((int)nread));
        else conn_close(c);
        return;
    }
    if (nread == 0) return;
    size_t n = (size_t)nread;
    switch (c->state) {
    case CONN_LINGER:
    case CONN_CLOSED: return; /* discarded */
    case CONN_BUSY:
        /* The next request waits its turn; past the bound we stop reading and let TCP push back. */
        if (buf_append(&c->in, buf->base, n) != 0 || c->in.len >= HTTP_MAX_PIPELINED_BYTES) {
            uv_read_stop(s);
            c->is_reading = false;
        }
        return;
    case CONN_HEAD:
    case CONN_BODY:
        if (c->in.len > 0) {
            /* Earlier bytes are still queued: keep the order. */
            if (buf_append(&c->in, buf->base, n) != 0) {
                conn_close(c);
                return;
            }
            if (c->timer_kind != CONN_TIMER_RESUME) resume_parsing(c);
            return;
        }
        parse(c, buf->base, n, false);
        return;
    }
}
