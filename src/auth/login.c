/*
 * `claude auth login` under a pseudo-terminal. The CLI prints an authorize URL and waits for the code the
 * user copies from the browser; we capture the URL, keep the process waiting, and later type the code
 * into it. One login at a time; a login left unfinished is ended after a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/auth_internal.h"
#include "transport/cli_env.h"
#include "util/log.h"
#include "util/clock.h"

struct login_s {
    auth_t *auth; /* NULL once detached (ending) */
    login_state_t state;
    uv_process_t proc;
    uv_poll_t poll;
    uv_timer_t timer;
    int handles_open;
    int master_fd;
    bool is_poll_active;
    bool has_exited;
    bool is_killing;
    buf_t raw;           /* what the CLI printed, bounded by AUTH_OUTPUT_MAX */
    size_t code_mark;    /* offset in raw where the output after the code begins */
    char code[AUTH_CODE_MAX];
    char url[AUTH_URL_MAX];
    int64_t started_ms;  /* wall clock */
    uint64_t deadline;   /* loop time the unfinished login ends */
    login_waiter_t *url_waiters;
    login_waiter_t *code_waiter;
};

static void login_kill(login_t *l, const char *why);

/* ---- lifecycle ---- */

static void on_handle_closed(uv_handle_t *h) {
    login_t *l = h->data;
    if (--l->handles_open > 0) return;
    if (l->master_fd >= 0) close(l->master_fd);
    buf_free(&l->raw);
    free(l);
}

static void close_handle(login_t *l, uv_handle_t *h) {
    if (h->loop && !uv_is_closing(h)) uv_close(h, on_handle_closed);
}

/* Detach from auth and close the handles; the memory goes with the last close callback. */
static void login_finish(login_t *l) {
    if (l->auth && l->auth->login == l) l->auth->login = NULL;
    l->auth = NULL;
    close_handle(l, (uv_handle_t *)&l->poll);
    close_handle(l, (uv_handle_t *)&l->timer);
    close_handle(l, (uv_handle_t *)&l->proc);
}

void login_destroy(login_t *l) {
    if (!l) return;
    if (!l->has_exited && l->proc.pid > 0) kill(-l->proc.pid, SIGKILL);
    if (l->master_fd >= 0) close(l->master_fd);
    buf_free(&l->raw);
    free(l);
}

/* ---- output ---- */

static char *clean_text(const login_t *l, size_t from) {
    size_t n = l->raw.len > from ? l->raw.len - from : 0;
    char *out = malloc(n + 1);
    if (out) {
        auth_strip_ansi(l->raw.data ? l->raw.data + from : "", n, out);
        auth_mask(out, l->code);
        auth_remove_prompt(out);
    }
    return out;
}

static void keep_output(login_t *l, const char *data, size_t n) {
    if (l->raw.len + n > AUTH_OUTPUT_MAX) {
        size_t drop = l->raw.len / 2 + (n > AUTH_OUTPUT_MAX / 2 ? n : 0);
        if (drop > l->raw.len) drop = l->raw.len;
        buf_consume(&l->raw, drop);
        l->code_mark = l->code_mark > drop ? l->code_mark - drop : 0;
        if (n > AUTH_OUTPUT_MAX / 2) {
            data += n - AUTH_OUTPUT_MAX / 2;
            n = AUTH_OUTPUT_MAX / 2;
        }
    }
    buf_append(&l->raw, data, n);
}

/* Everything the pty has now. EIO means every copy of the terminal's other end is closed. */
static void read_available(login_t *l) {
    char chunk[4096];
    while (l->is_poll_active) {
        ssize_t n = read(l->master_fd, chunk, sizeof chunk);
        if (n > 0) {
            keep_output(l, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        uv_poll_stop(&l->poll);
        l->is_poll_active = false;
    }
}

/* ---- waiters ---- */

static void notify_url(login_t *l, const char *url, const char *error) {
    login_waiter_t *w = l->url_waiters;
    l->url_waiters = NULL;
    while (w) {
        login_waiter_t *next = w->next;
        w->on_url(w, url, error);
        w = next;
    }
}

static void notify_outcome(login_t *l, bool success, int exit_code, const char *message, const char *output) {
    login_waiter_t *w = l->code_waiter;
    l->code_waiter = NULL;
    log_info("auth.login_outcome", "success=%s exit=%d message=\"%s\"", success ? "true" : "false", exit_code,
             message);
    if (!w) return;
    login_outcome_t o = {.success = success, .exit_code = exit_code, .message = message, .output = output};
    w->on_outcome(w, &o);
}

void login_forget_waiter(auth_t *a, login_waiter_t *w) {
    login_t *l = a->login;
    if (!l) return;
    if (l->code_waiter == w) l->code_waiter = NULL;
    for (login_waiter_t **p = &l->url_waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* ---- state machine ---- */

static void arm_timer(login_t *l, uint64_t timeout_ms);

static void scan_output(login_t *l) {
    if (l->state == LOGIN_STARTING) {
        char *text = clean_text(l, 0);
        if (text && auth_find_login_url(text, l->url, sizeof l->url)) {
            l->state = LOGIN_WAITING_CODE;
            l->deadline = uv_now(l->proc.loop) + l->auth->login_timeout_ms;
            arm_timer(l, l->auth->login_timeout_ms);
            log_info("auth.login_waiting", "pid=%d timeout_ms=%llu", l->proc.pid,
                     (unsigned long long)l->auth->login_timeout_ms);
            notify_url(l, l->url, NULL);
        }
        free(text);
    } else if (l->state == LOGIN_VERIFYING) {
        /* A code without its "#state" half: the CLI says so and keeps waiting for another. */
        char *text = clean_text(l, l->code_mark);
        if (text && strstr(text, "Invalid code")) {
            char line[256];
            auth_last_line(text, line, sizeof line);
            l->state = LOGIN_WAITING_CODE;
            l->code[0] = '\0';
            uint64_t now = uv_now(l->proc.loop);
            arm_timer(l, l->deadline > now ? l->deadline - now : 1);
            notify_outcome(l, false, -1, line, text);
        }
        free(text);
    }
}

static void on_readable(uv_poll_t *h, int status, int events) {
    login_t *l = h->data;
    (void)events;
    if (status < 0) {
        uv_poll_stop(h);
        l->is_poll_active = false;
        return;
    }
    read_available(l);
    if (l->auth) scan_output(l);
}

static void on_child_exit(uv_process_t *p, int64_t exit_status, int term_signal) {
    login_t *l = p->data;
    l->has_exited = true;
    read_available(l);
    if (l->auth) scan_output(l);
    log_info("auth.login_exit", "pid=%d exit=%lld signal=%d state=%d", p->pid, (long long)exit_status, term_signal,
             (int)l->state);
    char *text = clean_text(l, l->state == LOGIN_VERIFYING ? l->code_mark : 0);
    char line[256] = "";
    if (text) auth_last_line(text, line, sizeof line);
    char message[512];
    if (l->state == LOGIN_STARTING) {
        snprintf(message, sizeof message, "the CLI exited (status %lld) before printing a login URL%s%s",
                 (long long)exit_status, line[0] ? ": " : "", line);
        notify_url(l, NULL, message);
    } else if (l->state == LOGIN_VERIFYING) {
        bool ok = exit_status == 0 && term_signal == 0;
        if (!line[0]) snprintf(line, sizeof line, "the CLI exited with status %lld", (long long)exit_status);
        auth_t *a = l->auth;
        notify_outcome(l, ok, term_signal ? -1 : (int)exit_status, line, text ? text : "");
        if (ok && a) auth_on_credentials_changed(a, "login");
    }
    free(text);
    login_finish(l);
}

static void on_timer(uv_timer_t *t) {
    login_t *l = t->data;
    if (l->is_killing) {
        if (!l->has_exited) kill(-l->proc.pid, SIGKILL);
        return;
    }
    switch (l->state) {
    case LOGIN_STARTING:
        notify_url(l, NULL, "timed out waiting for the CLI to print a login URL");
        login_kill(l, "no_url");
        break;
    case LOGIN_WAITING_CODE:
        login_kill(l, "timeout");
        break;
    case LOGIN_VERIFYING:
        notify_outcome(l, false, -1, "the CLI did not finish the login in time", "");
        login_kill(l, "verify_timeout");
        break;
    }
}

static void arm_timer(login_t *l, uint64_t timeout_ms) { uv_timer_start(&l->timer, on_timer, timeout_ms, 0); }

/* SIGTERM to the CLI's process group, SIGKILL after the grace period; on_child_exit finishes. */
static void login_kill(login_t *l, const char *why) {
    if (l->has_exited || l->is_killing) return;
    log_info("auth.login_ended", "pid=%d reason=%s", l->proc.pid, why);
    l->is_killing = true;
    kill(-l->proc.pid, SIGTERM);
    uv_timer_start(&l->timer, on_timer, AUTH_KILL_GRACE_MS, 0);
}

/* ---- spawning ---- */

static int open_pty(int *master, int *slave) {
    /* Wide enough that nothing wraps the URL; echo off so a pasted code never comes back as output. */
    struct winsize ws = {.ws_row = 50, .ws_col = 400};
    if (openpty(master, slave, NULL, NULL, &ws) != 0) return -errno;
    struct termios t;
    if (tcgetattr(*slave, &t) == 0) {
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(*slave, TCSANOW, &t);
    }
    fcntl(*master, F_SETFD, FD_CLOEXEC);
    fcntl(*slave, F_SETFD, FD_CLOEXEC);
    fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK);
    return 0;
}

static int login_spawn(login_t *l, auth_t *a, char *err, size_t err_len) {
    int master = -1, slave = -1;
    int rc = open_pty(&master, &slave);
    if (rc) return snprintf(err, err_len, "cannot open a pseudo-terminal: %s", strerror(-rc)), rc;
    l->master_fd = master;
    char **env = auth_child_env(a);
    char *argv[] = {(char *)a->claude_path, "auth", "login", NULL};
    uv_stdio_container_t stdio[3];
    for (int i = 0; i < 3; i++) stdio[i] = (uv_stdio_container_t){.flags = UV_INHERIT_FD, .data.fd = slave};
    uv_process_options_t opts = {
        .exit_cb = on_child_exit,
        .file = a->claude_path,
        .args = argv,
        .env = env,
        .stdio_count = 3,
        .stdio = stdio,
        .flags = UV_PROCESS_DETACHED, /* its own process group, so a kill reaches its helpers too */
    };
    rc = env ? uv_spawn(a->loop, &l->proc, &opts) : UV_ENOMEM;
    close(slave);
    cli_strv_free(env);
    if (rc == 0 || l->proc.loop) {
        l->proc.data = l;
        l->handles_open++;
    }
    if (rc) return snprintf(err, err_len, "cannot run the Claude CLI at %s: %s", a->claude_path, uv_strerror(rc)), rc;
    return 0;
}

int login_begin(auth_t *a, login_waiter_t *w, const char **url, char *err, size_t err_len) {
    login_t *l = a->login;
    if (l) {
        if (l->is_killing) return snprintf(err, err_len, "the previous login is ending; try again"), -EBUSY;
        if (l->state == LOGIN_WAITING_CODE) return *url = l->url, 0;
        if (l->state == LOGIN_VERIFYING) return snprintf(err, err_len, "a login code is being checked"), -EBUSY;
        w->next = l->url_waiters;
        l->url_waiters = w;
        return 1;
    }
    l = calloc(1, sizeof *l);
    if (!l) return snprintf(err, err_len, "out of memory"), -ENOMEM;
    l->master_fd = -1;
    buf_init(&l->raw, 0);
    uv_timer_init(a->loop, &l->timer);
    l->timer.data = l;
    l->handles_open = 1;
    int rc = login_spawn(l, a, err, err_len);
    if (rc == 0) {
        rc = uv_poll_init(a->loop, &l->poll, l->master_fd);
        if (rc == 0) {
            l->poll.data = l;
            l->handles_open++;
            rc = uv_poll_start(&l->poll, UV_READABLE | UV_DISCONNECT, on_readable);
            l->is_poll_active = rc == 0;
        }
        if (rc) snprintf(err, err_len, "cannot watch the pseudo-terminal: %s", uv_strerror(rc));
    }
    if (rc) {
        log_warn("auth.login_failed", "error=\"%s\"", err);
        if (l->proc.pid > 0 && !l->has_exited) kill(-l->proc.pid, SIGKILL);
        login_finish(l);
        return rc;
    }
    l->auth = a;
    a->login = l;
    l->state = LOGIN_STARTING;
    l->started_ms = clock_wall_ms();
    arm_timer(l, AUTH_LOGIN_URL_TIMEOUT_MS);
    log_info("auth.login_started", "pid=%d", l->proc.pid);
    w->next = NULL;
    l->url_waiters = w;
    return 1;
}

int login_submit_code(auth_t *a, const char *code, size_t len, login_waiter_t *w, char *err, size_t err_len) {
    login_t *l = a->login;
    if (!l || l->is_killing || l->state == LOGIN_STARTING)
        return snprintf(err, err_len, "no login is waiting for a code; start one with /auth/login"), -ENOENT;
    if (l->state == LOGIN_VERIFYING) return snprintf(err, err_len, "a login code is already being checked"), -EBUSY;
    char clean[AUTH_CODE_MAX];
    if (auth_clean_code(code, len, clean, sizeof clean) != 0)
        return snprintf(err, err_len, "code must be one line of printable text, at most %d bytes", AUTH_CODE_MAX - 2),
               -EINVAL;
    char line[AUTH_CODE_MAX + 1];
    size_t n = (size_t)snprintf(line, sizeof line, "%s\r", clean);
    size_t sent = 0;
    while (sent < n) {
        ssize_t r = write(l->master_fd, line + sent, n - sent);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return snprintf(err, err_len, "cannot write to the login process: %s", strerror(errno)), -EIO;
        sent += (size_t)r;
    }
    memcpy(l->code, clean, strlen(clean) + 1);
    l->state = LOGIN_VERIFYING;
    l->code_mark = l->raw.len;
    l->code_waiter = w;
    w->next = NULL;
    arm_timer(l, AUTH_LOGIN_VERIFY_TIMEOUT_MS);
    log_info("auth.login_code_sent", "pid=%d", l->proc.pid);
    return 1;
}

void login_get_info(const auth_t *a, login_info_t *out) {
    const login_t *l = a->login;
    *out = (login_info_t){0};
    if (!l) return;
    out->is_active = true;
    out->state = l->state;
    out->url = l->state != LOGIN_STARTING ? l->url : NULL;
    out->started_ms = l->started_ms;
    if (l->state != LOGIN_STARTING) {
        uint64_t now = uv_now(l->proc.loop);
        out->deadline_ms = clock_wall_ms() + (int64_t)(l->deadline > now ? l->deadline - now : 0);
    }
}
