/* The server: listening, accepting, shutting down. Connections live in connection.c. */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"
#include "util/log.h"

http_limits_t http_limits_default(void) {
    return (http_limits_t){
        .max_body_bytes = 32L * 1024 * 1024,
        .max_connections = 256,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 60000,
        .max_connections_per_client = 64,
        .idle_timeout_ms = 60000,
        .write_high_water = 64 * 1024,
        .write_limit = 8 * 1024 * 1024,
    };
}

http_server_t *http_server_new(uv_loop_t *loop, const http_limits_t *limits, http_handler_fn dispatch, void *ctx) {
    http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->loop = loop;
    srv->limits = limits ? *limits : http_limits_default();
    http_limits_t d = http_limits_default();
    if (srv->limits.write_high_water == 0) srv->limits.write_high_water = d.write_high_water;
    if (srv->limits.write_limit == 0) srv->limits.write_limit = d.write_limit;
    if (srv->limits.write_limit < srv->limits.write_high_water) srv->limits.write_limit = srv->limits.write_high_water;
    srv->dispatch = dispatch;
    srv->dispatch_ctx = ctx;
    request_settings_init(&srv->parser_settings);
    return srv;
}

void http_server_set_observer(http_server_t *srv, http_observer_fn fn, void *ctx) {
    srv->observer = fn;
    srv->observer_ctx = ctx;
}

void http_server_set_error_handler(http_server_t *srv, http_error_fn fn, void *ctx) {
    srv->on_error = fn;
    srv->error_ctx = ctx;
}

static void server_maybe_closed(http_server_t *srv) {
    if (!srv->is_closing || srv->conn_count > 0 || srv->has_listener) return;
    void (*cb)(void *) = srv->on_closed;
    void *arg = srv->closed_arg;
    free(srv);
    if (cb) cb(arg);
}

static void on_listener_closed(uv_handle_t *h) {
    http_server_t *srv = h->data;
    srv->has_listener = false;
    server_maybe_closed(srv);
}

static void close_listener(http_server_t *srv) {
    if (srv->has_listener && !uv_is_closing((uv_handle_t *)&srv->listener))
        uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
    http_server_t *srv = listener->data;
    if (status < 0) {
        log_warn("http.accept_failed", "error=%s", uv_err_name(status));
        return;
    }
    if (srv->is_stopping) return;
    conn_accept(srv);
}

/* host is a literal address, or a name resolved once at start-up. */
static int resolve(uv_loop_t *loop, const char *host, int port, struct sockaddr_storage *out) {
    memset(out, 0, sizeof *out);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0) return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0) return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    uv_getaddrinfo_t req;
    int rc = uv_getaddrinfo(loop, &req, NULL, host, NULL, &hints);
    if (rc != 0) return rc;
    struct addrinfo *ai = req.addrinfo;
    while (ai && ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ai = ai->ai_next;
    if (!ai) {
        uv_freeaddrinfo(req.addrinfo);
        return UV_EADDRNOTAVAIL;
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
    if (out->ss_family == AF_INET) ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    else ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    return 0;
}

int http_server_listen(http_server_t *srv, const char *host, int port) {
    if (srv->has_listener || srv->is_stopping) return UV_EALREADY;
    struct sockaddr_storage addr;
    int rc = resolve(srv->loop, host, port, &addr);
    if (rc != 0) return rc;
    rc = uv_tcp_init(srv->loop, &srv->listener);
    if (rc != 0) return rc;
    srv->listener.data = srv;
    srv->has_listener = true;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, HTTP_LISTEN_BACKLOG, on_connection);
    if (rc != 0) close_listener(srv);
    return rc;
}

void http_server_stop_accepting(http_server_t *srv) {
    if (srv->is_stopping) return;
    srv->is_stopping = true;
    close_listener(srv);
    /* Connections waiting for a next request will not get one; the others close after their answer. */
    for (http_conn_t *c = srv->conns; c; c = c->next)
        if (c->state == CONN_HEAD && !c->ex) conn_close(c);
}

size_t http_server_active_exchanges(const http_server_t *srv) { return srv->active_exchanges; }

void http_server_notify_idle(http_server_t *srv, void (*on_idle)(void *arg), void *arg) {
    srv->on_idle = on_idle;
    srv->idle_arg = arg;
    http_server_check_idle(srv);
}

void http_server_check_idle(http_server_t *srv) {
    if (srv->active_exchanges || !srv->on_idle) return;
    void (*cb)(void *) = srv->on_idle;
    srv->on_idle = NULL;
    cb(srv->idle_arg);
}

void http_server_close(http_server_t *srv, void (*on_closed)(void *arg), void *arg) {
    srv->is_stopping = true;
    srv->is_closing = true;
    srv->on_closed = on_closed;
    srv->closed_arg = arg;
    close_listener(srv);
    /* conn_abort only starts closing: the list stays intact while we walk it. */
    for (http_conn_t *c = srv->conns; c; c = c->next) conn_abort(c, "server closing");
    server_maybe_closed(srv);
}

void server_conn_gone(http_server_t *srv, http_conn_t *c) {
    if (c->prev) c->prev->next = c->next;
    else srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    srv->conn_count--;
    server_maybe_closed(srv);
}

int http_server_port(const http_server_t *srv) {
    if (!srv->has_listener) return UV_EINVAL;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
    if (rc) return rc;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return UV_EINVAL;
}
