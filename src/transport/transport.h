/*
 * A channel to one CLI process carrying NDJSON lines: stdio pipes or a loopback WebSocket.
 * Both feed the same codec and session state machine.
 */
#ifndef CWP_TRANSPORT_TRANSPORT_H
#define CWP_TRANSPORT_TRANSPORT_H
#include <stdbool.h>
#include <stddef.h>

typedef struct transport_s transport_t;

typedef struct {
    /* One complete line, without its '\n'. Borrowed for the call. */
    void (*on_line)(void *arg, const char *line, size_t len);
    /* The channel is ready to carry lines (at once for stdio; when the CLI connects for WebSocket). */
    void (*on_open)(void *arg);
    /* The channel is gone for good (reason: 0 = orderly, negative = error). */
    void (*on_closed)(void *arg, int reason);
} transport_events_t;

typedef struct {
    int (*send_line)(transport_t *t, const char *line, size_t len); /* adds the '\n' */
    void (*set_paused)(transport_t *t, bool paused);
    void (*close)(transport_t *t);  /* no events after this; frees t */
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

#endif
