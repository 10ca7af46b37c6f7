/* `claude auth <subcommand>` as a short-lived child: output captured within bounds, time-limited. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "transport/cli_env.h"
#include "util/log.h"

#define RUN_LINGER_MS 1000 /* after exit, how long we wait for the pipes' last bytes */

struct auth_run_s {
    auth_t *auth;
    auth_run_t *next;
    auth_run_cb cb;
    void *arg;
    char subcommand[16];
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    int handles_open;
    int open_pipes;
    bool has_exited;
    bool is_killing;
    bool is_finished;
    auth_run_result_t result;
    buf_t output;
    char slab[4096]; /* read buffer; copied into output before the next read */
};

static void on_closed(uv_handle_t *h) {
    auth_run_t *r = h->data;
    if (--r->handles_open > 0) return;
    buf_free(&r->output);
    free(r);
}

static void close_handle(auth_run_t *r, uv_handle_t *h) {
    if (h->loop && !uv_is_closing(h)) uv_close(h, on_closed);
}

static void unlink_run(auth_run_t *r) {
    if (!r->auth) return;
    for (auth_run_t **p = &r->auth->runs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    r->auth = NULL;
}

static void run_finish(auth_run_t *r) {
    if (r->is_finished) return;
    r->is_finished = true;
    unlink_run(r);
    uv_timer_stop(&r->timer);
    const char *raw = buf_cstr(&r->output);
    char *text = malloc(r->output.len + 1);
    if (text) auth_strip_ansi(raw, r->output.len, text);
    r->result.output = text ? text : "";
    log_info("auth.cli_done", "command=%s exit=%lld signal=%d timed_out=%s spawn_error=%d", r->subcommand,
             (long long)r->result.exit_status, r->result.term_signal, r->result.is_timed_out ? "true" : "false",
             r->result.spawn_error);
    r->cb(r->arg, &r->result);
    free(text);
    close_handle(r, (uv_handle_t *)&r->out);
    close_handle(r, (uv_handle_t *)&r->err);
    close_handle(r, (uv_handle_t *)&r->timer);
    close_handle(r, (uv_handle_t *)&r->proc);
}

static void on_timer(uv_timer_t *t) {
    auth_run_t *r = t->data;
    if (r->has_exited) {
        run_finish(r);
        return;
    }
    if (r->is_killing) {
        kill(-r->proc.pid, SIGKILL);
        return;
    }
    r->is_killing = true;
    r->result.is_timed_out = true;
    kill(-r->proc.pid, SIGTERM);
    uv_timer_start(&r->timer, on_timer, AUTH_KILL_GRACE_MS, 0);
}

static void on_child_exit(uv_process_t *p, int64_t exit_status, int term_signal) {
    auth_run_t *r = p->data;
    r->has_exited = true;
    r->result.exit_status = term_signal ? -1 : exit_status;
    r->result.term_signal = term_signal;
    if (r->open_pipes == 0) run_finish(r);
    else uv_timer_start(&r->timer, on_timer, RUN_LINGER_MS, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    auth_run_t *r = h->data;
    (void)suggested;
    *b = uv_buf_init(r->slab, sizeof r->slab);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    auth_run_t *r = s->data;
    if (n > 0) {
        size_t room = r->output.len < AUTH_OUTPUT_MAX ? AUTH_OUTPUT_MAX - r->output.len : 0;
        buf_append(&r->output, b->base, (size_t)n < room ? (size_t)n : room);
        return;
    }
    if (n == 0) return;
    uv_read_stop(s);
    if (--r->open_pipes == 0 && r->has_exited) run_finish(r);
}

static int start_pipe(auth_run_t *r, uv_pipe_t *p) {
    p->data = r;
    int rc = uv_read_start((uv_stream_t *)p, on_alloc, on_read);
    if (rc == 0) r->open_pipes++;
    return rc;
}

int auth_run_cli(auth_t *a, const char *subcommand, auth_run_cb cb, void *arg) {
    auth_run_t *r = calloc(1, sizeof *r);
    if (!r) return UV_ENOMEM;
    r->cb = cb;
    r->arg = arg;
    snprintf(r->subcommand, sizeof r->subcommand, "%s", subcommand);
    buf_init(&r->output, 0);
    uv_timer_init(a->loop, &r->timer);
    uv_pipe_init(a->loop, &r->out, 0);
    uv_pipe_init(a->loop, &r->err, 0);
    r->timer.data = r->out.data = r->err.data = r;
    r->handles_open = 3;
    r->auth = a;
    r->next = a->runs;
    a->runs = r;

    char **env = auth_child_env(a);
    char *argv[] = {(char *)a->claude_path, "auth", r->subcommand, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->err},
    };
    uv_process_options_t opts = {
        .exit_cb = on_child_exit,
        .file = a->claude_path,
        .args = argv,
        .env = env,
        .stdio_count = 3,
        .stdio = stdio,
        .flags = UV_PROCESS_DETACHED,
    };
    int rc = env ? uv_spawn(a->loop, &r->proc, &opts) : UV_ENOMEM;
    cli_strv_free(env);
    if (rc == 0 || r->proc.loop) {
        r->proc.data = r;
        r->handles_open++;
    }
    if (rc == 0) {
        start_pipe(r, &r->out);
        start_pipe(r, &r->err);
        uv_timer_start(&r->timer, on_timer, AUTH_RUN_TIMEOUT_MS, 0);
        return 0;
    }
    log_warn("auth.cli_failed", "command=%s path=%s error=%s", r->subcommand, a->claude_path, uv_strerror(rc));
    r->has_exited = true;
    r->result.spawn_error = rc;
    r->result.exit_status = -1;
    uv_timer_start(&r->timer, on_timer, 0, 0); /* the callback never runs inside this call */
    return rc;
}

void auth_run_destroy_all(auth_t *a) {
    while (a->runs) {
        auth_run_t *r = a->runs;
        a->runs = r->next;
        if (!r->has_exited && r->proc.pid > 0) kill(-r->proc.pid, SIGKILL);
        buf_free(&r->output);
        free(r);
    }
}
