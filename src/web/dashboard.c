/* GET / (the page compiled into the binary), GET /api/dashboard (what it shows), GET /metrics. */
#include <string.h>
#include <yyjson.h>

#include "api/errors.h"
#include "app.h"
#include "auth/auth.h"
#include "web/metrics.h"

extern const unsigned char dashboard_page[];
extern const size_t dashboard_page_len;

/* Everything the page needs is inline; it talks only to this origin. */
#define DASHBOARD_CSP                                                                                     \
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "          \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

#define PROMETHEUS_BODY_LIMIT (4 * 1024 * 1024)

static void handle_page(http_exchange_t *ex, void *ctx) {
    (void)ctx;
    http_set_header(ex, "cache-control", "no-cache");
    http_set_header(ex, "content-security-policy", DASHBOARD_CSP);
    http_set_header(ex, "x-content-type-options", "nosniff");
    http_set_header(ex, "referrer-policy", "no-referrer");
    http_respond(ex, 200, "text/html; charset=utf-8", dashboard_page, dashboard_page_len);
}

static void add_session(const engine_session_info_t *s, void *arg) {
    yyjson_mut_doc *doc = ((void **)arg)[0];
    yyjson_mut_val *arr = ((void **)arg)[1];
    yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);
    yyjson_mut_obj_add_strcpy(doc, o, "id", s->id ? s->id : "");
    if (s->model) yyjson_mut_obj_add_strcpy(doc, o, "model", s->model);
    else yyjson_mut_obj_add_null(doc, o, "model");
    yyjson_mut_obj_add_strcpy(doc, o, "state", s->state ? s->state : "unknown");
    yyjson_mut_obj_add_real(doc, o, "ageMs", s->age_ms);
    yyjson_mut_obj_add_int(doc, o, "turns", s->turns);
    yyjson_mut_obj_add_int(doc, o, "inputTokens", s->input_tokens);
    yyjson_mut_obj_add_int(doc, o, "outputTokens", s->output_tokens);
    yyjson_mut_obj_add_real(doc, o, "costUsd", s->cost_usd);
    if (s->client) yyjson_mut_obj_add_strcpy(doc, o, "client", s->client);
    else yyjson_mut_obj_add_null(doc, o, "client");
}

static void add_engine(app_t *app, yyjson_mut_doc *doc, yyjson_mut_val *root) {
    engine_stats_t st;
    engine_get_stats(app->engine, &st);
    yyjson_mut_val *cli = yyjson_mut_obj_add_obj(doc, root, "cli");
    yyjson_mut_obj_add_strcpy(doc, cli, "path", app->cfg->claude_path ? app->cfg->claude_path : "claude");
    yyjson_mut_obj_add_bool(doc, cli, "found", st.is_cli_found);
    if (st.cli_version) yyjson_mut_obj_add_strcpy(doc, cli, "version", st.cli_version);
    else yyjson_mut_obj_add_null(doc, cli, "version");
    yyjson_mut_obj_add_strcpy(doc, cli, "transport", st.transport ? st.transport : "stdio");
    yyjson_mut_obj_add_strcpy(doc, cli, "transportReason", st.transport_reason ? st.transport_reason : "");

    yyjson_mut_val *pool = yyjson_mut_obj_add_obj(doc, root, "pool");
    yyjson_mut_obj_add_int(doc, pool, "live", st.live);
    yyjson_mut_obj_add_int(doc, pool, "warm", st.warm);
    yyjson_mut_obj_add_int(doc, pool, "busy", st.busy);
    yyjson_mut_obj_add_int(doc, pool, "waiting", st.waiting);
    yyjson_mut_obj_add_int(doc, pool, "idle", st.idle);
    yyjson_mut_obj_add_int(doc, pool, "queued", st.queued);
    yyjson_mut_obj_add_int(doc, pool, "maxSessions", app->cfg->max_sessions);
    yyjson_mut_obj_add_int(doc, pool, "maxQueue", app->cfg->max_queue);

    yyjson_mut_val *sessions = yyjson_mut_obj_add_arr(doc, root, "sessions");
    void *arg[2] = {doc, sessions};
    engine_foreach_session(app->engine, add_session, arg);
}

static void handle_dashboard_api(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    int64_t now = metrics_now_ms();
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_obj_add_str(doc, root, "version", CWP_VERSION);
    yyjson_mut_obj_add_int(doc, root, "now", now);
    yyjson_mut_obj_add_uint(doc, root, "uptimeMs", uv_now(app->loop) - app->started_ms);
    yyjson_mut_obj_add_str(doc, root, "mode", app->cfg->mode == MODE_AGENT ? "agent" : "api");
    yyjson_mut_obj_add_bool(doc, root, "draining", app->is_draining);
    yyjson_mut_val *auth = yyjson_mut_obj_add_obj(doc, root, "auth");
    if (app->auth) auth_add_status_json(app->auth, doc, auth);
    add_engine(app, doc, root);
    metrics_add_dashboard_json(app->metrics, doc, root, now);
    http_set_header(ex, "cache-control", "no-store");
    http_respond_json(ex, 200, doc);
    yyjson_mut_doc_free(doc);
}

typedef struct {
    engine_account_info_t items[CONFIG_ACCOUNTS_MAX];
    size_t count;
} account_list_t;

static void collect_account(const engine_account_info_t *info, void *arg) {
    account_list_t *list = arg;
    if (list->count < CONFIG_ACCOUNTS_MAX) list->items[list->count++] = *info;
}

static void handle_metrics(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    engine_stats_t st;
    engine_get_stats(app->engine, &st);
    account_list_t accounts = {0};
    engine_foreach_account(app->engine, false, collect_account, &accounts);
    buf_t out;
    buf_init(&out, PROMETHEUS_BODY_LIMIT);
    if (metrics_render_prometheus(app->metrics, &st, &out) != 0 ||
        metrics_render_accounts(accounts.items, accounts.count, &out) != 0) {
        buf_free(&out);
        api_error_t err = {.status = 500, .kind = API_ERR_API, .message = "metrics do not fit the response limit"};
        api_error_send(ex, DIALECT_PLAIN, &err);
        return;
    }
    http_set_header(ex, "cache-control", "no-store");
    http_respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", out.data ? out.data : "", out.len);
    buf_free(&out);
}

void dashboard_register_routes(app_t *app) {
    const route_t routes[] = {
        /* The page holds no data; it asks for the API key itself when the proxy requires one. */
        {.method = "GET", .pattern = "/", .handler = handle_page, .is_public = true},
        {.method = "GET", .pattern = "/api/dashboard", .handler = handle_dashboard_api},
        {.method = "GET", .pattern = "/metrics", .handler = handle_metrics},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        route_t r = routes[i];
        r.ctx = app;
        r.dialect = DIALECT_PLAIN;
        router_add(app->router, &r);
    }
}
