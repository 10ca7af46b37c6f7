#include "transport/stdio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "transport/ndjson.h"
#include "util/log.h"

typedef enum { STDIO_NEW, STDIO_OPEN, STDIO_ENDED, STDIO_CLOSING } stdio_state_t;

typedef struct {
    transport_t base;
    uv_loop_t *loop;
    stdio_state_t state;
    uv_pipe_t in;  /* child's stdin: we write */
    uv_pipe_t out; /* child's stdout: we read */
    uv_idle_t kick_idle; /* on_open and resumption run from the loop, never inside our callers */
    int handles_open;
    bool is_paused;
    bool is_reading;
    size_t queued; /* bytes handed to uv_write and not yet written */
    ndjson_reader_t reader;
} stdio_transport_t;

typedef struct {
    uv_write_t req;
    stdio_transport_t *t;
    size_t len;
    char data[]; /* line + '\n' */
} stdio_write_t;

static void stdio_on_handle_closed(uv_handle_t *h) {
    stdio_transport_t *t = h->data;
    if (--t->handles_open > 0) return;
    ndjson_reader_free(&t->reader);
    free(t);
}

static void stdio_end(stdio_transport_t *t, int reason) {
    if (t->state == STDIO_ENDED || t->state == STDIO_CLOSING) return;
    t->state = STDIO_ENDED;
    if (t->is_reading) uv_read_stop((uv_stream_t *)&t->out);
    t->is_reading = false;
    if (t->base.events.on_closed) t->base.events.on_closed(t->base.arg, reason);
}

/* Hand out the complete lines held until the consumer pauses; a pause keeps the rest for the resume. */
static void stdio_deliver(stdio_transport_t *t) {
    view_t line;
    int rc = 0;
    /* The consumer may close us (or pause us) from inside on_line. */
    while (t->state == STDIO_OPEN && !t->is_paused && (rc = ndjson_reader_next(&t->reader, &line)) > 0)
        t->base.events.on_line(t->base.arg, line.ptr, line.len);
    if (t->state != STDIO_OPEN) return;
    ndjson_reader_compact(&t->reader);
    if (rc < 0) stdio_end(t, rc);
}

static void stdio_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    (void)suggested;
    static const size_t size = 64 * 1024;
    b->base = malloc(size);
    b->len = b->base ? size : 0;
}

static void stdio_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    stdio_transport_t *t = s->data;
    if (n > 0 && t->state == STDIO_OPEN) {
        if (t->base.events.on_bytes) t->base.events.on_bytes(t->base.arg, (size_t)n);
        if (t->state != STDIO_OPEN) {
            free(b->base);
            return;
        }
        (void)ndjson_reader_append(&t->reader, b->base, (size_t)n); /* a failure comes out of next, in order */
        free(b->base);
        stdio_deliver(t);
        return;
    }
    free(b->base);
    if (n == UV_EOF) stdio_end(t, 0);
    else if (n < 0) stdio_end(t, (int)n);
}

static void stdio_on_kick(uv_idle_t *idle);

static void stdio_start_reading(stdio_transport_t *t) {
    if (t->is_reading || t->is_paused || t->state != STDIO_OPEN) return;
    if (uv_read_start((uv_stream_t *)&t->out, stdio_on_alloc, stdio_on_read) == 0) t->is_reading = true;
}

/* From the loop: the first time, open; after a pause, hand out the lines kept when it hit mid-read. */
static void stdio_on_kick(uv_idle_t *idle) {
    stdio_transport_t *t = idle->data;
    uv_idle_stop(idle);
    if (t->state == STDIO_NEW) {
        t->state = STDIO_OPEN;
        stdio_start_reading(t);
        if (t->base.events.on_open) t->base.events.on_open(t->base.arg);
        return;
    }
    if (t->state != STDIO_OPEN || t->is_paused) return;
    stdio_deliver(t);
    stdio_start_reading(t);
}

static void stdio_on_written(uv_write_t *req, int status) {
    stdio_write_t *w = (stdio_write_t *)req;
    w->t->queued -= w->len;
    if (status < 0 && status != UV_ECANCELED && w->t->state == STDIO_OPEN)
        log_debug("stdio.write_failed", "error=%s", uv_strerror(status));
    free(w);
}

static int stdio_send_line(transport_t *base, const char *line, size_t len) {
    stdio_transport_t *t = (stdio_transport_t *)base;
    if (t->state != STDIO_OPEN && t->state != STDIO_NEW) return -EPIPE;
    if (t->queued + len + 1 > STDIO_MAX_SEND_QUEUE) return -ENOBUFS;
    stdio_write_t *w = malloc(sizeof *w + len + 1);
    if (!w) return -ENOMEM;
    memcpy(w->data, line, len);
    w->data[len] = '\n';
    w->len = len + 1;
    w->t = t;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&t->in, &b, 1, stdio_on_written);
    if (rc < 0) {
        free(w);
        return rc;
    }
    t->queued += w->len;
    return 0;
}

static void stdio_set_paused(transport_t *base, bool paused) {
    stdio_transport_t *t = (stdio_transport_t *)base;
    if (t->is_paused == paused) return;
    t->is_paused = paused;
    if (paused && t->is_reading) {
        uv_read_stop((uv_stream_t *)&t->out);
        t->is_reading = false;
    } else if (!paused && t->state == STDIO_OPEN) {
        uv_idle_start(&t->kick_idle, stdio_on_kick); /* kept lines go out from the loop, not from here */
    }
}

static void stdio_close(transport_t *base) {
    stdio_transport_t *t = (stdio_transport_t *)base;
    if (t->state == STDIO_CLOSING) return;
    t->state = STDIO_CLOSING;
    /* Closing the write end is the CLI's EOF; pending writes are cancelled. */
    uv_close((uv_handle_t *)&t->in, stdio_on_handle_closed);
    uv_close((uv_handle_t *)&t->out, stdio_on_handle_closed);
    uv_close((uv_handle_t *)&t->kick_idle, stdio_on_handle_closed);
}

static const transport_ops_t stdio_ops = {
    .send_line = stdio_send_line,
    .set_paused = stdio_set_paused,
    .close = stdio_close,
    .start = stdio_transport_start,
};

transport_t *stdio_transport_new(uv_loop_t *loop, size_t max_line, const transport_events_t *events, void *arg) {
    stdio_transport_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->base.ops = &stdio_ops;
    t->base.events = *events;
    t->base.arg = arg;
    t->loop = loop;
    t->state = STDIO_NEW;
    ndjson_reader_init(&t->reader, max_line, 0); /* we stop reading while lines wait: max_line bounds it */
    uv_pipe_init(loop, &t->in, 0);
    uv_pipe_init(loop, &t->out, 0);
    uv_idle_init(loop, &t->kick_idle);
    t->in.data = t->out.data = t->kick_idle.data = t;
    t->handles_open = 3;
    return &t->base;
}

void stdio_transport_containers(transport_t *base, uv_stdio_container_t *in, uv_stdio_container_t *out) {
    stdio_transport_t *t = (stdio_transport_t *)base;
    in->flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    in->data.stream = (uv_stream_t *)&t->in;
    out->flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    out->data.stream = (uv_stream_t *)&t->out;
}

int stdio_transport_start(transport_t *base) {
    stdio_transport_t *t = (stdio_transport_t *)base;
    if (t->state != STDIO_NEW) return -EINVAL;
    return uv_idle_start(&t->kick_idle, stdio_on_kick);
}

static transport_t *stdio_open(void *loop, const transport_events_t *events, void *arg, transport_launch_t *launch) {
    transport_t *t = stdio_transport_new(loop, NDJSON_MAX_LINE_DEFAULT, events, arg);
    if (t) stdio_transport_containers(t, &launch->stdio_in, &launch->stdio_out);
    return t;
}

transport_maker_t stdio_transport_maker(uv_loop_t *loop) {
    return (transport_maker_t){.name = "stdio", .open = stdio_open, .ctx = loop};
}
