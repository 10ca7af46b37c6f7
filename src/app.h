/* What request handlers share: the loop, the settings and the long-lived services. No globals. */
#ifndef CWP_APP_H
#define CWP_APP_H
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "engine/engine.h"
#include "http/router.h"
#include "http/server.h"
#include "web/metrics.h"

#define CWP_VERSION "0.1.0"

typedef struct auth_s auth_t;
typedef struct responses_store_s responses_store_t;

typedef struct app_s {
    uv_loop_t *loop;
    config_t *cfg;
    router_t *router;
    http_server_t *http;
    engine_t *engine;
    metrics_t *metrics;
    auth_t *auth;
    responses_store_t *responses; /* kept /v1/responses answers (previous_response_id) */
    uint64_t started_ms;
    bool is_draining;
} app_t;

/* Route registration, one per module (called from main). */
void misc_register_routes(app_t *app);      /* /health, /v1/models */
void anthropic_register_routes(app_t *app); /* /v1/messages, /v1/messages/count_tokens */
void openai_register_routes(app_t *app);    /* /v1/chat/completions */
void responses_register_routes(app_t *app); /* /v1/responses, /v1/responses/{id} */
void auth_register_routes(app_t *app);      /* /auth/status, /auth/login, /auth/code, /auth/logout */
void dashboard_register_routes(app_t *app); /* /, /metrics, /api/dashboard */

#endif
