/*
 * GET /health, GET /v1/models, GET /v1/models/{id}.
 *
 * The models answer is one shape both official SDKs read: Anthropic's (type, display_name, created_at,
 * has_more, first_id, last_id) and OpenAI's (object, created, owned_by) side by side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/accounts_json.h"
#include "api/dispatch.h"
#include "api/errors.h"
#include "app.h"
#include "auth/auth.h"
#include "engine/engine.h"
#include "util/log.h"

#define MODELS_PREFIX "/v1/models/"
#define MODEL_ID_MAX 256

/* ---- /health ---- */

static bool is_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

/* The CLI finds credentials in its environment or its config directory (the CLI's own order). */
static bool has_cli_credentials(const app_t *app) {
    int accounts = api_accounts_authenticated(app->engine);
    if (accounts >= 0) return accounts == 1; /* the proxy's own credentials reach no CLI then */
    if (app->auth) {
        auth_status_t st;
        auth_get_status(app->auth, &st);
        if (st.authenticated) return true;
    }
    if (is_set("CLAUDE_CODE_OAUTH_TOKEN") || is_set("ANTHROPIC_API_KEY")) return true;
    char path[4096];
    if (auth_credentials_path(app->cfg->claude_config_dir, NULL, getenv("HOME"), path, sizeof path) != 0) return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static yyjson_mut_val *str_or_null(yyjson_mut_doc *doc, const char *s) {
    return s ? yyjson_mut_strcpy(doc, s) : yyjson_mut_null(doc);
}

static void send_json(http_exchange_t *ex, yyjson_mut_doc *doc, yyjson_mut_val *root, bool ok) {
    if (!ok || !root) {
        yyjson_mut_doc_free(doc);
        api_error_sendf(ex, DIALECT_PLAIN, 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    yyjson_mut_doc_set_root(doc, root);
    http_respond_json(ex, 200, doc);
    yyjson_mut_doc_free(doc);
}

static void handle_health(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    engine_stats_t stats = {0};
    if (app->engine) engine_get_stats(app->engine, &stats);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL;
    bool ok = root && yyjson_mut_obj_add_str(doc, root, "status", app->is_draining ? "draining" : "ok") &&
              yyjson_mut_obj_add_str(doc, root, "version", CWP_VERSION) &&
              yyjson_mut_obj_add_bool(doc, root, "authenticated", has_cli_credentials(app)) &&
              yyjson_mut_obj_add_int(doc, root, "activeSessions", stats.live) &&
              yyjson_mut_obj_add_val(doc, root, "transport", str_or_null(doc, stats.transport)) &&
              yyjson_mut_obj_add_val(doc, root, "transportReason", str_or_null(doc, stats.transport_reason)) &&
              yyjson_mut_obj_add_val(doc, root, "cliVersion", str_or_null(doc, stats.cli_version)) &&
              yyjson_mut_obj_add_bool(doc, root, "cliFound", stats.is_cli_found) &&
              yyjson_mut_obj_add_uint(doc, root, "uptimeMs", uv_now(app->loop) - app->started_ms) &&
              api_add_accounts_json(app->engine, doc, root);
    send_json(ex, doc, root, ok);
}

/* ---- /v1/models ---- */

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s+len) into out ('+' is a space in queries only); false if it does not fit or
 * decodes to a NUL. */
static bool url_decode(const char *s, size_t len, bool is_query, char *out, size_t out_len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < len && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else if (c == '+' && is_query) {
            c = ' ';
        }
        if (c == '\0' || n + 1 >= out_len) return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

/* The decoded value of name in a query string; false when absent or unreadable. */
static bool query_param(const char *query, const char *name, char *out, size_t out_len) {
    size_t name_len = strlen(name);
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        if (len > name_len && !strncmp(p, name, name_len) && p[name_len] == '=')
            return url_decode(p + name_len + 1, len - name_len - 1, true, out, out_len);
        p += len;
        if (*p == '&') p++;
    }
    return false;
}

static yyjson_mut_val *model_json(yyjson_mut_doc *doc, const model_entry_t *m, const char *id) {
    int64_t created = 0;
    config_parse_time(m->created_at, &created);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    bool ok = o && yyjson_mut_obj_add_str(doc, o, "type", "model") && yyjson_mut_obj_add_strcpy(doc, o, "id", id) &&
              yyjson_mut_obj_add_strcpy(doc, o, "display_name", m->display_name) &&
              yyjson_mut_obj_add_strcpy(doc, o, "created_at", m->created_at) &&
              yyjson_mut_obj_add_str(doc, o, "object", "model") && yyjson_mut_obj_add_int(doc, o, "created", created) &&
              yyjson_mut_obj_add_str(doc, o, "owned_by", "anthropic");
    return ok ? o : NULL;
}

/* What /v1/models lists: config `models`, then the models the CLI's initialize named that config does
 * not (none before a first session initialized). Entries borrow their strings; free the array only. */
typedef struct {
    model_entry_t *items;
    size_t count;
} model_list_t;

/* The CLI gives no release dates. */
#define CLI_MODEL_CREATED_AT "2025-01-01T00:00:00Z"

static long index_of(const model_list_t *list, const char *id) {
    for (size_t i = 0; i < list->count; i++)
        if (!strcmp(list->items[i].id, id)) return (long)i;
    return -1;
}

static int model_list_build(const app_t *app, model_list_t *list) {
    const config_t *cfg = app->cfg;
    const cli_models_t *cli = app->engine ? engine_cli_models(app->engine) : NULL;
    size_t cap = cfg->model_count + (cli ? cli->count : 0);
    list->items = calloc(cap ? cap : 1, sizeof *list->items);
    list->count = 0;
    if (!list->items) return -1;
    for (size_t i = 0; i < cfg->model_count; i++) list->items[list->count++] = cfg->models[i];
    for (size_t i = 0; cli && i < cli->count; i++) {
        if (index_of(list, cli->models[i].id) >= 0) continue;
        list->items[list->count++] = (model_entry_t){.id = (char *)cli->models[i].id,
                                                     .display_name = (char *)cli->models[i].display_name,
                                                     .created_at = (char *)CLI_MODEL_CREATED_AT};
    }
    return 0;
}

/* Anthropic's cursor paging (limit, after_id, before_id). Without limit everything comes in one page:
 * the OpenAI SDK reads one page only. */
static void handle_models_list(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    const char *query = http_query(ex);
    char value[MODEL_ID_MAX];
    model_list_t models;
    if (model_list_build(app, &models) != 0) {
        api_error_sendf(ex, app_exchange_dialect(ex, DIALECT_PLAIN), 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    const model_list_t *cfg = &models; /* the merged list, read as the config's was */
    long count = (long)models.count, limit = count, from = 0, to = count; /* [from, to) */
    bool has_limit = query_param(query, "limit", value, sizeof value);
    if (has_limit) {
        char *end;
        limit = strtol(value, &end, 10);
        if (end == value || *end || limit < 1 || limit > 1000) {
            api_error_sendf(ex, app_exchange_dialect(ex, DIALECT_PLAIN), 400, API_ERR_INVALID_REQUEST, "limit",
                            "limit: must be an integer from 1 to 1000");
            free(models.items);
            return;
        }
    }
    bool is_backward = false;
    if (query_param(query, "after_id", value, sizeof value)) {
        long i = index_of(cfg, value);
        from = i < 0 ? count : i + 1;
    } else if (query_param(query, "before_id", value, sizeof value)) {
        long i = index_of(cfg, value);
        to = i < 0 ? 0 : i;
        is_backward = true;
    }
    bool has_more = to - from > limit;
    if (has_more) {
        if (is_backward) from = to - limit;
        else to = from + limit;
    }

    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL, *data = doc ? yyjson_mut_arr(doc) : NULL;
    bool ok = root && data;
    for (long i = from; ok && i < to; i++) ok = yyjson_mut_arr_append(data, model_json(doc, &cfg->items[i], cfg->items[i].id));
    ok = ok && yyjson_mut_obj_add_str(doc, root, "object", "list") && yyjson_mut_obj_add_val(doc, root, "data", data) &&
         yyjson_mut_obj_add_bool(doc, root, "has_more", has_more) &&
         yyjson_mut_obj_add_val(doc, root, "first_id", str_or_null(doc, from < to ? cfg->items[from].id : NULL)) &&
         yyjson_mut_obj_add_val(doc, root, "last_id", str_or_null(doc, from < to ? cfg->items[to - 1].id : NULL));
    send_json(ex, doc, root, ok);
    free(models.items);
}

static void handle_model_get(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    const config_t *cfg = app->cfg;
    const char *path = http_path(ex);
    char id[MODEL_ID_MAX];
    const char *raw = path + strlen(MODELS_PREFIX);
    bool is_readable = strlen(path) > strlen(MODELS_PREFIX) && url_decode(raw, strlen(raw), false, id, sizeof id);
    model_list_t models;
    if (model_list_build(app, &models) != 0) {
        api_error_sendf(ex, app_exchange_dialect(ex, DIALECT_PLAIN), 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    long i = is_readable ? index_of(&models, id) : -1;
    /* An alias answers as itself when its target is listed, so OpenAI clients that check the name pass. */
    for (size_t a = 0; is_readable && i < 0 && a < cfg->alias_count; a++)
        if (!strcmp(cfg->aliases[a].alias, id)) i = index_of(&models, cfg->aliases[a].target);
    if (i < 0) {
        api_error_t err = {
            .status = 404,
            .kind = API_ERR_NOT_FOUND,
            .message = NULL,
            .param = "model",
            .code = "model_not_found",
        };
        char message[MODEL_ID_MAX + 64];
        snprintf(message, sizeof message, "model '%s' not found", is_readable ? id : raw);
        err.message = message;
        api_error_send(ex, app_exchange_dialect(ex, DIALECT_PLAIN), &err);
        free(models.items);
        return;
    }
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? model_json(doc, &models.items[i], id) : NULL;
    send_json(ex, doc, root, root != NULL);
    free(models.items);
}

void misc_register_routes(app_t *app) {
    const route_t routes[] = {
        {.method = "GET", .pattern = "/health", .handler = handle_health, .ctx = app, .dialect = DIALECT_PLAIN,
         .is_public = true},
        {.method = "GET", .pattern = "/v1/models", .handler = handle_models_list, .ctx = app,
         .dialect = DIALECT_PLAIN},
        {.method = "GET", .pattern = MODELS_PREFIX "*", .handler = handle_model_get, .ctx = app,
         .dialect = DIALECT_PLAIN},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (router_add(app->router, &routes[i]) < 0) log_error("router.add_failed", "path=%s", routes[i].pattern);
}
