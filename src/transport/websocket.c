/*
 * Loopback WebSocket server for `claude --sdk-url`: the listener, and the registrations (sessions) that
 * the engine holds as transport_t and that outlive sockets across reconnects. Sockets: websocket_conn.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/websocket_conn.h"
#include "util/log.h"

#define WS_LISTEN_BACKLOG 64

static const transport_ops_t session_ops;

/* The first characters of the random path name a session in logs; the token never appears. */
static const char *session_id(const ws_session_t *s) { return s->path + sizeof "/session/" - 1; }

/* ---- server ---- */

ws_limits_t ws_limits_default(void) {
    return (ws_limits_t){
        .max_frame = 64u << 20,
        .max_message = 64u << 20,
        .max_send_queue = 128u << 20,
        .max_handshake = 16u << 10,
        .max_connections = 64,
        .handshake_timeout_ms = 10000,
        .reconnect_window_ms = 5000,
        .close_code = 4001,
    };
}

ws_server_t *ws_server_new(uv_loop_t *loop, const ws_limits_t *limits) {
    ws_server_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->loop = loop;
    s->limits = limits ? *limits : ws_limits_default();
    s->state = SERVER_IDLE;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    return s;
}

static void server_on_connection(uv_stream_t *listener, int status) {
    ws_server_t *s = listener->data;
    if (status < 0 || s->state != SERVER_LISTENING) return;
    ws_conn_accept(s);
}

int ws_server_listen(ws_server_t *s, const char *host, int port) {
    if (s->state != SERVER_IDLE || !host || port < 0 || port > 65535) return UV_EINVAL;
    if (!ws_host_is_loopback(host)) {
        log_error("ws.listen", "host=%s error=not_loopback", host);
        return UV_EINVAL;
    }
    const char *ip = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    struct sockaddr_storage addr;
    bool is_v6 = strchr(ip, ':') != NULL;
    int rc = is_v6 ? uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&addr)
                   : uv_ip4_addr(ip, port, (struct sockaddr_in *)&addr);
    if (rc) return rc;
    snprintf(s->url_host, sizeof s->url_host, is_v6 ? "[%s]" : "%s", ip);
    if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, WS_LISTEN_BACKLOG, server_on_connection)) != 0) {
        log_error("ws.listen", "host=%s port=%d error=%s", s->url_host, port, uv_err_name(rc));
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if ((rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len)) != 0) return rc;
    s->port = ntohs(is_v6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);
    s->state = SERVER_LISTENING;
    log_info("ws.listen", "host=%s port=%d", s->url_host, s->port);
    return 0;
}

int ws_server_port(const ws_server_t *s) { return s->port; }

ws_session_t *ws_server_find_session(ws_server_t *s, const char *path) {
    for (ws_session_t *ss = s->sessions; ss; ss = ss->next)
        if (strcmp(ss->path, path) == 0) return ss;
    return NULL;
}

static void server_unlink_session(ws_server_t *s, ws_session_t *ss) {
    if (ss->prev) ss->prev->next = ss->next;
    else s->sessions = ss->next;
    if (ss->next) ss->next->prev = ss->prev;
    ss->prev = ss->next = NULL;
    ss->server = NULL;
}

void ws_server_maybe_finish(ws_server_t *s) {
    if (s->state != SERVER_CLOSING || !s->is_listener_closed || s->conns) return;
    void (*cb)(void *) = s->on_closed;
    void *arg = s->on_closed_arg;
    free(s);
    if (cb) cb(arg);
}

static void server_on_listener_closed(uv_handle_t *h) {
    ws_server_t *s = h->data;
    s->is_listener_closed = true;
    ws_server_maybe_finish(s);
}

void ws_server_close(ws_server_t *s, void (*on_closed)(void *arg), void *arg) {
    if (s->state == SERVER_CLOSING) return;
    s->state = SERVER_CLOSING;
    s->on_closed = on_closed;
    s->on_closed_arg = arg;
    while (s->sessions) {
        ws_session_t *ss = s->sessions;
        server_unlink_session(s, ss);
        ws_session_end(ss, -ECANCELED); /* its on_closed may transport_close it: it is unlinked already */
    }
    for (ws_conn_t *c = s->conns; c; c = c->next)
        if (c->state == CONN_HANDSHAKE) ws_conn_destroy(c); /* handles close later: c stays valid */
    uv_close((uv_handle_t *)&s->listener, server_on_listener_closed);
}

/* ---- sessions ---- */

transport_t *ws_server_expect(ws_server_t *s, const transport_events_t *events, void *arg, char *url_out,
                              size_t url_len, char *token_out, size_t token_len) {
    if (s->state != SERVER_LISTENING || url_len < WS_URL_MAX || token_len < WS_TOKEN_MAX) return NULL;
    ws_session_t *ss = calloc(1, sizeof *ss);
    if (!ss) return NULL;
    /* 128 random bits: two registrations never share a path. */
    if (ws_random_path(ss->path, sizeof ss->path) != 0 || ws_random_token(token_out, token_len) != 0) {
        free(ss);
        return NULL;
    }
    snprintf(url_out, url_len, "ws://%s:%d%s", s->url_host, s->port, ss->path);
    ws_token_digest(token_out, strlen(token_out), ss->token_digest);
    ss->transport.ops = &session_ops;
    ss->transport.events = *events;
    ss->transport.arg = arg;
    ss->state = WS_SESSION_WAITING;
    ss->limits = s->limits;
    /* One unfinished line, plus finished ones: one read's worth, or the read-ahead of a paused session. */
    ndjson_reader_init(&ss->lines, s->limits.max_message, s->limits.max_message + WS_PAUSED_READ_AHEAD + WS_READ_CHUNK);
    buf_init(&ss->backlog, 0); /* bounded by max_send_queue in session_send_line */
    uv_timer_init(s->loop, &ss->reconnect_timer);
    uv_timer_init(s->loop, &ss->drain_timer);
    ss->reconnect_timer.data = ss->drain_timer.data = ss;
    ss->handles_open = 2;
    ss->server = s;
    ss->next = s->sessions;
    if (s->sessions) s->sessions->prev = ss;
    s->sessions = ss;
    log_info("ws.expect", "session=%.8s", session_id(ss));
    return &ss->transport;
}

static transport_t *ws_open(void *server, const transport_events_t *events, void *arg, transport_launch_t *launch) {
    launch->is_dialed = true;
    return ws_server_expect(server, events, arg, launch->sdk_url, sizeof launch->sdk_url, launch->access_token,
                            sizeof launch->access_token);
}

transport_maker_t ws_server_maker(ws_server_t *s) {
    return (transport_maker_t){.name = "websocket", .open = ws_open, .ctx = s};
}

bool ws_session_token_matches(const ws_session_t *s, const char *token, size_t len) {
    return ws_token_matches(s->token_digest, token, len);
}

int ws_session_can_attach(const ws_session_t *s) {
    switch (s->state) {
    case WS_SESSION_WAITING:
    case WS_SESSION_AWAY: return 0;
    case WS_SESSION_OPEN: return 409;
    default: return 410;
    }
}

bool ws_session_wants_input(const ws_session_t *s) {
    return !s->is_paused || ndjson_reader_pending(&s->lines) < WS_PAUSED_READ_AHEAD;
}

void ws_session_detach(ws_session_t *s) {
    if (!s->conn) return;
    s->conn->session = NULL;
    s->conn = NULL;
}

/* Lines sent while no socket was there go out first, in order. */
static void session_flush_backlog(ws_session_t *s) {
    size_t off = 0;
    while (off < s->backlog.len && s->conn) {
        size_t len;
        memcpy(&len, s->backlog.data + off, sizeof len);
        off += sizeof len;
        if (ws_conn_send(s->conn, s->backlog.data + off, len) != 0) break;
        off += len;
    }
    buf_reset(&s->backlog);
}

void ws_session_attach(ws_session_t *s, ws_conn_t *c) {
    bool is_first = s->state == WS_SESSION_WAITING;
    s->state = WS_SESSION_OPEN;
    s->conn = c;
    c->session = s;
    uv_timer_stop(&s->reconnect_timer);
    log_info(is_first ? "ws_open" : "ws_reconnected", "session=%.8s", session_id(s));
    session_flush_backlog(s);
    if (is_first && s->transport.events.on_open) s->transport.events.on_open(s->transport.arg);
    if (s->state == WS_SESSION_OPEN && s->conn == c) ws_conn_update_reading(c);
}

static void session_on_reconnect_timeout(uv_timer_t *t) {
    ws_session_t *s = t->data;
    if (s->state == WS_SESSION_AWAY) ws_session_end(s, s->was_goodbye ? 0 : -ECONNRESET);
}

void ws_session_on_dropped(ws_session_t *s, bool is_goodbye) {
    if (s->state != WS_SESSION_OPEN) return;
    s->state = WS_SESSION_AWAY;
    s->was_goodbye = is_goodbye;
    ndjson_reader_drop_partial(&s->lines);
    log_info("ws.dropped", "session=%.8s goodbye=%d window_ms=%llu", session_id(s), is_goodbye,
             (unsigned long long)s->limits.reconnect_window_ms);
    uv_timer_start(&s->reconnect_timer, session_on_reconnect_timeout, s->limits.reconnect_window_ms, 0);
}

static uint16_t close_code_for(const ws_session_t *s, int reason) {
    switch (reason) {
    case -EMSGSIZE: return 1009;
    case -EPROTO: return 1002;
    default: return s->limits.close_code; /* we are done with this CLI */
    }
}

void ws_session_end(ws_session_t *s, int reason) {
    if (s->state == WS_SESSION_ENDED || s->state == WS_SESSION_FREED) return;
    ws_conn_t *c = s->conn;
    ws_session_detach(s);
    if (c) ws_conn_close(c, close_code_for(s, reason));
    s->state = WS_SESSION_ENDED;
    uv_timer_stop(&s->reconnect_timer);
    uv_timer_stop(&s->drain_timer);
    buf_free(&s->backlog);
    log_info("ws.closed", "session=%.8s reason=%d", session_id(s), reason);
    if (s->transport.events.on_closed) s->transport.events.on_closed(s->transport.arg, reason);
}

int ws_session_take_bytes(ws_session_t *s, const char *data, size_t len) {
    int rc = ndjson_reader_append(&s->lines, data, len);
    if (rc == 0 && len && s->transport.events.on_bytes) s->transport.events.on_bytes(s->transport.arg, len);
    return rc;
}

void ws_session_drain(ws_session_t *s) {
    view_t line;
    while ((s->state == WS_SESSION_OPEN || s->state == WS_SESSION_AWAY) && !s->is_paused &&
           ndjson_reader_next(&s->lines, &line) > 0) {
        if (line.len == 0) continue; /* an empty line carries nothing; this transport never passed one on */
        if (s->transport.events.on_line) s->transport.events.on_line(s->transport.arg, line.ptr, line.len);
    }
    if (s->state == WS_SESSION_FREED) return;
    ndjson_reader_compact(&s->lines);
    if (s->conn) ws_conn_update_reading(s->conn);
}

static void session_on_drain_timer(uv_timer_t *t) { ws_session_drain(t->data); }

/* ---- transport_t operations ---- */

static int session_send_line(transport_t *t, const char *line, size_t len) {
    ws_session_t *s = (ws_session_t *)t;
    if (s->state == WS_SESSION_ENDED || s->state == WS_SESSION_FREED) return -EPIPE;
    if (s->state == WS_SESSION_OPEN) {
        if (ws_conn_queued_bytes(s->conn) + len + 1 > s->limits.max_send_queue) return -ENOBUFS;
        char *frame = malloc(len + 1);
        if (!frame) return -ENOMEM;
        memcpy(frame, line, len);
        frame[len] = '\n';
        int rc = ws_conn_send(s->conn, frame, len + 1);
        free(frame);
        return rc;
    }
    size_t n = len + 1;
    if (s->backlog.len + sizeof n + n > s->limits.max_send_queue) return -ENOBUFS;
    if (buf_reserve(&s->backlog, sizeof n + n) != 0) return -ENOMEM;
    buf_append(&s->backlog, &n, sizeof n);
    buf_append(&s->backlog, line, len);
    buf_append(&s->backlog, "\n", 1);
    return 0;
}

static void session_set_paused(transport_t *t, bool paused) {
    ws_session_t *s = (ws_session_t *)t;
    if (s->state == WS_SESSION_FREED || s->is_paused == paused) return;
    s->is_paused = paused;
    /* Resuming delivers pending lines from the loop, not from inside the caller's stack. */
    if (!paused) uv_timer_start(&s->drain_timer, session_on_drain_timer, 0, 0);
    else if (s->conn) ws_conn_update_reading(s->conn);
}

static void session_on_handle_closed(uv_handle_t *h) {
    ws_session_t *s = h->data;
    if (--s->handles_open == 0) free(s);
}

static void session_close(transport_t *t) {
    ws_session_t *s = (ws_session_t *)t;
    if (s->state == WS_SESSION_FREED) return;
    ws_conn_t *c = s->conn;
    ws_session_detach(s);
    if (c) ws_conn_close(c, s->limits.close_code);
    if (s->server) server_unlink_session(s->server, s);
    s->state = WS_SESSION_FREED;
    log_info("ws.release", "session=%.8s", session_id(s));
    ndjson_reader_free(&s->lines);
    buf_free(&s->backlog);
    uv_close((uv_handle_t *)&s->reconnect_timer, session_on_handle_closed);
    uv_close((uv_handle_t *)&s->drain_timer, session_on_handle_closed);
}

static const transport_ops_t session_ops = {
    .send_line = session_send_line,
    .set_paused = session_set_paused,
    .close = session_close,
};
