/* Every error a client sees is shaped here, once per dialect. */
#ifndef CWP_API_ERRORS_H
#define CWP_API_ERRORS_H
#include <yyjson.h>

#include "api/dialect.h"
#include "engine/engine.h"
#include "http/router.h"
#include "http/server.h"

typedef enum {
    API_ERR_INVALID_REQUEST, /* 400 */
    API_ERR_AUTHENTICATION,  /* 401 */
    API_ERR_PERMISSION,      /* 403 */
    API_ERR_NOT_FOUND,       /* 404 (routes, models) */
    API_ERR_METHOD,          /* 405 */
    API_ERR_TOO_LARGE,       /* 413 */
    API_ERR_MEDIA_TYPE,      /* 415 */
    API_ERR_RATE_LIMIT,      /* 429 */
    API_ERR_API,             /* 500 and other server-side failures */
    API_ERR_UNAVAILABLE,     /* 503 */
    API_ERR_TIMEOUT,         /* 504 */
    API_ERR_OVERLOADED,      /* 529 */
} api_error_kind_t;

typedef struct {
    int status;
    api_error_kind_t kind;
    const char *message;
    const char *param;       /* the offending field, or NULL (OpenAI "param") */
    const char *code;        /* OpenAI "code" (e.g. "model_not_found"), or NULL */
    int retry_after_s;       /* > 0 adds a retry-after header */
} api_error_t;

/* A 429 the upstream sent without a delay the CLI passes on still gets a retry-after, as the real API's do. */
#define API_RETRY_AFTER_DEFAULT_S 10

/* What the engine reported → what the client is told (the table in errors.c, the one place that decides).
 * out->message borrows err->message (or a static text). */
void api_error_from_engine(const engine_error_t *err, api_error_t *out);

/* The body for err in dialect d, added to doc and returned (for SSE "error" events too). */
yyjson_mut_val *api_error_body(yyjson_mut_doc *doc, api_dialect_t d, const api_error_t *err);
/* Finish ex with err. */
void api_error_send(http_exchange_t *ex, api_dialect_t d, const api_error_t *err);
/* Shorthand for the common case. */
void api_error_sendf(http_exchange_t *ex, api_dialect_t d, int status, api_error_kind_t kind, const char *param,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The status that goes with kind (400, 401, ...). */
int api_error_status(api_error_kind_t kind);
/* The kind for a bare status (errors the HTTP server finds: 400, 408, 413, 431, ...). */
api_error_kind_t api_error_kind_for_status(int status);

#endif
