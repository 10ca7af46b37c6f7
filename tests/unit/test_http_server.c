/*
 * The server on a real loop with real sockets (the client lives in the same loop): answer order when the
 * first answer is late, client aborts, back-pressure and its drain, the write limit, heartbeats, shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/server_internal.h" /* the listener, for the port the kernel picked */
#include "http/sse.h"

typedef struct fixture_s fixture_t;
typedef void (*on_request_fn)(fixture_t *f, http_exchange_t *ex);

struct fixture_s {
    uv_loop_t loop;
    uv_timer_t timer;    /* for handlers that answer later */
    uv_timer_t deadline; /* bounds every wait */
    bool is_expired;
    http_server_t *srv;
    int port;
    on_request_fn on_request;
    http_exchange_t *held;
    int dispatched, aborts, drains, summaries, errors;
    char order[32];
    http_exchange_summary_t last;
    bool is_server_closed, was_congested;
    size_t written;
};

typedef struct {
    fixture_t *f;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    buf_t in;
    bool is_connected, is_eof, is_closed;
} client_t;

static void on_deadline(uv_timer_t *t) { ((fixture_t *)t->data)->is_expired = true; }

/* Turn the loop until cond holds (or ten seconds pass, which fails the test). */
#define RUN_UNTIL(f, cond)                                                                                   \
    do {                                                                                                     \
        (f)->is_expired = false;                                                                             \
        uv_timer_start(&(f)->deadline, on_deadline, 10000, 0);                                               \
        while (!(cond) && !(f)->is_expired) uv_run(&(f)->loop, UV_RUN_ONCE);                                 \
        uv_timer_stop(&(f)->deadline);                                                                       \
        assert_true(cond);                                                                                   \
    } while (0)

static void dispatch(http_exchange_t *ex, void *ctx) {
    fixture_t *f = ctx;
    f->dispatched++;
    f->on_request(f, ex);
}

static void observe(const http_exchange_summary_t *s, void *ctx) {
    fixture_t *f = ctx;
    f->summaries++;
    f->last = *s;
    f->last.method = f->last.path = f->last.request_id = NULL; /* they die with the exchange */
}

static void fixture_start(fixture_t *f, const http_limits_t *limits, on_request_fn fn) {
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->timer);
    uv_timer_init(&f->loop, &f->deadline);
    f->timer.data = f->deadline.data = f;
    http_limits_t l = limits ? *limits : http_limits_default();
    f->srv = http_server_new(&f->loop, &l, dispatch, f);
    assert_non_null(f->srv);
    http_server_set_observer(f->srv, observe, f);
    f->on_request = fn;
    assert_int_equal(http_server_listen(f->srv, "127.0.0.1", 0), 0);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    assert_int_equal(uv_tcp_getsockname(&f->srv->listener, (struct sockaddr *)&ss, &len), 0);
    f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void on_server_closed(void *arg) { ((fixture_t *)arg)->is_server_closed = true; }

static void fixture_stop(fixture_t *f) {
    if (!f->is_server_closed) {
        http_server_close(f->srv, on_server_closed, f);
        RUN_UNTIL(f, f->is_server_closed);
    }
    uv_close((uv_handle_t *)&f->timer, NULL);
    uv_close((uv_handle_t *)&f->deadline, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* every handle was closed */
}

/* ---- client ---- */

static void client_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
    static char mem[65536];
    *b = uv_buf_init(mem, sizeof mem);
}

static void client_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    client_t *c = s->data;
    if (n > 0) {
        assert_int_equal(buf_append(&c->in, b->base, (size_t)n), 0);
    } else if (n < 0) {
        c->is_eof = true;
        uv_read_stop(s);
    }
}

static void client_on_connect(uv_connect_t *req, int status) {
    client_t *c = req->data;
    assert_int_equal(status, 0);
    c->is_connected = true;
}

/* rcvbuf > 0 shrinks the client's receive buffer so that a client that does not read stalls the server soon. */
static void client_open(fixture_t *f, client_t *c, int rcvbuf) {
    memset(c, 0, sizeof *c);
    c->f = f;
    buf_init(&c->in, 0);
    assert_int_equal(uv_tcp_init_ex(&f->loop, &c->tcp, AF_INET), 0);
    c->tcp.data = c;
    if (rcvbuf > 0) assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&c->tcp, &rcvbuf), 0);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", f->port, &a);
    c->connect_req.data = c;
    assert_int_equal(uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&a, client_on_connect), 0);
    RUN_UNTIL(f, c->is_connected);
}

static void client_read(client_t *c) { uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_on_read); }

typedef struct {
    uv_write_t req;
    char data[];
} client_write_t;

static void client_on_write(uv_write_t *req, int status) { free(req); }

static void client_send(client_t *c, const char *s) {
    size_t n = strlen(s);
    client_write_t *w = malloc(sizeof *w + n);
    memcpy(w->data, s, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    assert_int_equal(uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, client_on_write), 0);
}

static void client_on_close(uv_handle_t *h) { ((client_t *)h->data)->is_closed = true; }

static void client_close(client_t *c) {
    uv_close((uv_handle_t *)&c->tcp, client_on_close);
    RUN_UNTIL(c->f, c->is_closed);
    buf_free(&c->in);
}

static bool has(client_t *c, const char *s) { return strstr(buf_cstr(&c->in), s) != NULL; }

static int count_of(client_t *c, const char *s) {
    int n = 0;
    for (const char *p = buf_cstr(&c->in); (p = strstr(p, s)); p += strlen(s)) n++;
    return n;
}

/* The body of the one chunked response in c->in, or -1 if it is not complete and well framed. */
static long chunked_body(client_t *c, buf_t *out) {
    const char *in = buf_cstr(&c->in);
    const char *p = strstr(in, "\r\n\r\n");
    if (!p) return -1;
    p += 4;
    for (;;) {
        char *end;
        unsigned long size = strtoul(p, &end, 16);
        if (end == p || strncmp(end, "\r\n", 2) != 0) return -1;
        p = end + 2;
        if (size == 0) return strcmp(p, "\r\n") == 0 ? (long)out->len : -1;
        if ((size_t)(in + c->in.len - p) < size + 2) return -1;
        buf_append(out, p, size);
        p += size;
        if (strncmp(p, "\r\n", 2) != 0) return -1;
        p += 2;
    }
}

static bool decode_chunked(client_t *c, buf_t *out) {
    buf_reset(out);
    return chunked_body(c, out) >= 0;
}

/* ---- pipelining: the second request waits for the first answer, however late ---- */

static void on_late(uv_timer_t *t) {
    fixture_t *f = t->data;
    strcat(f->order, "S");
    http_respond(f->held, 200, "text/plain", "slow", 4);
    f->held = NULL;
}

static void answer_slow_then_fast(fixture_t *f, http_exchange_t *ex) {
    if (!strcmp(http_path(ex), "/slow")) {
        strcat(f->order, "s");
        f->held = ex;
        uv_timer_start(&f->timer, on_late, 30, 0);
    } else {
        strcat(f->order, "f");
        http_respond(ex, 200, "text/plain", "fast", 4);
    }
}

static void pipelined_request_waits_for_a_late_first_answer(void **state) {
    fixture_t f;
    client_t c;
    fixture_start(&f, NULL, answer_slow_then_fast);
    client_open(&f, &c, 0);
    client_read(&c);
    client_send(&c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, f.summaries == 2 && has(&c, "fast"));
    assert_string_equal(f.order, "sSf"); /* /fast was dispatched only after /slow finished */
    assert_true(strstr(buf_cstr(&c.in), "slow") < strstr(buf_cstr(&c.in), "fast"));
    assert_false(c.is_eof);
    client_close(&c);
    fixture_stop(&f);
}

/* ---- the client leaves mid-stream ---- */

static void end_held(uv_timer_t *t) {
    fixture_t *f = t->data;
    http_stream_end(f->held);
    f->held = NULL;
}

static void on_abort_later(http_exchange_t *ex, void *arg) {
    fixture_t *f = arg;
    f->aborts++;
    assert_true(http_exchange_is_aborted(ex));
    assert_true(http_stream_write(ex, "x", 1) < 0);
    assert_false(http_exchange_is_congested(ex));
    uv_timer_start(&f->timer, end_held, 10, 0); /* the handler finishes in its own time */
}

static void stream_and_hold(fixture_t *f, http_exchange_t *ex) {
    assert_int_equal(http_stream_begin(ex, 200, "text/plain"), 0);
    assert_int_equal(http_stream_write(ex, "hello", 5), 0);
    http_exchange_on_abort(ex, on_abort_later, f);
    f->held = ex;
}

static void client_abort_is_told_once_and_the_handler_still_finishes(void **state) {
    fixture_t f;
    client_t c;
    fixture_start(&f, NULL, stream_and_hold);
    client_open(&f, &c, 0);
    client_read(&c);
    client_send(&c, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, has(&c, "hello"));
    client_close(&c);
    RUN_UNTIL(&f, f.aborts == 1);
    assert_int_equal(f.summaries, 0);
    assert_int_equal(http_server_active_exchanges(f.srv), 1);
    RUN_UNTIL(&f, f.summaries == 1);
    assert_int_equal(f.aborts, 1);
    assert_true(f.last.aborted);
    assert_int_equal(f.last.status, 200);
    assert_int_equal(f.last.bytes_sent, 5);
    assert_int_equal(http_server_active_exchanges(f.srv), 0);
    fixture_stop(&f);
}

/* ---- back-pressure ---- */

static char chunk[16384];

static void on_drained(http_exchange_t *ex, void *arg) {
    fixture_t *f = arg;
    f->drains++;
    assert_false(http_exchange_is_congested(ex));
    assert_int_equal(http_stream_write(ex, "END", 3), 0);
    f->written += 3;
    http_stream_end(ex);
    f->held = NULL;
}

static void fill_until_congested(fixture_t *f, http_exchange_t *ex) {
    memset(chunk, 'a', sizeof chunk);
    assert_int_equal(http_stream_begin(ex, 200, "application/octet-stream"), 0);
    while (!http_exchange_is_congested(ex)) {
        assert_int_equal(http_stream_write(ex, chunk, sizeof chunk), 0);
        f->written += sizeof chunk;
        assert_true(f->written < (size_t)256 << 20);
    }
    f->was_congested = true;
    f->held = ex;
    http_exchange_on_drain(ex, on_drained, f);
}

static void congested_stream_drains_when_the_client_reads_and_loses_nothing(void **state) {
    fixture_t f;
    client_t c;
    fixture_start(&f, NULL, fill_until_congested);
    client_open(&f, &c, 4096);
    client_send(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, f.was_congested);
    /* nothing moves while the client does not read */
    for (int i = 0; i < 5; i++) uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.drains, 0);
    assert_true(f.srv->conns->write_queued <= http_limits_default().write_high_water + sizeof chunk + 32);
    client_read(&c);
    RUN_UNTIL(&f, f.drains == 1 && f.summaries == 1);
    buf_t body;
    buf_init(&body, 0);
    RUN_UNTIL(&f, decode_chunked(&c, &body));
    assert_int_equal(body.len, f.written);
    assert_memory_equal(body.data + body.len - 3, "END", 3);
    assert_false(f.last.aborted);
    buf_free(&body);
    client_close(&c);
    fixture_stop(&f);
}

static void on_abort_count(http_exchange_t *ex, void *arg) { ((fixture_t *)arg)->aborts++; }

static void write_past_the_limit(fixture_t *f, http_exchange_t *ex) {
    memset(chunk, 'b', sizeof chunk);
    assert_int_equal(http_stream_begin(ex, 200, "application/octet-stream"), 0);
    http_exchange_on_abort(ex, on_abort_count, f);
    int rc = 0;
    while (rc == 0 && f->written < (size_t)256 << 20) {
        rc = http_stream_write(ex, chunk, sizeof chunk);
        if (rc == 0) f->written += sizeof chunk;
    }
    assert_true(rc < 0);
    assert_true(http_exchange_is_aborted(ex));
    assert_true(http_stream_write(ex, chunk, 1) < 0);
    http_stream_end(ex);
}

static void stuck_client_is_dropped_at_the_write_limit(void **state) {
    fixture_t f;
    client_t c;
    http_limits_t limits = http_limits_default();
    limits.write_limit = 256 * 1024;
    fixture_start(&f, &limits, write_past_the_limit);
    client_open(&f, &c, 4096);
    client_send(&c, "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, f.summaries == 1);
    assert_true(f.last.aborted);
    client_read(&c);
    RUN_UNTIL(&f, c.is_eof);
    assert_int_equal(f.aborts, 0); /* it finished before it could be told: no late callback */
    client_close(&c);
    fixture_stop(&f);
}

static char whole[16 << 20];

static void write_one_whole_block(fixture_t *f, http_exchange_t *ex) {
    memset(whole, 'w', sizeof whole);
    assert_int_equal(http_stream_begin(ex, 200, "application/octet-stream"), 0);
    assert_int_equal(http_stream_write_whole(ex, whole, sizeof whole), 0); /* 64x the limit: most of it queued anyway */
    assert_false(http_exchange_is_aborted(ex));
    f->was_congested = f->srv->conns->write_queued > 256 * 1024;
    f->written = sizeof whole;
    http_stream_end(ex);
}

/* What the caller already holds whole (Responses' *.done events) goes past the write limit, and arrives. */
static void a_whole_block_passes_the_write_limit(void **state) {
    fixture_t f;
    client_t c;
    http_limits_t limits = http_limits_default();
    limits.write_limit = 256 * 1024;
    fixture_start(&f, &limits, write_one_whole_block);
    client_open(&f, &c, 4096);
    client_send(&c, "GET /whole HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    client_read(&c);
    RUN_UNTIL(&f, c.is_eof); /* decoding once at the end: 16 MiB arrive in small reads */
    buf_t body;
    buf_init(&body, 0);
    assert_true(decode_chunked(&c, &body));
    assert_int_equal(body.len, sizeof whole);
    assert_int_equal(body.data[body.len - 1], 'w');
    RUN_UNTIL(&f, f.summaries == 1);
    assert_false(f.last.aborted);
    assert_true(f.was_congested); /* it did queue past the limit */
    buf_free(&body);
    client_close(&c);
    fixture_stop(&f);
}

/* ---- heartbeats ---- */

static void quiet_stream(fixture_t *f, http_exchange_t *ex) {
    assert_int_equal(sse_begin(ex), 0);
    sse_keepalive(ex, 20);
    f->held = ex;
}

static void quiet_stream_gets_comment_pings(void **state) {
    fixture_t f;
    client_t c;
    fixture_start(&f, NULL, quiet_stream);
    client_open(&f, &c, 0);
    client_read(&c);
    client_send(&c, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, count_of(&c, ": ping\n\n") >= 2);
    assert_int_equal(sse_send(f.held, "done", "{}", 2), 0);
    http_stream_end(f.held);
    f.held = NULL;
    RUN_UNTIL(&f, f.summaries == 1 && has(&c, "\r\n0\r\n\r\n"));
    assert_true(has(&c, "content-type: text/event-stream\r\n"));
    assert_true(has(&c, "cache-control: no-cache\r\n"));
    assert_true(has(&c, "x-accel-buffering: no\r\n"));
    assert_true(has(&c, "transfer-encoding: chunked\r\n"));
    assert_true(has(&c, "event: done\ndata: {}\n\n"));
    client_close(&c);
    fixture_stop(&f);
}

/* ---- shutdown ---- */

static void on_abort_end(http_exchange_t *ex, void *arg) {
    fixture_t *f = arg;
    f->aborts++;
    http_stream_end(ex); /* like the turn bridge: finish from inside the abort */
    f->held = NULL;
}

static void stream_until_abort(fixture_t *f, http_exchange_t *ex) {
    assert_int_equal(http_stream_begin(ex, 200, "text/plain"), 0);
    assert_int_equal(http_stream_write(ex, "hello", 5), 0);
    http_exchange_on_abort(ex, on_abort_end, f);
    f->held = ex;
}

static void close_aborts_what_is_in_flight_then_reports_closed(void **state) {
    fixture_t f;
    client_t c;
    fixture_start(&f, NULL, stream_until_abort);
    client_open(&f, &c, 0);
    client_read(&c);
    client_send(&c, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, has(&c, "hello"));
    assert_int_equal(http_server_active_exchanges(f.srv), 1);
    http_server_close(f.srv, on_server_closed, &f);
    RUN_UNTIL(&f, f.is_server_closed);
    assert_int_equal(f.aborts, 1);
    assert_int_equal(f.summaries, 1);
    assert_true(f.last.aborted);
    RUN_UNTIL(&f, c.is_eof);
    client_close(&c);
    fixture_stop(&f);
}

static void answer_ok(fixture_t *f, http_exchange_t *ex) {
    http_set_header(ex, "x-a", "1");
    http_set_header(ex, "X-A", "2");             /* replaces */
    http_set_header(ex, "x-b", "v\r\nx-evil: 1"); /* refused: would inject a header */
    http_set_header(ex, "content-length", "99"); /* refused: framing is the server's */
    http_respond(ex, 200, "text/plain", "ok", 2);
}

static void stop_accepting_closes_idle_keep_alive_connections(void **state) {
    fixture_t f;
    client_t c;
    fixture_start(&f, NULL, answer_ok);
    client_open(&f, &c, 0);
    client_read(&c);
    client_send(&c, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    RUN_UNTIL(&f, f.summaries == 1 && has(&c, "\r\n\r\nok"));
    assert_true(has(&c, "\r\nX-A: 2\r\n"));
    assert_int_equal(count_of(&c, "x-a:") + count_of(&c, "X-A:"), 1);
    assert_false(has(&c, "x-evil"));
    assert_true(has(&c, "content-length: 2\r\n"));
    assert_false(has(&c, "content-length: 99"));
    assert_false(c.is_eof);
    http_server_stop_accepting(f.srv);
    RUN_UNTIL(&f, c.is_eof);
    assert_int_equal(http_server_active_exchanges(f.srv), 0);
    client_close(&c);
    fixture_stop(&f);
}

/* ---- limits ---- */

static void refuse_in_plain_text(http_exchange_t *ex, int status, const char *message, void *ctx) {
    fixture_t *f = ctx;
    f->errors++;
    char body[160];
    snprintf(body, sizeof body, "refused %d %s %s", status, http_method(ex), http_path(ex));
    http_respond(ex, status, "text/plain", body, strlen(body));
}

static void oversized_body_goes_to_the_error_handler_not_the_route(void **state) {
    fixture_t f;
    client_t c;
    http_limits_t limits = http_limits_default();
    limits.max_body_bytes = 10;
    fixture_start(&f, &limits, answer_ok);
    http_server_set_error_handler(f.srv, refuse_in_plain_text, &f);
    client_open(&f, &c, 0);
    client_read(&c);
    client_send(&c, "POST /v1/messages HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n");
    RUN_UNTIL(&f, c.is_eof);
    assert_int_equal(f.dispatched, 0);
    assert_int_equal(f.errors, 1);
    assert_true(has(&c, "HTTP/1.1 413 "));
    assert_true(has(&c, "connection: close\r\n"));
    assert_true(has(&c, "request-id: req_"));
    assert_true(has(&c, "refused 413 POST /v1/messages"));
    assert_int_equal(f.last.status, 413);
    client_close(&c);
    fixture_stop(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipelined_request_waits_for_a_late_first_answer),
        cmocka_unit_test(client_abort_is_told_once_and_the_handler_still_finishes),
        cmocka_unit_test(congested_stream_drains_when_the_client_reads_and_loses_nothing),
        cmocka_unit_test(stuck_client_is_dropped_at_the_write_limit),
        cmocka_unit_test(a_whole_block_passes_the_write_limit),
        cmocka_unit_test(quiet_stream_gets_comment_pings),
        cmocka_unit_test(close_aborts_what_is_in_flight_then_reports_closed),
        cmocka_unit_test(stop_accepting_closes_idle_keep_alive_connections),
        cmocka_unit_test(oversized_body_goes_to_the_error_handler_not_the_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
