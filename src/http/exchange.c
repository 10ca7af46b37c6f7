/* One request/response exchange: its request as parsed, its callbacks, and its single finish. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/server_internal.h"
#include "util/log.h"

uint64_t exchange_now_ns(void) { return uv_hrtime(); }

http_exchange_t *exchange_new(http_conn_t *c) {
    http_exchange_t *ex = calloc(1, sizeof *ex);
    if (!ex) return NULL;
    ex->conn = c;
    buf_init(&ex->head, HTTP_MAX_HEAD_BYTES);
    buf_init(&ex->body, 0);
    ex->target_off = 0;
    ex->started_ns = exchange_now_ns();
    unsigned char rnd[12] = {0};
    uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL);
    http_request_id_format(ex->request_id, rnd);
    return ex;
}

void exchange_free(http_exchange_t *ex) {
    buf_free(&ex->head);
    buf_free(&ex->body);
    free(ex->rewritten_path);
    for (size_t i = 0; i < ex->response_header_count; i++) free(ex->response_headers[i]);
    free(ex);
}

static double ms_between(uint64_t from_ns, uint64_t to_ns) {
    return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

void exchange_finish(http_exchange_t *ex) {
    http_conn_t *c = ex->conn;
    http_server_t *srv = c->srv;
    if (!ex->status) ex->status = ex->is_aborted ? 499 : 500;
    uint64_t now = exchange_now_ns();
    http_exchange_summary_t s = {
        .method = http_method(ex),
        .path = http_path(ex),
        .request_id = ex->request_id,
        .status = ex->status,
        .bytes_sent = ex->bytes_sent,
        .ttfb_ms = ms_between(ex->started_ns, ex->first_byte_ns ? ex->first_byte_ns : now),
        .duration_ms = ms_between(ex->started_ns, now),
        .aborted = ex->is_aborted,
    };
    log_info("http.request", "request_id=%s method=%s path=%.200s status=%d bytes=%llu ms=%.1f ttfb_ms=%.1f aborted=%d "
             "peak_queued=%zu client=%s",
             s.request_id, s.method, s.path, s.status, (unsigned long long)s.bytes_sent, s.duration_ms, s.ttfb_ms,
             s.aborted, ex->peak_queued, c->client_addr);
    if (srv->observer) {
        c->in_callback++;
        srv->observer(&s, srv->observer_ctx);
        c->in_callback--;
    }
    if (ex->is_dispatched) srv->active_exchanges--;
    c->ex = NULL;
    exchange_free(ex);
    conn_exchange_done(c);
    http_server_check_idle(srv);
}

void exchange_notify_abort(http_exchange_t *ex) {
    ex->is_aborted = true;
    if (ex->is_abort_notified) return;
    ex->is_abort_notified = true;
    if (ex->on_abort) ex->on_abort(ex, ex->abort_arg);
}

/* ---- request ---- */

const char *http_method(const http_exchange_t *ex) { return ex->method ? ex->method : "GET"; }
const char *http_path(const http_exchange_t *ex) { return ex->path ? ex->path : "/"; }

int http_rewrite_path(http_exchange_t *ex, const char *path) {
    char *copy = strdup(path);
    if (!copy) return -1;
    free(ex->rewritten_path);
    ex->rewritten_path = copy;
    ex->path = copy;
    return 0;
}
const char *http_query(const http_exchange_t *ex) { return ex->query ? ex->query : ""; }
const char *http_request_id(const http_exchange_t *ex) { return ex->request_id; }
const char *http_client_addr(const http_exchange_t *ex) { return ex->conn->client_addr; }
uv_loop_t *http_exchange_loop(const http_exchange_t *ex) { return ex->conn->srv->loop; }

const char *http_header(const http_exchange_t *ex, const char *name) {
    for (size_t i = 0; i < ex->header_count; i++)
        if (!strcasecmp(ex->head.data + ex->headers[i].name, name)) return ex->head.data + ex->headers[i].value;
    return NULL;
}

view_t http_body(const http_exchange_t *ex) {
    return (view_t){ex->body.data ? ex->body.data : "", ex->body.len};
}

/* ---- callbacks ---- */

void http_exchange_on_abort(http_exchange_t *ex, http_exchange_cb cb, void *arg) {
    ex->on_abort = cb;
    ex->abort_arg = arg;
}

bool http_exchange_is_aborted(const http_exchange_t *ex) { return ex->is_aborted; }

void http_exchange_on_drain(http_exchange_t *ex, http_exchange_cb cb, void *arg) {
    ex->on_drain = cb;
    ex->drain_arg = arg;
}

bool http_exchange_is_congested(const http_exchange_t *ex) {
    return !ex->is_aborted && ex->conn->write_queued > ex->conn->srv->limits.write_high_water;
}

static void on_heartbeat_timer(uv_timer_t *t) {
    http_conn_t *c = t->data;
    http_exchange_t *ex = c->ex;
    if (!ex || ex->is_aborted || !ex->on_heartbeat || ex->heartbeat_ms <= 0) return;
    uint64_t interval = (uint64_t)ex->heartbeat_ms;
    uint64_t quiet = uv_now(c->srv->loop) - ex->last_write_ms;
    if (!ex->is_stream_started || quiet < interval) {
        uv_timer_start(&c->heartbeat, on_heartbeat_timer, ex->is_stream_started ? interval - quiet : interval, 0);
        return;
    }
    /* Re-armed first: the callback may turn it off or finish the exchange, which stops it. */
    uv_timer_start(&c->heartbeat, on_heartbeat_timer, interval, 0);
    ex->last_write_ms = uv_now(c->srv->loop);
    ex->on_heartbeat(ex, ex->heartbeat_arg);
}

void http_exchange_set_heartbeat(http_exchange_t *ex, long interval_ms, http_exchange_cb cb, void *arg) {
    http_conn_t *c = ex->conn;
    ex->on_heartbeat = cb;
    ex->heartbeat_arg = arg;
    ex->heartbeat_ms = cb ? interval_ms : 0;
    if (c->state == CONN_CLOSED) return;
    if (ex->heartbeat_ms <= 0) {
        uv_timer_stop(&c->heartbeat);
        return;
    }
    if (!ex->last_write_ms) ex->last_write_ms = uv_now(c->srv->loop);
    uv_timer_start(&c->heartbeat, on_heartbeat_timer, (uint64_t)interval_ms, 0);
}
