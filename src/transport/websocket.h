/*
 * Loopback WebSocket server the CLI connects to (`claude --sdk-url ws://127.0.0.1:<port>/<path>`).
 *
 * The engine registers each CLI it is about to spawn with ws_server_expect(): that yields a transport_t,
 * a unique URL and a secret token (for the child's CLAUDE_CODE_SESSION_ACCESS_TOKEN). Only an upgrade
 * request for that path carrying `Authorization: Bearer <token>` is accepted; then on_open fires.
 *
 * Lines sent before the CLI connects, or while it is reconnecting, wait in a bounded queue and go out
 * when it (re)connects. When the socket drops, the registration waits reconnect_window_ms for the same
 * CLI to come back (on_open is not fired again); otherwise on_closed(-ECONNRESET), or on_closed(0) when
 * the CLI had said goodbye with a close frame. Frames or lines over the limits: close 1009 and
 * on_closed(-EMSGSIZE); protocol errors: 1002 and -EPROTO. transport_close ends the registration: close
 * frame (close_code), later connects refused. set_paused holds lines back; the socket is read on until
 * 1 MiB waits, so pings are still answered through short pauses.
 *
 * The CLI (2.1.100) speaks only after the host's first line; pings every 10 s and drops the socket
 * when a pong is missing; reconnects about 1 s after a drop (doubling to 30 s, for 10 minutes; lines it
 * writes meanwhile are lost); exits at once on close code 4001; sends {"type":"keep_alive"} every 5 min.
 */
#ifndef CWP_TRANSPORT_WEBSOCKET_H
#define CWP_TRANSPORT_WEBSOCKET_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "transport/transport.h"

typedef struct ws_server_s ws_server_t;

typedef struct {
    size_t max_frame;            /* payload bytes of one received frame */
    size_t max_message;          /* bytes of one received message, and of one line */
    size_t max_send_queue;       /* bytes of lines waiting to go out per transport (also while away) */
    size_t max_handshake;        /* bytes of an upgrade request */
    unsigned max_connections;    /* sockets open at once, handshakes included */
    uint64_t handshake_timeout_ms;
    uint64_t reconnect_window_ms;
    uint16_t close_code;         /* sent when we end a session: the CLI exits on 4001, retries on 1000 */
} ws_limits_t;

#define WS_URL_MAX TRANSPORT_URL_MAX
#define WS_TOKEN_MAX TRANSPORT_TOKEN_MAX

/* 64 MiB frames and messages (a tool result or image line can be megabytes), 128 MiB send queue,
 * 10 s handshake, 5 s reconnect window, close code 4001. */
ws_limits_t ws_limits_default(void);

/* limits: NULL for ws_limits_default(). */
ws_server_t *ws_server_new(uv_loop_t *loop, const ws_limits_t *limits);
/* host must be a loopback address ("127.0.0.1", "::1", "localhost"): anything else is UV_EINVAL.
 * port 0 binds a free port (see ws_server_port). Returns 0 or a negative uv error. */
int ws_server_listen(ws_server_t *s, const char *host, int port);
int ws_server_port(const ws_server_t *s);

/* Register one expected CLI. Writes its URL (ws://host:port/session/<random>) and its token.
 * Returns NULL when the server is not listening, is closing, or a buffer is too small
 * (url_len < WS_URL_MAX, token_len < WS_TOKEN_MAX). The caller ends it with transport_close. */
transport_t *ws_server_expect(ws_server_t *s, const transport_events_t *events, void *arg, char *url_out,
                              size_t url_len, char *token_out, size_t token_len);

/* A maker whose transports are registrations with s (the launch gets the URL and token; is_dialed). */
transport_maker_t ws_server_maker(ws_server_t *s);

/* Registrations still alive get on_closed(-ECANCELED) (their transport_t stays valid until
 * transport_close). on_closed(arg) runs once every socket is closed; then s is freed. */
void ws_server_close(ws_server_t *s, void (*on_closed)(void *arg), void *arg);

#endif
