/* The HTTP server's single entry: route, check the API key, hand to the handler, or answer the error. */
#ifndef CWP_API_DISPATCH_H
#define CWP_API_DISPATCH_H
#include <stdbool.h>

#include "config.h"
#include "api/dialect.h"
#include "http/router.h"
#include "http/server.h"
#include "util/buf.h"

/* An http_handler_fn; ctx is the app_t. */
void app_dispatch(http_exchange_t *ex, void *app);
/* An http_error_fn: errors the server found (413, ...) in the path's dialect. */
void app_http_error(http_exchange_t *ex, int status, const char *message, void *app);

/* ---- the pieces of dispatch, pure so they can be tested without a loop ---- */

/* The dialect an exchange's errors speak. Paths both APIs share (/v1/models, unknown /v1/ paths) answer
 * in Anthropic's shape when the caller sent anthropic-version (the Anthropic SDKs always do), else in
 * OpenAI's; every other path keeps path_dialect. */
api_dialect_t app_dialect_choose(api_dialect_t path_dialect, const char *path, const char *anthropic_version);
api_dialect_t app_exchange_dialect(http_exchange_t *ex, api_dialect_t path_dialect);

/* The token of an "Authorization: Bearer <token>" value (scheme case-insensitive, blanks trimmed). */
bool app_bearer_token(const char *authorization, view_t *token);
/* The request's key (x-api-key, or a Bearer token) is one the settings accept. */
bool app_is_request_authorized(const config_t *cfg, const char *x_api_key, const char *authorization);
/* A request body with this content type is read as JSON: absent, application/json, application/<anything>+json,
 * text/json, and the defaults of curl -d (application/x-www-form-urlencoded) and fetch with a string body
 * (text/plain), whose bodies are JSON in practice. Anything else (multipart, XML, octet-stream) is a 415. */
bool app_is_json_content_type(const char *content_type);

#endif
