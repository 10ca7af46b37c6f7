#include "engine/process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

typedef enum { PROC_RUNNING, PROC_TERM_SENT, PROC_KILL_SENT, PROC_EXITED } process_state_t;

struct process_s {
    uv_process_t handle;
    uv_pipe_t err_pipe;
    uv_timer_t timer;
    process_state_t state;
    int pid;
    bool is_released;
    int handles_open;
    uint64_t grace_ms;
    char log_id[40];
    /* stderr, bounded: one partial line, a count of lines logged */
    char err_line[PROCESS_STDERR_MAX_LINE];
    size_t err_len;
    unsigned err_lines;
    bool is_err_truncated;
    void (*on_exit)(void *arg, int64_t exit_status, int term_signal);
    void *arg;
    void (*on_reaped)(void *group_arg);
    void *group_arg;
};

static void process_on_closed(uv_handle_t *h) {
    process_t *p = h->data;
    if (--p->handles_open > 0) return;
    void (*on_reaped)(void *) = p->on_reaped;
    void *group_arg = p->group_arg;
    free(p);
    if (on_reaped) on_reaped(group_arg);
}

static void process_free_if_done(process_t *p) {
    if (!p->is_released || p->state != PROC_EXITED) return;
    if (!uv_is_closing((uv_handle_t *)&p->handle)) uv_close((uv_handle_t *)&p->handle, process_on_closed);
    if (!uv_is_closing((uv_handle_t *)&p->err_pipe)) uv_close((uv_handle_t *)&p->err_pipe, process_on_closed);
    if (!uv_is_closing((uv_handle_t *)&p->timer)) uv_close((uv_handle_t *)&p->timer, process_on_closed);
}

static void stderr_flush_line(process_t *p) {
    if (p->err_len == 0 && !p->is_err_truncated) return;
    if (p->err_lines < PROCESS_STDERR_MAX_LINES) {
        /* Quote-safe: the log line is key=value, so keep the text printable and free of quotes. */
        for (size_t i = 0; i < p->err_len; i++)
            if ((unsigned char)p->err_line[i] < 0x20 || p->err_line[i] == '"') p->err_line[i] = ' ';
        log_warn("cli.stderr", "session=%s pid=%d text=\"%.*s%s\"", p->log_id, p->pid, (int)p->err_len,
                 p->err_line, p->is_err_truncated ? "..." : "");
    } else if (p->err_lines == PROCESS_STDERR_MAX_LINES) {
        log_warn("cli.stderr_suppressed", "session=%s pid=%d limit=%d", p->log_id, p->pid,
                 PROCESS_STDERR_MAX_LINES);
    }
    p->err_lines++;
    p->err_len = 0;
    p->is_err_truncated = false;
}

static void stderr_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    (void)suggested;
    b->base = malloc(8192);
    b->len = b->base ? 8192 : 0;
}

static void stderr_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    process_t *p = s->data;
    for (ssize_t i = 0; i < n; i++) {
        char c = b->base[i];
        if (c == '\n') {
            stderr_flush_line(p);
        } else if (p->err_len < sizeof p->err_line) {
            p->err_line[p->err_len++] = c;
        } else {
            p->is_err_truncated = true;
        }
    }
    free(b->base);
    if (n < 0) {
        stderr_flush_line(p);
        uv_read_stop(s);
    }
}

static void process_on_timer(uv_timer_t *t) {
    process_t *p = t->data;
    if (p->state == PROC_RUNNING) {
        uv_process_kill(&p->handle, SIGTERM);
        p->state = PROC_TERM_SENT;
        uv_timer_start(&p->timer, process_on_timer, p->grace_ms, 0);
    } else if (p->state == PROC_TERM_SENT) {
        log_warn("cli.kill", "session=%s pid=%d reason=sigterm_ignored grace_ms=%llu", p->log_id, p->pid,
                 (unsigned long long)p->grace_ms);
        uv_process_kill(&p->handle, SIGKILL);
        p->state = PROC_KILL_SENT;
    }
}

static void process_on_exit(uv_process_t *h, int64_t exit_status, int term_signal) {
    process_t *p = h->data;
    p->state = PROC_EXITED;
    uv_timer_stop(&p->timer);
    log_info("cli.exit", "session=%s pid=%d status=%lld signal=%d", p->log_id, p->pid, (long long)exit_status,
             term_signal);
    if (!p->is_released && p->on_exit) p->on_exit(p->arg, exit_status, term_signal);
    process_free_if_done(p);
}

int process_spawn(uv_loop_t *loop, const process_options_t *opts, process_t **out) {
    process_t *p = calloc(1, sizeof *p);
    if (!p) return UV_ENOMEM;
    snprintf(p->log_id, sizeof p->log_id, "%s", opts->log_id ? opts->log_id : "-");
    p->grace_ms = opts->term_grace_ms ? opts->term_grace_ms : 3000;
    p->on_exit = opts->on_exit;
    p->arg = opts->arg;
    p->on_reaped = opts->on_reaped;
    p->group_arg = opts->group_arg;
    uv_pipe_init(loop, &p->err_pipe, 0);
    uv_timer_init(loop, &p->timer);
    p->handle.data = p->err_pipe.data = p->timer.data = p;

    uv_stdio_container_t stdio[3] = {opts->stdio_in, opts->stdio_out,
                                     {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
                                      .data.stream = (uv_stream_t *)&p->err_pipe}};
    uv_process_options_t po = {
        .exit_cb = process_on_exit,
        .file = opts->file,
        .args = opts->argv,
        .env = opts->env,
        .cwd = opts->cwd,
        .stdio_count = 3,
        .stdio = stdio,
    };
    int rc = uv_spawn(loop, &p->handle, &po);
    if (rc < 0) {
        /* uv_spawn failed: the process handle must still be closed; pretend it exited and is released. */
        p->on_reaped = NULL;
        p->state = PROC_EXITED;
        p->is_released = true;
        p->handles_open = 3;
        process_free_if_done(p);
        return rc;
    }
    p->handles_open = 3;
    p->pid = p->handle.pid;
    p->state = PROC_RUNNING;
    uv_read_start((uv_stream_t *)&p->err_pipe, stderr_on_alloc, stderr_on_read);
    *out = p;
    return 0;
}

int process_pid(const process_t *p) { return p->pid; }

bool process_is_running(const process_t *p) { return p->state != PROC_EXITED; }

void process_end(process_t *p, uint64_t delay_ms) {
    if (p->state != PROC_RUNNING || uv_is_active((uv_handle_t *)&p->timer)) return;
    if (delay_ms == 0) process_on_timer(&p->timer);
    else uv_timer_start(&p->timer, process_on_timer, delay_ms, 0);
}

void process_release(process_t *p) {
    if (p->is_released) return;
    p->is_released = true;
    if (p->state == PROC_RUNNING) process_end(p, 0);
    process_free_if_done(p);
}
