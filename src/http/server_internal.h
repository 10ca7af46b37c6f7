/*
 * What server.c, connection.c, request.c, exchange.c and response.c share. Not for other modules.
 *
 * Ownership: the server owns its connections (a list); a connection owns at most one exchange at a time
 * (requests are parsed one by one, the parser pausing while an exchange is with its handler, so answers
 * go out in order). A connection is freed once its three handles are closed AND its exchange finished,
 * which is why a handler may finish an aborted exchange later than the socket went away.
 */
#ifndef CWP_HTTP_SERVER_INTERNAL_H
#define CWP_HTTP_SERVER_INTERNAL_H
#include <llhttp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http/message.h"
#include "http/server.h"
#include "util/buf.h"

#define HTTP_READ_BUF_SIZE (64 * 1024)
#define HTTP_MAX_PIPELINED_BYTES (256 * 1024) /* unparsed input held while an exchange is open */
#define HTTP_LINGER_MS 2000                   /* after a closing response: drain what the client still sends */
#define HTTP_LISTEN_BACKLOG 511
#define HTTP_BODY_PREALLOC_MAX (1024 * 1024)   /* reserved up front from content-length */
#define HTTP_BIG_WRITE_BYTES (4 * 1024 * 1024)  /* a write this big trims the heap once it is done */

typedef struct http_conn_s http_conn_t;

typedef enum {
    CONN_HEAD,   /* waiting for or reading a request head */
    CONN_BODY,   /* reading a request body */
    CONN_BUSY,   /* the exchange is with its handler (or the error handler); parsing paused */
    CONN_LINGER, /* last response queued, write side shut down; discarding input until EOF */
    CONN_CLOSED, /* handles closing or closed */
} conn_state_t;

typedef enum {
    CONN_TIMER_NONE,
    CONN_TIMER_HEAD,   /* header_timeout_ms from the first byte of a head (or accept) */
    CONN_TIMER_IDLE,   /* idle_timeout_ms on a keep-alive connection between requests */
    CONN_TIMER_BODY,   /* body_timeout_ms from the end of the head: the whole body, however it trickles */
    CONN_TIMER_STALL,  /* queued response bytes that make no progress for idle_timeout_ms */
    CONN_TIMER_RESUME, /* next loop turn: parse the pipelined bytes that waited */
    CONN_TIMER_LINGER, /* HTTP_LINGER_MS after the write side was shut down */
} conn_timer_t;

struct http_server_s {
    uv_loop_t *loop;
    http_limits_t limits;
    http_handler_fn dispatch;
    void *dispatch_ctx;
    http_observer_fn observer;
    void *observer_ctx;
    void (*on_idle)(void *arg); /* http_server_notify_idle, until it fires */
    void *idle_arg;
    http_error_fn on_error;
    void *error_ctx;
    uv_tcp_t listener;
    bool has_listener;     /* listener handle initialised and not yet closed */
    bool is_stopping;      /* no new connections, no more keep-alive */
    bool is_closing;       /* http_server_close ran: free when the last connection is gone */
    void (*on_closed)(void *arg);
    void *closed_arg;
    http_conn_t *conns;
    size_t conn_count;     /* every connection not yet freed */
    size_t serving_count;  /* connections counted against max_connections */
    size_t active_exchanges;
    llhttp_settings_t parser_settings;
    char read_buf[HTTP_READ_BUF_SIZE]; /* one read at a time on the loop thread: shared */
};

typedef struct {
    size_t name, value; /* offsets into the exchange's head buffer */
} http_header_ref_t;

struct http_exchange_s {
    http_conn_t *conn;
    /* request */
    buf_t head;                 /* target, header names and values, each NUL-terminated */
    size_t target_off;
    size_t header_count;
    int header_stage;           /* where the parser is in the current header line (request.c) */
    size_t trailer_bytes;       /* trailer fields seen after a chunked body: counted, not kept */
    http_header_ref_t headers[HTTP_MAX_HEADERS];
    const char *path, *query;   /* into head, once the head is complete */
    char *rewritten_path;       /* owned; set by http_rewrite_path, then what path points to */
    const char *method;         /* llhttp's static name */
    int http_minor;
    buf_t body;
    char request_id[HTTP_REQUEST_ID_LEN + 1];
    /* response */
    char *response_headers[HTTP_MAX_RESPONSE_HEADERS]; /* each "name\0value" */
    size_t response_header_count;
    int status;
    http_body_framing_t framing;
    bool is_keep_alive;         /* the request allows another one after it */
    bool is_head_complete;
    bool is_head_method;        /* HEAD: framing headers but no body bytes */
    bool is_dispatched;         /* given to the handler or the error handler */
    bool is_stream_started;
    bool is_aborted;            /* the client is gone: writes are no-ops */
    bool is_abort_notified;
    uint64_t started_ns, first_byte_ns, bytes_sent;
    size_t peak_queued;         /* most response bytes waiting for the socket at once */
    uint64_t last_write_ms;     /* for heartbeats */
    http_exchange_cb on_drain, on_abort, on_heartbeat;
    void *drain_arg, *abort_arg, *heartbeat_arg;
    long heartbeat_ms;
};

struct http_conn_s {
    http_server_t *srv;
    http_conn_t *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;           /* one of conn_timer_t at a time */
    uv_timer_t heartbeat;       /* the current exchange's heartbeat */
    uv_shutdown_t shutdown_req;
    llhttp_t parser;
    conn_state_t state;
    conn_timer_t timer_kind;
    int open_handles;
    buf_t in;                   /* bytes read but not yet parsed (a pipelined request waiting its turn) */
    http_exchange_t *ex;
    size_t write_queued;        /* bytes in uv_write requests not yet completed */
    uint64_t write_progress_ms; /* last time queued bytes moved */
    bool is_counted;            /* counts against max_connections */
    bool is_reading;
    bool is_above_high_water;   /* a drain callback is owed when the queue falls back */
    bool must_close;            /* close after the current exchange */
    bool is_message_complete;   /* set by the parser, acted on once llhttp_execute returns */
    bool is_peer_done_sending;  /* FIN read while busy: half-closed, or gone (a write tells) */
    int in_callback;            /* user code on the stack: do not free */
    int pending_status;         /* an error a parser callback found (413, 431) */
    char pending_message[128];
    char client_addr[INET6_ADDRSTRLEN];
};

/* server.c */
void server_conn_gone(http_server_t *srv, http_conn_t *c);

/* connection.c */
/* After an exchange ends: fire http_server_notify_idle's callback when none is active. */
void http_server_check_idle(http_server_t *srv);
void conn_accept(http_server_t *srv);
void conn_start_timer(http_conn_t *c, conn_timer_t kind, uint64_t ms);
void conn_close(http_conn_t *c);            /* now: unfinished exchanges are aborted */
void conn_abort(http_conn_t *c, const char *why);
void conn_close_gracefully(http_conn_t *c); /* after the queued bytes: shut down, drain, close */
void conn_exchange_done(http_conn_t *c);    /* the exchange finished: next request, idle or close */
void conn_maybe_free(http_conn_t *c);
/* A plain response outside any exchange (bad head, timeouts, 503), then a graceful close. */
void conn_send_raw_error(http_conn_t *c, int status, const char *message);

/* request.c */
void request_settings_init(llhttp_settings_t *s);

/* exchange.c */
http_exchange_t *exchange_new(http_conn_t *c);
void exchange_free(http_exchange_t *ex);
void exchange_finish(http_exchange_t *ex);
void exchange_notify_abort(http_exchange_t *ex);
uint64_t exchange_now_ns(void);

/* response.c. is_bounded: fail (and drop the client) rather than queue past write_limit. Whole responses
 * are not bounded: the handler already holds them in memory, and refusing would only lose them. */
int conn_write(http_conn_t *c, const uv_buf_t *bufs, unsigned count, bool is_bounded);

#endif
