/* The engine: the turn API (engine.h) over the pool of CLI processes. */
#include "engine/engine.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/accounts.h"
#include "engine/cli.h"
#include "engine/pool.h"
#include "engine/request.h"
#include "engine/session.h"
#include "transport/stdio.h"
#include "transport/websocket.h"
#include "util/fs.h"
#include "util/log.h"

extern char **environ;

struct engine_s {
    uv_loop_t *loop;
    const config_t *cfg;
    engine_observer_t observer;
    cli_info_t cli;
    char **base_env;
    char *state_dir, *sessions_dir, *config_dir;
    ws_server_t *ws;
    accounts_t *accounts;
    pool_t *pool;
    bool is_started, is_shutting_down;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    char last_error[512]; /* engine_start_turn's immediate error text (read by the caller at once) */
    cli_models_t cli_models; /* what the CLI's initialize answers listed */
};

struct turn_s {
    engine_t *eng;
    engine_request_t req;
    turn_callbacks_t cb;
    void *arg;
    pool_job_t job;
    bool is_in_callback, is_cancelled;
    bool has_emitted; /* an event went to the adapter: the client may have seen it, no failover now */
    /* A rate-limit report that came before any event, held back while the turn may still fail over: it
     * describes the account that answered it, which need not be the one that serves the client. */
    yyjson_doc *held_rate_limit;
};

/* ---- turns ---- */

static void turn_free(turn_t *t) {
    engine_request_free(&t->req);
    yyjson_doc_free(t->held_rate_limit);
    free(t);
}

static yyjson_doc *copy_val(yyjson_val *v) {
    yyjson_mut_doc *m = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *copy = m ? yyjson_val_mut_copy(m, v) : NULL;
    if (copy) yyjson_mut_doc_set_root(m, copy);
    yyjson_doc *d = copy ? yyjson_mut_doc_imut_copy(m, NULL) : NULL;
    yyjson_mut_doc_free(m);
    return d;
}

/* Hand the held rate-limit report to the adapter. Returns false when the adapter cancelled (t is freed). */
static bool turn_release_rate_limit(turn_t *t) {
    yyjson_doc *held = t->held_rate_limit;
    if (!held) return true;
    t->held_rate_limit = NULL;
    t->is_in_callback = true;
    t->cb.on_rate_limit(t->arg, yyjson_doc_get_root(held));
    t->is_in_callback = false;
    yyjson_doc_free(held);
    if (!t->is_cancelled) return true;
    turn_free(t);
    return false;
}

/* A callback into the adapter. The adapter may call turn_cancel from inside: that is only noted, and
 * acted on here once it returns. Returns false when the turn was cancelled (and freed). */
static bool turn_on_event(void *arg, yyjson_val *event) {
    turn_t *t = arg;
    if (!turn_release_rate_limit(t)) return false;
    t->has_emitted = true;
    t->is_in_callback = true;
    t->cb.on_event(t->arg, event);
    t->is_in_callback = false;
    if (!t->is_cancelled) return true;
    turn_free(t);
    return false;
}

static bool turn_on_rate_limit(void *arg, yyjson_val *info) {
    turn_t *t = arg;
    if (t->job.account &&
        account_note_rate_limit(t->job.account, info, t->eng->cfg->allow_extra_usage, accounts_now_ms()))
        pool_account_limited(t->eng->pool, t->job.account);
    if (!t->cb.on_rate_limit) return true;
    if (!t->has_emitted && accounts_count(t->eng->accounts) > 1) {
        yyjson_doc_free(t->held_rate_limit);
        t->held_rate_limit = copy_val(info); /* lost when out of memory: only headers are missing then */
        return true;
    }
    t->is_in_callback = true;
    t->cb.on_rate_limit(t->arg, info);
    t->is_in_callback = false;
    if (!t->is_cancelled) return true;
    turn_free(t);
    return false;
}

static void turn_on_done(void *arg, yyjson_val *message) {
    turn_t *t = arg;
    if (t->job.account) account_mark_ok(t->job.account);
    if (!turn_release_rate_limit(t)) return;
    t->is_in_callback = true;
    t->cb.on_done(t->arg, message);
    turn_free(t);
}

/* The session failed before the CLI saw the turn (a WebSocket CLI that never connected): place it again. */
static void turn_on_bounced(void *arg) {
    turn_t *t = arg;
    pool_requeue(t->eng->pool, &t->job);
}

static const char *limit_reason(engine_error_kind_t kind) {
    switch (kind) {
    case ENGINE_ERR_RATE_LIMIT: return "rate_limit";
    case ENGINE_ERR_OVERLOADED: return "overloaded";
    case ENGINE_ERR_AUTHENTICATION: return "authentication";
    default: return NULL;
    }
}

/* A rate limit, an overload or refused credentials on a configured account rest that account; when
 * nothing reached the client yet and another account can serve, the same request runs there. */
static bool turn_fails_over(turn_t *t, const engine_error_t *err) {
    engine_t *eng = t->eng;
    account_t *failed = t->job.account;
    const char *reason = limit_reason(err->kind);
    if (!failed || !reason || !accounts_are_configured(eng->accounts)) return false;
    int64_t now = accounts_now_ms();
    /* A 429 whose retry-after the CLI honoured says how long; else the back-off. */
    account_mark_limited(failed, err->retry_after_s > 0 ? now + (int64_t)err->retry_after_s * 1000 : 0, reason, now);
    pool_account_limited(eng->pool, failed);
    size_t i = account_index(failed);
    uint32_t tried = t->job.tried_accounts | (i < 32 ? 1u << i : 0);
    if (t->has_emitted || !accounts_choose(eng->accounts, t->job.conversation_key, tried, now)) return false;
    t->job.tried_accounts = tried;
    account_count_failover(failed);
    log_warn("account.failover", "request_id=%s account=%s status=%d reason=%s", t->req.request_id,
             account_name(failed), err->upstream_status, reason);
    t->job.account = NULL;
    yyjson_doc_free(t->held_rate_limit); /* the failed account's */
    t->held_rate_limit = NULL;
    pool_requeue(eng->pool, &t->job);
    return true;
}

static void turn_on_error(void *arg, const engine_error_t *err) {
    turn_t *t = arg;
    if (turn_fails_over(t, err)) return;
    engine_error_t limited;
    accounts_t *as = t->eng->accounts;
    if (!t->has_emitted && limit_reason(err->kind) && accounts_count(as) > 1) {
        /* Every account failed or rests: the client may retry when the first rest ends. */
        pool_all_limited_error(t->eng->pool, &t->job, &limited);
        err = &limited;
    } else if (err->kind == ENGINE_ERR_RATE_LIMIT && accounts_are_configured(as) && err->retry_after_s <= 0) {
        int64_t now = accounts_now_ms(), next = accounts_next_available_ms(as, now);
        limited = *err;
        if (next > now) limited.retry_after_s = (int)((next - now + 999) / 1000);
        err = &limited;
    }
    if (!turn_release_rate_limit(t)) return;
    t->is_in_callback = true;
    t->cb.on_error(t->arg, err);
    turn_free(t);
}

turn_t *engine_start_turn(engine_t *eng, const turn_request_t *req, const turn_callbacks_t *cb, void *arg,
                          engine_error_t *err) {
    if (!eng->is_started || eng->is_shutting_down) {
        *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = eng->is_shutting_down ? "the proxy is shutting down" : "the engine is not started"};
        return NULL;
    }
    if (!eng->cli.is_found) {
        snprintf(eng->last_error, sizeof eng->last_error, "the Claude Code CLI was not found at '%s'",
                 eng->cfg->claude_path);
        *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = eng->last_error};
        return NULL;
    }
    turn_t *t = calloc(1, sizeof *t);
    if (!t) {
        *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = "out of memory"};
        return NULL;
    }
    const char *mode = eng->cfg->mode == MODE_AGENT ? "agent" : "api";
    if (engine_request_init(&t->req, req, mode, eng->last_error, sizeof eng->last_error) != 0) {
        free(t);
        *err = (engine_error_t){.kind = ENGINE_ERR_INVALID_REQUEST, .message = eng->last_error};
        return NULL;
    }
    t->eng = eng;
    t->cb = *cb;
    t->arg = arg;
    t->job = (pool_job_t){
        .req = &t->req,
        .conversation_key = accounts_conversation_key(t->req.system, t->req.messages),
        .sink = {.on_event = turn_on_event, .on_rate_limit = turn_on_rate_limit, .on_done = turn_on_done,
                 .on_error = turn_on_error, .on_bounced = turn_on_bounced},
        .sink_arg = t,
    };
    if (pool_submit(eng->pool, &t->job, err) != 0) {
        if (err->message) {
            snprintf(eng->last_error, sizeof eng->last_error, "%s", err->message);
            err->message = eng->last_error;
        }
        turn_free(t);
        return NULL;
    }
    return t;
}

void turn_cancel(turn_t *t) {
    if (!t || t->is_cancelled) return;
    if (t->is_in_callback) {
        t->is_cancelled = true;
        return;
    }
    pool_cancel(t->eng->pool, &t->job);
    turn_free(t);
}

void turn_set_paused(turn_t *t, bool paused) {
    if (t && !t->is_cancelled && t->job.session) session_set_paused(t->job.session, paused);
}

const char *engine_error_kind_name(engine_error_kind_t kind) {
    static const char *const names[] = {
        [ENGINE_ERR_INVALID_REQUEST] = "invalid_request", [ENGINE_ERR_AUTHENTICATION] = "authentication",
        [ENGINE_ERR_PERMISSION] = "permission",           [ENGINE_ERR_NOT_FOUND] = "not_found",
        [ENGINE_ERR_RATE_LIMIT] = "rate_limit",           [ENGINE_ERR_QUEUE_FULL] = "queue_full",
        [ENGINE_ERR_OVERLOADED] = "overloaded",           [ENGINE_ERR_UPSTREAM] = "upstream",
        [ENGINE_ERR_CLI_FAILED] = "cli_failed",           [ENGINE_ERR_TIMEOUT] = "timeout",
        [ENGINE_ERR_UNAVAILABLE] = "unavailable",
    };
    return (unsigned)kind < sizeof names / sizeof names[0] && names[kind] ? names[kind] : "?";
}

/* ---- the engine ---- */

engine_t *engine_new(uv_loop_t *loop, const config_t *cfg, const engine_observer_t *observer) {
    engine_t *eng = calloc(1, sizeof *eng);
    if (!eng) return NULL;
    eng->loop = loop;
    eng->cfg = cfg;
    if (observer) eng->observer = *observer;
    eng->base_env = cli_base_env(environ);
    if (!eng->base_env) {
        free(eng);
        return NULL;
    }
    return eng;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Session directories left by a previous run that did not end in order (16 hex characters each). */
static void remove_stale_sessions(const char *sessions_dir) {
    DIR *d = opendir(sessions_dir);
    if (!d) return;
    struct dirent *e;
    int removed = 0;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 16 || strspn(e->d_name, "0123456789abcdef") != 16) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", sessions_dir, e->d_name);
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        removed++;
    }
    closedir(d);
    if (removed) log_info("engine.stale_sessions_removed", "count=%d dir=%s", removed, sessions_dir);
}

static char *dup_printf(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s", a, b);
    return p;
}

static int engine_dirs(engine_t *eng, char *err, size_t err_len) {
    const char *home = getenv("HOME");
    if (eng->cfg->state_dir && *eng->cfg->state_dir) eng->state_dir = strdup(eng->cfg->state_dir);
    else if (home && *home) eng->state_dir = dup_printf(home, "/.claude-ws-proxy");
    else eng->state_dir = strdup("/tmp/claude-ws-proxy");
    if (eng->cfg->claude_config_dir && *eng->cfg->claude_config_dir) eng->config_dir = strdup(eng->cfg->claude_config_dir);
    else if (home && *home) eng->config_dir = dup_printf(home, "/.claude");
    eng->sessions_dir = eng->state_dir ? dup_printf(eng->state_dir, "/sessions") : NULL;
    if (!eng->state_dir || !eng->sessions_dir) return snprintf(err, err_len, "out of memory"), -1;
    int rc = fs_mkdir_p(eng->sessions_dir);
    if (rc) return snprintf(err, err_len, "cannot create %s: %s", eng->sessions_dir, strerror(-rc)), -1;
    remove_stale_sessions(eng->sessions_dir);
    return 0;
}

/* THE place the WebSocket transport plugs in: a loopback server the children connect to. */
static void engine_open_websocket(engine_t *eng) {
    if (eng->cli.transport != TRANSPORT_WEBSOCKET) return;
    eng->ws = ws_server_new(eng->loop, NULL);
    int rc = eng->ws ? ws_server_listen(eng->ws, "127.0.0.1", eng->cfg->ws_port) : UV_ENOMEM;
    if (rc == 0) return;
    log_error("engine.websocket_unavailable", "port=%d error=%s fallback=stdio", eng->cfg->ws_port, uv_strerror(rc));
    if (eng->ws) ws_server_close(eng->ws, NULL, NULL);
    eng->ws = NULL;
    eng->cli.transport = TRANSPORT_STDIO;
    snprintf(eng->cli.transport_reason, sizeof eng->cli.transport_reason, "websocket port %d unavailable (%s): stdio",
             eng->cfg->ws_port, uv_strerror(rc));
}

/* A CLI given --sdk-url never connected: this CLI version gets stdio from now on. */
static void engine_on_ws_unreachable(void *arg, session_t *s, const char *why) {
    engine_t *eng = arg;
    pool_use_stdio(eng->pool, s);
    if (eng->cli.transport != TRANSPORT_WEBSOCKET) return;
    eng->cli.transport = TRANSPORT_STDIO;
    char was[sizeof eng->cli.transport_reason];
    snprintf(was, sizeof was, "%s", eng->cli.transport_reason);
    snprintf(eng->cli.transport_reason, sizeof eng->cli.transport_reason, "%.200s; fell back to stdio: %.160s", was, why);
    log_warn("engine.transport_fallback", "transport=stdio cli_version=%s reason=\"%s\"",
             eng->cli.is_found ? eng->cli.version : "-", why);
}

static void engine_on_cli_models(void *arg, yyjson_val *models) {
    engine_t *eng = arg;
    size_t added = models ? cli_models_take(&eng->cli_models, models) : 0;
    if (added) log_info("engine.cli_models", "added=%zu known=%zu", added, eng->cli_models.count);
}

const cli_models_t *engine_cli_models(const engine_t *eng) { return &eng->cli_models; }

int engine_start(engine_t *eng, char *err, size_t err_len) {
    if (eng->is_started) return 0;
    char probe_err[256] = "";
    int probe = cli_probe(eng->cfg->claude_path, eng->cfg->transport, &eng->cli, probe_err, sizeof probe_err);
    if (engine_dirs(eng, err, err_len) != 0) return -1;
    engine_open_websocket(eng);
    log_info("engine.transport", "transport=%s cli_version=%s reason=\"%s\"",
             eng->cli.transport == TRANSPORT_WEBSOCKET ? "websocket" : "stdio",
             eng->cli.is_found ? eng->cli.version : "-", eng->cli.transport_reason);
    session_env_t env = {
        .loop = eng->loop,
        .cfg = eng->cfg,
        .cli = &eng->cli,
        .base_env = eng->base_env,
        .transport = eng->ws ? ws_server_maker(eng->ws) : stdio_transport_maker(eng->loop),
        .observer = eng->observer,
        .config_dir = eng->config_dir,
        .sessions_dir = eng->sessions_dir,
        .on_ws_unreachable = engine_on_ws_unreachable,
        .ws_arg = eng,
        .on_cli_models = engine_on_cli_models,
        .models_arg = eng,
    };
    eng->accounts = accounts_new(eng->cfg, eng->config_dir);
    if (!eng->accounts) return snprintf(err, err_len, "out of memory"), -1;
    eng->pool = pool_new(&env, eng->accounts);
    if (!eng->pool) return snprintf(err, err_len, "out of memory"), -1;
    eng->is_started = true;
    if (probe != 0) {
        /* The proxy still serves /health, /auth and the dashboard, which say what is wrong. */
        snprintf(err, err_len, "%s", probe_err);
        return -1;
    }
    pool_start(eng->pool);
    return 0;
}

static void engine_on_ws_closed(void *arg) {
    engine_t *eng = arg;
    eng->ws = NULL;
    if (eng->shutdown_done) eng->shutdown_done(eng->shutdown_arg);
}

static void engine_on_pool_down(void *arg) {
    engine_t *eng = arg;
    if (eng->ws) {
        ws_server_close(eng->ws, engine_on_ws_closed, eng);
        return;
    }
    if (eng->shutdown_done) eng->shutdown_done(eng->shutdown_arg);
}

void engine_shutdown(engine_t *eng, void (*done)(void *arg), void *arg) {
    eng->is_shutting_down = true;
    eng->shutdown_done = done;
    eng->shutdown_arg = arg;
    if (!eng->pool) {
        engine_on_pool_down(eng);
        return;
    }
    pool_shutdown(eng->pool, engine_on_pool_down, eng);
}

void engine_free(engine_t *eng) {
    if (!eng) return;
    pool_free(eng->pool);
    accounts_free(eng->accounts);
    cli_strv_free(eng->base_env);
    free(eng->state_dir);
    free(eng->sessions_dir);
    free(eng->config_dir);
    free(eng);
}

void engine_get_stats(engine_t *eng, engine_stats_t *out) {
    *out = (engine_stats_t){0};
    if (eng->pool) pool_get_stats(eng->pool, out);
    out->cli_version = eng->cli.is_found ? eng->cli.version : NULL;
    out->transport = eng->cli.transport == TRANSPORT_WEBSOCKET ? "websocket" : "stdio";
    out->transport_reason = eng->cli.transport_reason[0] ? eng->cli.transport_reason : "not started";
    out->is_cli_found = eng->cli.is_found;
}

void engine_foreach_session(engine_t *eng, void (*fn)(const engine_session_info_t *info, void *arg), void *arg) {
    if (eng->pool) pool_foreach(eng->pool, fn, arg);
}

void engine_recycle_all(engine_t *eng) {
    if (eng->pool && !eng->is_shutting_down) pool_recycle_all(eng->pool);
}

void engine_foreach_account(engine_t *eng, bool include_implicit, void (*fn)(const engine_account_info_t *info, void *arg),
                            void *arg) {
    if (!eng->accounts || (!include_implicit && !accounts_are_configured(eng->accounts))) return;
    int64_t now = accounts_now_ms();
    for (size_t i = 0; i < accounts_count(eng->accounts); i++) {
        account_t *a = accounts_get(eng->accounts, i);
        engine_account_info_t info;
        account_info(a, now, &info);
        if (eng->pool) info.live_sessions = pool_account_sessions(eng->pool, a);
        fn(&info, arg);
    }
}

int engine_recycle_account(engine_t *eng, const char *name) {
    account_t *a = eng->accounts ? accounts_find(eng->accounts, name) : NULL;
    if (!a) return -1;
    account_mark_available(a);
    if (eng->pool && !eng->is_shutting_down) pool_recycle_account(eng->pool, a);
    return 0;
}
