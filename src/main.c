/* Wiring: config → loop → engine → HTTP server → signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/accounts_json.h"
#include "api/dispatch.h"
#include "api/responses.h"
#include "app.h"
#include "auth/auth.h"
#include "config.h"
#include "engine/engine.h"
#include "http/router.h"
#include "http/server.h"
#include "util/log.h"
#include "web/metrics.h"

extern char **environ;

typedef struct {
    app_t *app;
    uv_signal_t sigint, sigterm;
    uv_timer_t drain_timer;    /* started when the last in-flight exchange finished */
    uv_timer_t deadline_timer; /* drainTimeoutMs: stop waiting */
    int exit_code;
    bool is_stopping;          /* a signal came: draining */
    bool is_closing;           /* the server is being closed; happens once */
    bool is_engine_stopping;   /* the drain deadline ended the turns before the server closes */
    bool is_engine_down;
    bool is_http_closed;
} runtime_t;

/* After the drain deadline ended the turns: how long their last words (an error event, a final chunk)
 * may take to reach the clients before the connections are cut. */
#define DRAIN_GOODBYE_MS 1000

static void usage(FILE *out) {
    fprintf(out,
            "usage: claude-ws-proxy [--config FILE] [--help] [--version]\n"
            "Serves the Anthropic Messages and OpenAI Chat Completions APIs on top of the Claude Code CLI.\n"
            "Settings come from FILE (default ./config.json if present) and the environment; see README.md.\n");
}

/* Login or logout changed the credentials: running CLIs must be replaced to pick them up. */
static void on_credentials_changed(void *arg, const char *why) {
    app_t *app = arg;
    (void)why;
    if (app->engine) engine_recycle_all(app->engine);
}

/* The same for one config-dir account: its CLIs, and its rest ends (it may be logged in again). */
static void on_account_credentials_changed(void *arg, const char *account, const char *why) {
    app_t *app = arg;
    (void)why;
    if (app->engine) engine_recycle_account(app->engine, account);
}

/* /auth/status and the dashboard list the accounts the engine serves with. */
static bool add_accounts_json(void *arg, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    app_t *app = arg;
    return api_add_accounts_json(app->engine, doc, obj);
}

static void on_engine_down(void *arg) {
    runtime_t *rt = arg;
    rt->is_engine_down = true;
    if (rt->is_http_closed) uv_stop(rt->app->loop);
}

static void on_http_closed(void *arg) {
    runtime_t *rt = arg;
    rt->app->http = NULL; /* http_server_close freed it */
    rt->is_http_closed = true;
    if (!rt->is_engine_stopping) {
        rt->is_engine_stopping = true;
        engine_shutdown(rt->app->engine, on_engine_down, rt);
    } else if (rt->is_engine_down) {
        uv_stop(rt->app->loop);
    }
}

static void finish_shutdown(runtime_t *rt) {
    if (rt->is_closing) return;
    rt->is_closing = true;
    uv_timer_stop(&rt->drain_timer);
    uv_timer_stop(&rt->deadline_timer);
    http_server_close(rt->app->http, on_http_closed, rt);
}

static void on_drained(uv_timer_t *t) { finish_shutdown(t->data); }

/* The server says the last in-flight exchange is done; close from the loop, not from inside its bookkeeping. */
static void on_http_idle(void *arg) {
    runtime_t *rt = arg;
    uv_timer_start(&rt->drain_timer, on_drained, 0, 0);
}

static void on_drain_deadline(uv_timer_t *t) {
    runtime_t *rt = t->data;
    if (rt->is_engine_stopping) { /* the goodbyes did not get out in time either */
        finish_shutdown(rt);
        return;
    }
    log_warn("shutdown.drain_timeout", "active=%zu", http_server_active_exchanges(rt->app->http));
    /* End the turns first, so each open stream gets an error event or a final chunk and ends properly;
     * the server closes once they are out (the drain tick), or after DRAIN_GOODBYE_MS at most. */
    rt->is_engine_stopping = true;
    engine_shutdown(rt->app->engine, on_engine_down, rt);
    uv_timer_start(&rt->deadline_timer, on_drain_deadline, DRAIN_GOODBYE_MS, 0);
}

/* First signal: stop accepting and let in-flight responses finish; a second one stops at once. */
static void on_signal(uv_signal_t *s, int signum) {
    runtime_t *rt = s->data;
    if (rt->is_closing) return;
    if (rt->is_stopping) {
        log_warn("shutdown.forced", "signal=%d", signum);
        finish_shutdown(rt);
        return;
    }
    rt->is_stopping = true;
    rt->app->is_draining = true;
    log_info("shutdown.begin", "signal=%d active=%zu", signum, http_server_active_exchanges(rt->app->http));
    http_server_stop_accepting(rt->app->http);
    uv_timer_start(&rt->deadline_timer, on_drain_deadline, (uint64_t)rt->app->cfg->drain_timeout_ms, 0);
    http_server_notify_idle(rt->app->http, on_http_idle, rt);
}

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void on_server_closed_at_start(void *arg) { *(bool *)arg = true; }

/* Free what main set up; safe on a partly built app. */
static void app_teardown(app_t *app) {
    if (app->http) {
        /* Only reached when start-up failed: nothing is in flight. Let the server close its own handles
         * before the walk below closes whatever is left. */
        bool is_closed = false;
        http_server_close(app->http, on_server_closed_at_start, &is_closed);
        app->http = NULL;
        while (!is_closed && uv_run(app->loop, UV_RUN_ONCE) != 0) {}
    }
    uv_walk(app->loop, close_walk, NULL);
    uv_run(app->loop, UV_RUN_DEFAULT);
    if (app->auth) auth_free(app->auth);
    if (app->engine) engine_free(app->engine);
    if (app->router) router_free(app->router);
    responses_store_free(app->responses);
    if (app->metrics) metrics_free(app->metrics);
    uv_loop_close(app->loop);
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
            printf("claude-ws-proxy %s\n", CWP_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "claude-ws-proxy: --config needs a FILE\n");
                return 2;
            }
            config_path = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            config_path = argv[i] + 9;
        } else {
            fprintf(stderr, "claude-ws-proxy: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    config_t cfg;
    char err[512];
    if (config_load(&cfg, config_path, environ, err, sizeof err) != 0) {
        fprintf(stderr, "claude-ws-proxy: %s\n", err);
        return 1;
    }
    if (!strcmp(cfg.log_level, "debug")) log_set_level(LOG_DEBUG);
    else if (!strcmp(cfg.log_level, "warn")) log_set_level(LOG_WARN);
    else if (!strcmp(cfg.log_level, "error")) log_set_level(LOG_ERROR);

    uv_loop_t *loop = uv_default_loop();
    app_t app = {.loop = loop, .cfg = &cfg, .started_ms = uv_now(loop)};
    int exit_code = 1;
    app.metrics = metrics_new();
    app.router = router_new();
    engine_observer_t observer = metrics_engine_observer(app.metrics);
    app.engine = app.metrics ? engine_new(loop, &cfg, &observer) : NULL;
    auth_hooks_t auth_hooks = {.on_credentials_changed = on_credentials_changed,
                               .on_account_credentials_changed = on_account_credentials_changed,
                               .add_accounts_json = add_accounts_json,
                               .arg = &app};
    app.auth = auth_new(loop, &cfg, &auth_hooks);
    app.responses = responses_store_new(RESPONSES_STORE_MAX_COUNT, RESPONSES_STORE_MAX_BYTES);
    if (!app.metrics || !app.router || !app.engine || !app.auth || !app.responses) {
        fprintf(stderr, "claude-ws-proxy: out of memory\n");
        goto done;
    }
    misc_register_routes(&app);
    anthropic_register_routes(&app);
    openai_register_routes(&app);
    responses_register_routes(&app);
    auth_register_routes(&app);
    dashboard_register_routes(&app);

    http_limits_t limits = http_limits_default();
    limits.max_body_bytes = cfg.max_body_bytes;
    limits.max_connections = cfg.max_connections;
    limits.header_timeout_ms = cfg.header_timeout_ms;
    limits.body_timeout_ms = cfg.body_timeout_ms;
    limits.max_connections_per_client = config_connections_per_client(&cfg);
    limits.idle_timeout_ms = cfg.idle_timeout_ms;
    app.http = http_server_new(loop, &limits, app_dispatch, &app);
    if (!app.http) {
        fprintf(stderr, "claude-ws-proxy: out of memory\n");
        goto done;
    }
    http_server_set_observer(app.http, metrics_observe_exchange, app.metrics);
    http_server_set_error_handler(app.http, app_http_error, &app);
    int rc = http_server_listen(app.http, cfg.host, cfg.http_port);
    if (rc != 0) {
        fprintf(stderr, "claude-ws-proxy: cannot listen on %s:%d: %s%s\n", cfg.host, cfg.http_port, uv_strerror(rc),
                rc == UV_EADDRINUSE ? " (another process uses the port: stop it or set httpPort / HTTP_PORT)" : "");
        goto done;
    }
    if (engine_start(app.engine, err, sizeof err) != 0) {
        /* The proxy still serves /health, /auth and the dashboard, which explain what is wrong. */
        log_error("engine.start_failed", "error=\"%s\"", err);
    }
    if (!config_is_loopback_host(cfg.host) && !config_is_key_required(&cfg)) {
        log_warn("security.open_proxy", "host=%s api_key=none", cfg.host);
        fprintf(stderr,
                "\n*** WARNING: listening on %s with no API key: anyone who can reach this port can use your "
                "Claude subscription. Set apiKey + requireApiKey (or AUTH_TOKEN). ***\n\n",
                cfg.host);
    }
    log_info("http.listening", "url=http://%s:%d version=%s mode=%s", cfg.host, cfg.http_port, CWP_VERSION,
             cfg.mode == MODE_AGENT ? "agent" : "api");

    runtime_t rt = {.app = &app};
    uv_timer_init(loop, &rt.drain_timer);
    uv_timer_init(loop, &rt.deadline_timer);
    rt.drain_timer.data = rt.deadline_timer.data = &rt;
    uv_signal_init(loop, &rt.sigint);
    uv_signal_init(loop, &rt.sigterm);
    rt.sigint.data = rt.sigterm.data = &rt;
    uv_signal_start(&rt.sigint, on_signal, SIGINT);
    uv_signal_start(&rt.sigterm, on_signal, SIGTERM);

    uv_run(loop, UV_RUN_DEFAULT);
    exit_code = rt.exit_code;
    log_info("shutdown.done", "exit=%d", exit_code);

done:
    app_teardown(&app);
    config_free(&cfg);
    return exit_code;
}
