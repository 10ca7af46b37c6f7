/*
 * What websocket.c (server, registrations) and websocket_conn.c (sockets) share.
 * A session is one registration: it lives from ws_server_expect to transport_close and is served by
 * at most one connection at a time; a connection lives from accept to its handles' close.
 */
#ifndef CWP_TRANSPORT_WEBSOCKET_CONN_H
#define CWP_TRANSPORT_WEBSOCKET_CONN_H
#include <stdbool.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "transport/ndjson.h"
#include "transport/websocket.h"
#include "transport/websocket_internal.h"

#define WS_READ_CHUNK (64u << 10)
#define WS_WRITE_AHEAD (256u << 10) /* bytes wslay may serialize ahead of the socket */
#define WS_LINGER_MS 2000           /* how long a closing socket waits for the peer's FIN */
#define WS_SESSION_PATH_MAX 48      /* "/session/" + 32 hex */
/* A paused session keeps reading until this much input waits undelivered, so the CLI's pings (every
 * 10 s; no pong by the next one and it drops the socket) are answered through short pauses. */
#define WS_PAUSED_READ_AHEAD (1u << 20)

typedef struct ws_conn_s ws_conn_t;
typedef struct ws_session_s ws_session_t;

typedef enum { SERVER_IDLE, SERVER_LISTENING, SERVER_CLOSING } ws_server_state_t;

struct ws_server_s {
    ws_server_state_t state;
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool is_listener_closed;
    ws_limits_t limits;
    char url_host[48]; /* as it goes into URLs ("127.0.0.1", "[::1]") */
    int port;
    ws_session_t *sessions;
    ws_conn_t *conns;
    unsigned conn_count;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
};

typedef enum {
    WS_SESSION_WAITING, /* registered; the CLI has not connected yet */
    WS_SESSION_OPEN,    /* a connection carries its lines */
    WS_SESSION_AWAY,    /* the connection dropped; waiting for the CLI to reconnect */
    WS_SESSION_ENDED,   /* on_closed fired; waiting for transport_close */
    WS_SESSION_FREED,   /* transport_close ran; the memory goes once its timers are closed */
} ws_session_state_t;

struct ws_session_s {
    transport_t transport; /* first: the transport_t * handed out is the session */
    ws_session_state_t state;
    ws_server_t *server;   /* NULL once the server closed */
    ws_session_t *prev, *next;
    ws_conn_t *conn;
    ws_limits_t limits;
    char path[WS_SESSION_PATH_MAX];
    unsigned char token_digest[WS_DIGEST_LEN];
    ndjson_reader_t lines; /* what the CLI wrote, lines cut anywhere by frames */
    buf_t backlog;         /* lines waiting for a connection: records of [size_t len][bytes] */
    bool is_paused;
    bool was_goodbye;      /* the last connection ended with the CLI's close frame */
    uv_timer_t reconnect_timer;
    uv_timer_t drain_timer;
    int handles_open;
};

typedef enum { CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSING, CONN_DEAD } ws_conn_state_t;

struct ws_conn_s {
    ws_conn_state_t state;
    ws_server_t *server;
    ws_conn_t *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;      /* handshake timeout, then the lingering close */
    int handles_open;
    ws_handshake_t *hs;    /* during the handshake only */
    wslay_event_context_ptr ws;
    ws_session_t *session;
    const char *rd;        /* received bytes wslay has still to read */
    size_t rd_len;
    uint64_t msg_len;      /* payload bytes of the message being received */
    bool is_data_frame;    /* the frame being received belongs to a message (not a control frame) */
    int error;             /* why we close: -EMSGSIZE, -EPROTO */
    buf_t out;             /* bytes for the next write */
    buf_t writing;         /* bytes of the write in flight */
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    bool is_writing;
    bool is_reading;
    bool wants_shutdown;
    bool is_shut;
    char rbuf[WS_READ_CHUNK];
};

/* websocket_conn.c */
void ws_conn_accept(ws_server_t *s);
/* Queue a text frame (data already ends with '\n'). -EPIPE once closing. */
int ws_conn_send(ws_conn_t *c, const char *data, size_t len);
size_t ws_conn_queued_bytes(const ws_conn_t *c);
/* Close frame with code, then a lingering close. Detaches the session first. */
void ws_conn_close(ws_conn_t *c, uint16_t code);
void ws_conn_destroy(ws_conn_t *c);
void ws_conn_update_reading(ws_conn_t *c);

/* websocket.c */
ws_session_t *ws_server_find_session(ws_server_t *s, const char *path);
void ws_server_maybe_finish(ws_server_t *s);
bool ws_session_token_matches(const ws_session_t *s, const char *token, size_t len);
/* 0 when a connection may take the session over, else the HTTP status to refuse it with. */
int ws_session_can_attach(const ws_session_t *s);
void ws_session_attach(ws_session_t *s, ws_conn_t *c);
/* Unlink session and connection, nothing more. */
void ws_session_detach(ws_session_t *s);
/* Its connection is gone without the session asking: wait for a reconnect. */
void ws_session_on_dropped(ws_session_t *s, bool is_goodbye);
/* Fire on_closed once (and close the connection, if any). */
void ws_session_end(ws_session_t *s, int reason);
int ws_session_take_bytes(ws_session_t *s, const char *data, size_t len);
/* Hand complete lines to on_line while not paused. */
void ws_session_drain(ws_session_t *s);
/* Should its connection read? Not when paused with WS_PAUSED_READ_AHEAD bytes waiting. */
bool ws_session_wants_input(const ws_session_t *s);

#endif
