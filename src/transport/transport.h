/*
 * A channel to one CLI process carrying NDJSON lines: stdio pipes or a loopback WebSocket.
 * Both feed the same codec (transport/ndjson.h) and session state machine.
 *
 * A spawner uses any transport the same way, through a maker:
 *
 *     transport_launch_t launch;
 *     t = transport_open(&maker, &events, arg, &launch);   // what the child needs: fds, --sdk-url, token
 *     ... spawn the CLI with launch.stdio_in/out, launch.sdk_url, launch.access_token ...
 *     transport_start(t);                                   // after a successful spawn
 *
 * A failed spawn just transport_close()s.
 */
#ifndef CWP_TRANSPORT_TRANSPORT_H
#define CWP_TRANSPORT_TRANSPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct transport_s transport_t;

typedef struct {
    /* One complete line, without its '\n'. Borrowed for the call. */
    void (*on_line)(void *arg, const char *line, size_t len);
    /* The channel is ready to carry lines (at once for stdio; when the CLI connects for WebSocket). */
    void (*on_open)(void *arg);
    /* The channel is gone for good (reason: 0 = orderly, negative = error). */
    void (*on_closed)(void *arg, int reason);
    /* Bytes arrived, maybe mid-line (may be NULL): the CLI is not silent even while one long line is
     * still coming, so stall clocks count bytes, not lines. */
    void (*on_bytes)(void *arg, size_t len);
} transport_events_t;

typedef struct {
    int (*send_line)(transport_t *t, const char *line, size_t len); /* adds the '\n' */
    void (*set_paused)(transport_t *t, bool paused);
    void (*close)(transport_t *t);  /* no events after this; frees t */
    int (*start)(transport_t *t);   /* the child is spawned: begin (NULL: nothing to do) */
} transport_ops_t;

struct transport_s {
    const transport_ops_t *ops;
    transport_events_t events;
    void *arg;
};

static inline int transport_send_line(transport_t *t, const char *line, size_t len) {
    return t->ops->send_line(t, line, len);
}
static inline void transport_set_paused(transport_t *t, bool paused) { t->ops->set_paused(t, paused); }
static inline void transport_close(transport_t *t) { t->ops->close(t); }
static inline int transport_start(transport_t *t) { return t->ops->start ? t->ops->start(t) : 0; }

#define TRANSPORT_URL_MAX 128  /* "ws://127.0.0.1:65535/session/<32 hex>" fits */
#define TRANSPORT_TOKEN_MAX 64 /* 32 random bytes, base64url: 43 chars + NUL */

/* What a transport adds to the launch of its CLI. */
typedef struct {
    uv_stdio_container_t stdio_in, stdio_out; /* the child's fd 0 and 1 (UV_IGNORE: unused) */
    char sdk_url[TRANSPORT_URL_MAX];          /* for --sdk-url, or "" */
    char access_token[TRANSPORT_TOKEN_MAX];   /* for CLAUDE_CODE_SESSION_ACCESS_TOKEN, or "" */
    /* The CLI dials in (WebSocket): on_open may never come, so the spawner arms a deadline, and the
     * child's exit does not end the channel by itself (no EOF follows it). */
    bool is_dialed;
} transport_launch_t;

/* Makes one transport per CLI launch (stdio_transport_maker, ws_server_maker). */
typedef struct {
    const char *name; /* "stdio", "websocket": for logs */
    transport_t *(*open)(void *ctx, const transport_events_t *events, void *arg, transport_launch_t *launch);
    void *ctx;
} transport_maker_t;

/* NULL when out of memory (or the maker cannot take more); launch is filled otherwise. */
static inline transport_t *transport_open(const transport_maker_t *m, const transport_events_t *events, void *arg,
                                          transport_launch_t *launch) {
    *launch = (transport_launch_t){.stdio_in = {.flags = UV_IGNORE}, .stdio_out = {.flags = UV_IGNORE}};
    return m->open(m->ctx, events, arg, launch);
}

#endif
