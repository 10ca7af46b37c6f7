/*
 * Every request passes here once: route → API key → body type → handler. Whatever is refused on the way
 * is answered in the caller's dialect by api/errors.c.
 */
#include "api/dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/browser_guard.h"
#include "api/dialect.h"
#include "api/errors.h"
#include "app.h"
#include "util/log.h"

/* ---- pure helpers ---- */

api_dialect_t app_dialect_choose(api_dialect_t path_dialect, const char *path, const char *anthropic_version) {
    if (path_dialect != DIALECT_PLAIN || !path || strncmp(path, "/v1/", 4) != 0) return path_dialect;
    return anthropic_version && *anthropic_version ? DIALECT_ANTHROPIC : DIALECT_OPENAI;
}

api_dialect_t app_exchange_dialect(http_exchange_t *ex, api_dialect_t path_dialect) {
    return app_dialect_choose(path_dialect, http_path(ex), http_header(ex, "anthropic-version"));
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool app_bearer_token(const char *authorization, view_t *token) {
    if (!authorization) return false;
    const char *p = authorization;
    while (is_blank(*p)) p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || !is_blank(p[6])) return false;
    p += 6;
    while (is_blank(*p)) p++;
    size_t len = strlen(p);
    while (len > 0 && is_blank(p[len - 1])) len--;
    if (len == 0) return false;
    *token = (view_t){p, len};
    return true;
}

static bool is_view_accepted(const config_t *cfg, view_t v) {
    char *key = strndup(v.ptr, v.len);
    bool ok = key && config_is_key_accepted(cfg, key);
    free(key);
    return ok;
}

bool app_is_request_authorized(const config_t *cfg, const char *x_api_key, const char *authorization) {
    /* Some clients send both headers (an SDK's key plus a gateway's token): either may carry it. */
    if (x_api_key && config_is_key_accepted(cfg, x_api_key)) return true;
    view_t token;
    return app_bearer_token(authorization, &token) && is_view_accepted(cfg, token);
}

bool app_is_json_content_type(const char *content_type) {
    if (!content_type) return true;
    const char *p = content_type;
    while (is_blank(*p)) p++;
    size_t len = strcspn(p, ";");
    while (len > 0 && is_blank(p[len - 1])) len--;
    if (len == 0) return true;
    static const char *const accepted[] = {"application/json", "text/json", "application/x-www-form-urlencoded",
                                           "text/plain"};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        if (len == strlen(accepted[i]) && !strncasecmp(p, accepted[i], len)) return true;
    /* application/vnd.foo+json */
    return len > 17 && !strncasecmp(p, "application/", 12) && !strncasecmp(p + len - 5, "+json", 5);
}

/* ---- dispatch ---- */

static bool has_body(http_exchange_t *ex) { return http_body(ex).len > 0; }

static void refuse_key(http_exchange_t *ex, api_dialect_t d, bool is_missing) {
    log_info("auth.rejected", "request_id=%s path=%s reason=%s", http_request_id(ex), http_path(ex),
             is_missing ? "missing" : "invalid");
    api_error_sendf(ex, d, 401, API_ERR_AUTHENTICATION, NULL, "%s",
                    is_missing ? "an API key is required: send it in the x-api-key header or as Authorization: Bearer <key>"
                               : "invalid API key");
}

/* Refused or allowed cross-origin; false when the exchange was answered here. */
static bool pass_browser_guard(http_exchange_t *ex, const config_t *cfg, const char *method, const char *path) {
    const char *host = http_header(ex, "host"), *origin = http_header(ex, "origin");
    guard_verdict_t g = guard_check(cfg, path, host, origin);
    if (g == GUARD_ALLOW) return true;
    api_dialect_t d = app_exchange_dialect(ex, api_dialect_for_path(path));
    if (g == GUARD_REFUSE_HOST || g == GUARD_REFUSE_ORIGIN) {
        bool is_host = g == GUARD_REFUSE_HOST;
        log_info("http.refused_browser", "request_id=%s path=%s reason=%s", http_request_id(ex), path,
                 is_host ? "host" : "origin");
        if (is_host)
            api_error_sendf(ex, d, 403, API_ERR_PERMISSION, NULL,
                            "requests for host \"%s\" are not served here: list it in allowedHosts", host);
        else
            api_error_sendf(ex, d, 403, API_ERR_PERMISSION, NULL,
                            "cross-origin requests from %s are refused: list the origin in allowedOrigins", origin);
        return false;
    }
    http_set_header(ex, "access-control-allow-origin", origin);
    http_set_header(ex, "vary", "Origin");
    http_set_header(ex, "access-control-expose-headers", "request-id, retry-after");
    if (strcmp(method, "OPTIONS") != 0) return true;
    char headers[256];
    guard_preflight_headers(http_header(ex, "access-control-request-headers"), headers, sizeof headers);
    http_set_header(ex, "access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
    http_set_header(ex, "access-control-allow-headers", headers);
    http_set_header(ex, "access-control-max-age", "600");
    http_respond(ex, 204, NULL, NULL, 0);
    return false;
}

void app_dispatch(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    char canonical[1024];
    if (api_canonical_path(http_path(ex), canonical, sizeof canonical) && http_rewrite_path(ex, canonical) != 0) {
        api_error_sendf(ex, DIALECT_PLAIN, 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    const char *method = http_method(ex), *path = http_path(ex);
    if (!pass_browser_guard(ex, app->cfg, method, path)) return;
    const route_t *route = NULL;
    char allow[128] = "";
    route_match_t m = router_match(app->router, method, path, &route, allow, sizeof allow);
    if (m != ROUTE_FOUND) {
        api_dialect_t d = app_exchange_dialect(ex, api_dialect_for_path(path));
        if (m == ROUTE_METHOD_NOT_ALLOWED) {
            if (allow[0]) http_set_header(ex, "allow", allow);
            api_error_sendf(ex, d, 405, API_ERR_METHOD, NULL, "method %s is not allowed on %s (allowed: %s)", method,
                            path, allow[0] ? allow : "none");
        } else {
            api_error_sendf(ex, d, 404, API_ERR_NOT_FOUND, NULL, "no such endpoint: %s %s", method, path);
        }
        return;
    }
    api_dialect_t d = app_exchange_dialect(ex, route->dialect);

    if (!route->is_public && config_is_key_required(app->cfg)) {
        const char *x_api_key = http_header(ex, "x-api-key"), *authorization = http_header(ex, "authorization");
        if (!app_is_request_authorized(app->cfg, x_api_key, authorization)) {
            refuse_key(ex, d, !x_api_key && !authorization);
            return;
        }
    }
    const char *content_type = http_header(ex, "content-type");
    if (has_body(ex) && !app_is_json_content_type(content_type)) {
        api_error_sendf(ex, d, 415, API_ERR_MEDIA_TYPE, NULL,
                        "unsupported content-type \"%s\": send the body as JSON with content-type: application/json",
                        content_type);
        return;
    }
    route->handler(ex, route->ctx);
}

void app_http_error(http_exchange_t *ex, int status, const char *message, void *ctx) {
    app_t *app = ctx;
    const route_t *route = NULL;
    char allow[128];
    const char *method = http_method(ex) ? http_method(ex) : "GET", *path = http_path(ex) ? http_path(ex) : "/";
    api_dialect_t d = router_match(app->router, method, path, &route, allow, sizeof allow) == ROUTE_FOUND
                          ? (api_dialect_t)route->dialect
                          : api_dialect_for_path(path);
    api_error_t err = {
        .status = status,
        .kind = api_error_kind_for_status(status),
        .message = message,
    };
    api_error_send(ex, app_exchange_dialect(ex, d), &err);
}
