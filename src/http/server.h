/*
 * HTTP/1.1 server on libuv + llhttp.
 *
 * One http_exchange_t per request. The handler owns it from dispatch until it finishes it exactly once
 * (http_respond*, or http_stream_begin ... http_stream_end). That stays true when the client goes
 * away: on_abort tells the handler, writes become no-ops, and the handler still finishes. After
 * finishing, the pointer is gone. Requests on one connection are answered in order.
 */
#ifndef CWP_HTTP_SERVER_H
#define CWP_HTTP_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <yyjson.h>

#include "util/buf.h"

typedef struct http_server_s http_server_t;
typedef struct http_exchange_s http_exchange_t;

typedef void (*http_handler_fn)(http_exchange_t *ex, void *ctx);
typedef void (*http_exchange_cb)(http_exchange_t *ex, void *arg);

typedef struct {
    long max_body_bytes;    /* larger bodies get 413 before the handler runs */
    int max_connections;    /* beyond it new connections are closed at once */
    long header_timeout_ms; /* a request's head must arrive within this */
    long body_timeout_ms;   /* ... and its whole body within this, counted from the end of the head (408) */
    int max_connections_per_client; /* one peer address may hold this many of max_connections (0: no cap) */
    long idle_timeout_ms;   /* a keep-alive connection with nothing to do is closed after this */
    size_t write_high_water;/* buffered response bytes above which the exchange is congested */
    size_t write_limit;     /* buffered bytes above which a (stuck) client is disconnected */
} http_limits_t;

/* What the access log and metrics see when an exchange finishes. */
typedef struct {
    const char *method;
    const char *path;
    const char *request_id;
    int status;
    uint64_t bytes_sent;
    double ttfb_ms;     /* until the first body byte was handed to the socket */
    double duration_ms;
    bool aborted;
} http_exchange_summary_t;

typedef void (*http_observer_fn)(const http_exchange_summary_t *summary, void *ctx);
/* Answers errors the server detects after a request head was parsed (413 body too large, 400 bad body
 * encoding), so they come in the route's shape. Must finish ex. */
typedef void (*http_error_fn)(http_exchange_t *ex, int status, const char *message, void *ctx);

http_limits_t http_limits_default(void);
http_server_t *http_server_new(uv_loop_t *loop, const http_limits_t *limits, http_handler_fn dispatch, void *ctx);
void http_server_set_observer(http_server_t *srv, http_observer_fn fn, void *ctx);
void http_server_set_error_handler(http_server_t *srv, http_error_fn fn, void *ctx);
/* Bind and listen; returns 0 or a negative libuv error (e.g. UV_EADDRINUSE). */
int http_server_listen(http_server_t *srv, const char *host, int port);
/* The port it listens on (the kernel's pick after port 0), or a negative libuv error. */
int http_server_port(const http_server_t *srv);
/* Shutdown, step one: stop accepting; idle keep-alive connections are closed. */
void http_server_stop_accepting(http_server_t *srv);
/* Exchanges not yet finished. */
size_t http_server_active_exchanges(const http_server_t *srv);
/* Shutdown: on_idle(arg) runs once, when no exchange is active any more (at once if none is). It runs
 * inside the server's bookkeeping: defer real work (e.g. start a timer). */
void http_server_notify_idle(http_server_t *srv, void (*on_idle)(void *arg), void *arg);
/* Close everything (in-flight exchanges are aborted) and free the server; on_closed runs when done. */
void http_server_close(http_server_t *srv, void (*on_closed)(void *arg), void *arg);

/* Request, valid until the exchange finishes. Header lookup is case-insensitive; NULL if absent. */
const char *http_method(const http_exchange_t *ex);
const char *http_path(const http_exchange_t *ex);  /* without the query string */
const char *http_query(const http_exchange_t *ex); /* after '?', "" if none */
/* Before routing: the path the rest of the exchange sees (copied; the log line shows it too). 0 or -1. */
int http_rewrite_path(http_exchange_t *ex, const char *path);
const char *http_header(const http_exchange_t *ex, const char *name);
view_t http_body(const http_exchange_t *ex);
const char *http_request_id(const http_exchange_t *ex);
const char *http_client_addr(const http_exchange_t *ex);
uv_loop_t *http_exchange_loop(const http_exchange_t *ex);

/* Response headers, before the response starts; the value is copied. */
void http_set_header(http_exchange_t *ex, const char *name, const char *value);

/* Whole responses; each finishes the exchange. http_respond_json does not take the doc. */
void http_respond(http_exchange_t *ex, int status, const char *content_type, const void *body, size_t len);
void http_respond_json(http_exchange_t *ex, int status, yyjson_mut_doc *doc);

/* Streamed responses (chunked). write returns 0, or a negative value once the client is gone. */
int http_stream_begin(http_exchange_t *ex, int status, const char *content_type);
int http_stream_write(http_exchange_t *ex, const void *data, size_t len);
/* The same for bytes the caller already holds whole (an event that must repeat a long answer in one piece):
 * queued past write_limit instead of dropping the client, as a whole response is; a client that stops
 * reading is still dropped by the idle timeout. */
int http_stream_write_whole(http_exchange_t *ex, const void *data, size_t len);
void http_stream_end(http_exchange_t *ex);
bool http_stream_started(const http_exchange_t *ex);

/* Back-pressure: congested while more than write_high_water bytes wait for the socket. */
bool http_exchange_is_congested(const http_exchange_t *ex);
void http_exchange_on_drain(http_exchange_t *ex, http_exchange_cb cb, void *arg);
/* The client closed the connection before the exchange finished. */
void http_exchange_on_abort(http_exchange_t *ex, http_exchange_cb cb, void *arg);
bool http_exchange_is_aborted(const http_exchange_t *ex);
/* Called when nothing was written for interval_ms while streaming (SSE keep-alives); 0 turns it off. */
void http_exchange_set_heartbeat(http_exchange_t *ex, long interval_ms, http_exchange_cb cb, void *arg);

#endif
