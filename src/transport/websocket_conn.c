/*
 * One socket of the WebSocket server: upgrade request, frames (wslay), writes, lingering close.
 * The registration it serves (which outlives it across reconnects) is in websocket.c.
 *
 * wslay runs without buffering: it hands us each frame's payload as it arrives, we append it to the
 * session's line splitter and count frame and message sizes ourselves, so nothing is held twice and
 * every limit is ours to name. Control frames (ping, close) wslay still answers by itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/websocket_conn.h"
#include "util/log.h"

static void conn_flush(ws_conn_t *c);
static void conn_feed_frames(ws_conn_t *c, const char *data, size_t len);

/* ---- connection teardown ---- */

static void conn_on_handle_closed(uv_handle_t *h) {
    ws_conn_t *c = h->data;
    if (--c->handles_open > 0) return;
    ws_server_t *s = c->server;
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->conn_count--;
    if (c->ws) wslay_event_context_free(c->ws);
    free(c->hs);
    buf_free(&c->out);
    buf_free(&c->writing);
    free(c);
    ws_server_maybe_finish(s);
}

/* The socket is gone. A session still attached did not expect it: it waits for a reconnect. */
void ws_conn_destroy(ws_conn_t *c) {
    if (c->state == CONN_DEAD) return;
    c->state = CONN_DEAD;
    uv_close((uv_handle_t *)&c->tcp, conn_on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_on_handle_closed);
    ws_session_t *s = c->session;
    if (s) {
        ws_session_detach(s);
        ws_session_on_dropped(s, false);
    }
}

static void conn_on_linger_timeout(uv_timer_t *t) { ws_conn_destroy(t->data); }

/* Stop taking input, let what is queued (a close frame last) go out, then FIN and wait for the peer's. */
static void conn_start_closing(ws_conn_t *c) {
    c->state = CONN_CLOSING;
    c->wants_shutdown = true;
    uv_timer_start(&c->timer, conn_on_linger_timeout, WS_LINGER_MS, 0);
    ws_conn_update_reading(c);
    conn_flush(c);
}

void ws_conn_close(ws_conn_t *c, uint16_t code) {
    if (c->state != CONN_OPEN) return;
    if (c->session) ws_session_detach(c->session);
    wslay_event_queue_close(c->ws, code, NULL, 0); /* NO_MORE_MSG when one is queued already: fine */
    wslay_event_shutdown_read(c->ws);
    conn_start_closing(c);
}

static void conn_refuse(ws_conn_t *c, int status, const char *why) {
    log_info("ws.refuse", "status=%d why=%s", status, why);
    buf_reset(&c->out);
    if (ws_response_refuse(&c->out, status) != 0) {
        ws_conn_destroy(c);
        return;
    }
    conn_start_closing(c);
}

/* ---- writing ---- */

static void conn_on_shutdown(uv_shutdown_t *req, int status) {
    (void)req;
    (void)status; /* the linger timer or the peer's EOF ends the connection either way */
}

static void conn_on_write(uv_write_t *req, int status) {
    ws_conn_t *c = req->data;
    c->is_writing = false;
    buf_reset(&c->writing);
    if (c->state == CONN_DEAD) return;
    if (status < 0) {
        ws_conn_destroy(c);
        return;
    }
    conn_flush(c);
}

static void conn_flush(ws_conn_t *c) {
    if (c->state == CONN_DEAD) return;
    if (c->ws && wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
        ws_conn_destroy(c);
        return;
    }
    if (c->is_writing) return;
    if (c->out.len) {
        buf_t t = c->writing;
        c->writing = c->out;
        c->out = t;
        uv_buf_t b = uv_buf_init(c->writing.data, (unsigned)c->writing.len);
        c->write_req.data = c;
        c->is_writing = true;
        if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) != 0) {
            c->is_writing = false;
            ws_conn_destroy(c);
        }
        return;
    }
    bool has_more = c->ws && wslay_event_want_write(c->ws);
    if (c->wants_shutdown && !c->is_shut && !has_more) {
        c->is_shut = true;
        if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) ws_conn_destroy(c);
    }
}

size_t ws_conn_queued_bytes(const ws_conn_t *c) {
    return wslay_event_get_queued_msg_length(c->ws) + c->out.len + c->writing.len;
}

int ws_conn_send(ws_conn_t *c, const char *data, size_t len) {
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)data, len};
    int r = wslay_event_queue_msg(c->ws, &msg);
    if (r == WSLAY_ERR_NOMEM) return -ENOMEM;
    if (r != 0) return -EPIPE;
    conn_flush(c);
    return 0;
}

/* ---- wslay callbacks ---- */

static ssize_t ws_on_recv(wslay_event_context_ptr ctx, uint8_t *data, size_t len, int flags, void *arg) {
    ws_conn_t *c = arg;
    if (c->rd_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < c->rd_len ? len : c->rd_len;
    memcpy(data, c->rd, n);
    c->rd += n;
    c->rd_len -= n;
    return (ssize_t)n;
}

/* Output waits in c->out; past WS_WRITE_AHEAD wslay keeps the rest queued until the socket drains. */
static ssize_t ws_on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *arg) {
    ws_conn_t *c = arg;
    if (c->out.len >= WS_WRITE_AHEAD) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (buf_append(&c->out, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void conn_fail(ws_conn_t *c, int reason) {
    if (c->error) return;
    c->error = reason;
    wslay_event_queue_close(c->ws, reason == -EMSGSIZE ? 1009 : 1002, NULL, 0);
    wslay_event_shutdown_read(c->ws);
}

static void ws_on_frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *a,
                              void *arg) {
    ws_conn_t *c = arg;
    const ws_limits_t *lim = &c->server->limits;
    c->is_data_frame = a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME ||
                       a->opcode == WSLAY_CONTINUATION_FRAME;
    if (!c->is_data_frame) return;
    if (a->opcode != WSLAY_CONTINUATION_FRAME) c->msg_len = 0;
    c->msg_len += a->payload_length;
    if (a->payload_length > lim->max_frame || c->msg_len > lim->max_message) conn_fail(c, -EMSGSIZE);
}

static void ws_on_frame_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *a,
                              void *arg) {
    ws_conn_t *c = arg;
    if (!c->is_data_frame || c->error || !c->session) return;
    if (ws_session_take_bytes(c->session, (const char *)a->data, a->data_length) != 0) conn_fail(c, -EMSGSIZE);
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = ws_on_recv,
    .send_callback = ws_on_send,
    .on_frame_recv_start_callback = ws_on_frame_start,
    .on_frame_recv_chunk_callback = ws_on_frame_chunk,
};

/* ---- reading ---- */

static void conn_feed_frames(ws_conn_t *c, const char *data, size_t len) {
    c->rd = data;
    c->rd_len = len;
    int r = wslay_event_recv(c->ws);
    c->rd_len = 0;
    /* Lines that arrived before any error or close frame are still the CLI's words. */
    if (c->session) ws_session_drain(c->session);
    if (c->state != CONN_OPEN) return; /* the session closed us from a callback */
    if (r != 0 && !c->error) conn_fail(c, -EPROTO);
    if (c->error) {
        ws_session_t *s = c->session;
        ws_conn_close(c, c->error == -EMSGSIZE ? 1009 : 1002);
        if (s) ws_session_end(s, c->error);
        return;
    }
    if (!wslay_event_get_read_enabled(c->ws)) {
        /* wslay stopped reading: the peer's close frame (answered already), or a frame it rejected. */
        bool is_goodbye = wslay_event_get_close_received(c->ws);
        ws_session_t *s = c->session;
        ws_conn_close(c, 1000); /* only used if wslay queued no close of its own */
        if (s && is_goodbye) ws_session_on_dropped(s, true);
        else if (s) ws_session_end(s, -EPROTO);
        return;
    }
    conn_flush(c); /* pongs */
}

static void conn_upgrade(ws_conn_t *c, const char *rest, size_t rest_len) {
    ws_handshake_t *hs = c->hs;
    int status = ws_handshake_check(hs);
    if (status) {
        conn_refuse(c, status, "bad_request");
        return;
    }
    char path[WS_HEADER_VALUE_MAX];
    memcpy(path, hs->values[WS_HS_PATH].text, hs->values[WS_HS_PATH].len + 1);
    path[strcspn(path, "?#")] = '\0';
    ws_session_t *s = ws_server_find_session(c->server, path);
    if (!s) {
        conn_refuse(c, 404, "unknown_path");
        return;
    }
    size_t token_len = 0;
    const char *token = ws_handshake_bearer(hs, &token_len);
    if (!token || !ws_session_token_matches(s, token, token_len)) {
        conn_refuse(c, 401, token ? "bad_token" : "no_token");
        return;
    }
    status = ws_session_can_attach(s);
    if (status) {
        conn_refuse(c, status, status == 409 ? "already_connected" : "ended");
        return;
    }

    char accept[WS_ACCEPT_LEN + 1];
    if (ws_accept_key(hs->values[WS_HS_KEY].text, hs->values[WS_HS_KEY].len, accept) != 0 ||
        ws_response_accept(&c->out, accept) != 0 ||
        wslay_event_context_server_init(&c->ws, &ws_callbacks, c) != 0) {
        ws_conn_destroy(c);
        return;
    }
    wslay_event_config_set_no_buffering(c->ws, 1);
    /* Without buffering wslay holds no data frame, and its frame parser caps control frames at 125
     * bytes; ws_on_frame_start enforces our limits, so wslay's own check (which would close with the
     * same 1009 but leave us unable to tell it from a protocol error) stays out of the way. */
    wslay_event_config_set_max_recv_msg_length(c->ws, UINT64_MAX);
    free(c->hs);
    c->hs = NULL;
    uv_timer_stop(&c->timer);
    c->state = CONN_OPEN;
    conn_flush(c);
    ws_session_attach(s, c); /* may fire on_open, whose handler may close us */
    if (c->state == CONN_OPEN && rest_len) conn_feed_frames(c, rest, rest_len);
}

static void conn_feed_handshake(ws_conn_t *c, const char *data, size_t len) {
    size_t used = 0;
    ws_hs_state_t st = ws_handshake_feed(c->hs, data, len, &used);
    if (st == WS_HS_FAILED) conn_refuse(c, c->hs->status, "bad_request");
    else if (st == WS_HS_COMPLETE) conn_upgrade(c, data + used, len - used);
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    ws_conn_t *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void conn_on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
    ws_conn_t *c = stream->data;
    if (n == 0 || c->state == CONN_DEAD) return;
    if (n < 0) {
        ws_conn_destroy(c);
        return;
    }
    switch (c->state) {
    case CONN_HANDSHAKE: conn_feed_handshake(c, buf->base, (size_t)n); break;
    case CONN_OPEN: conn_feed_frames(c, buf->base, (size_t)n); break;
    default: break; /* closing: the peer's last words are of no use */
    }
}

void ws_conn_update_reading(ws_conn_t *c) {
    if (c->state == CONN_DEAD) return;
    bool wants = c->state != CONN_OPEN || !c->session || ws_session_wants_input(c->session);
    if (wants && !c->is_reading) {
        c->is_reading = uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) == 0;
    } else if (!wants && c->is_reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->is_reading = false;
    }
}

static void conn_on_handshake_timeout(uv_timer_t *t) {
    ws_conn_t *c = t->data;
    if (c->state == CONN_HANDSHAKE) conn_refuse(c, 408, "timeout");
}

void ws_conn_accept(ws_server_t *s) {
    ws_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    c->server = s;
    c->state = CONN_HANDSHAKE;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    buf_init(&c->out, 0);
    buf_init(&c->writing, 0);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->conn_count++;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0) {
        ws_conn_destroy(c);
        return;
    }
    if (s->conn_count > s->limits.max_connections) {
        log_warn("ws.refuse", "status=503 why=too_many_connections");
        ws_conn_destroy(c);
        return;
    }
    c->hs = malloc(sizeof *c->hs);
    if (!c->hs) {
        ws_conn_destroy(c);
        return;
    }
    ws_handshake_init(c->hs, s->limits.max_handshake);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, conn_on_handshake_timeout, s->limits.handshake_timeout_ms, 0);
    ws_conn_update_reading(c);
}
