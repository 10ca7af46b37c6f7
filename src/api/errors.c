/*
 * Error bodies, one shape per dialect:
 *   Anthropic  {"type":"error","error":{"type","message"},"request_id"}      (docs.claude.com/en/api/errors)
 *   OpenAI     {"error":{"message","type","param","code"}}                    (what api.openai.com sends)
 *   plain      {"error":{"type","message"}}                                    (dashboard, /auth, /health)
 */
#include "api/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int status;
    const char *anthropic_type; /* also used by the plain shape */
    const char *openai_type;
    const char *openai_code;    /* when the caller gave none */
    const char *default_message;
} kind_info_t;

/* OpenAI answers every client error with type invalid_request_error and tells them apart by code. */
static const kind_info_t KINDS[] = {
    [API_ERR_INVALID_REQUEST] = {400, "invalid_request_error", "invalid_request_error", NULL, "invalid request"},
    [API_ERR_AUTHENTICATION] = {401, "authentication_error", "invalid_request_error", "invalid_api_key",
                                "invalid or missing API key"},
    [API_ERR_PERMISSION] = {403, "permission_error", "invalid_request_error", "permission_denied",
                            "permission denied"},
    [API_ERR_NOT_FOUND] = {404, "not_found_error", "invalid_request_error", NULL, "not found"},
    [API_ERR_METHOD] = {405, "invalid_request_error", "invalid_request_error", "method_not_allowed",
                        "method not allowed"},
    [API_ERR_TOO_LARGE] = {413, "request_too_large", "invalid_request_error", "request_too_large",
                           "request body too large"},
    [API_ERR_MEDIA_TYPE] = {415, "invalid_request_error", "invalid_request_error", "unsupported_media_type",
                            "the request body must be JSON (content-type: application/json)"},
    [API_ERR_RATE_LIMIT] = {429, "rate_limit_error", "requests", "rate_limit_exceeded", "rate limit exceeded"},
    [API_ERR_API] = {500, "api_error", "server_error", "server_error", "internal error"},
    [API_ERR_UNAVAILABLE] = {503, "api_error", "server_error", "service_unavailable", "service unavailable"},
    [API_ERR_TIMEOUT] = {504, "timeout_error", "server_error", "timeout", "timed out"},
    [API_ERR_OVERLOADED] = {529, "overloaded_error", "server_error", "overloaded", "overloaded"},
};

/* Engine failures: the client-facing kind (its types per dialect come from KINDS), the status when it is
 * not the kind's own, the OpenAI code when not the kind's, and the words when the engine gave none. */
static const struct {
    api_error_kind_t kind;
    int status;
    const char *openai_code;
    const char *text;
} ENGINE_KINDS[] = {
    [ENGINE_ERR_INVALID_REQUEST] = {API_ERR_INVALID_REQUEST, 0, NULL, "invalid request"},
    [ENGINE_ERR_AUTHENTICATION] = {API_ERR_AUTHENTICATION, 0, NULL, "authentication failed"},
    [ENGINE_ERR_PERMISSION] = {API_ERR_PERMISSION, 0, NULL, "permission denied"},
    [ENGINE_ERR_NOT_FOUND] = {API_ERR_NOT_FOUND, 0, "model_not_found", "model not found"},
    [ENGINE_ERR_RATE_LIMIT] = {API_ERR_RATE_LIMIT, 0, NULL, "rate limited upstream"},
    [ENGINE_ERR_QUEUE_FULL] = {API_ERR_RATE_LIMIT, 0, NULL, "every Claude process is busy and the queue is full; retry later"},
    [ENGINE_ERR_OVERLOADED] = {API_ERR_OVERLOADED, 0, NULL, "upstream is overloaded"},
    [ENGINE_ERR_UPSTREAM] = {API_ERR_API, 0, NULL, "upstream error"},
    [ENGINE_ERR_CLI_FAILED] = {API_ERR_API, 502, NULL, "the Claude CLI failed"},
    [ENGINE_ERR_TIMEOUT] = {API_ERR_TIMEOUT, 0, NULL, "the Claude CLI did not answer in time"},
    [ENGINE_ERR_UNAVAILABLE] = {API_ERR_UNAVAILABLE, 0, NULL, "service unavailable"},
};

static const kind_info_t *kind_info(api_error_kind_t kind) {
    size_t k = (size_t)kind;
    return k < sizeof KINDS / sizeof KINDS[0] && KINDS[k].status ? &KINDS[k] : &KINDS[API_ERR_API];
}

int api_error_status(api_error_kind_t kind) { return kind_info(kind)->status; }

api_error_kind_t api_error_kind_for_status(int status) {
    switch (status) {
    case 401: return API_ERR_AUTHENTICATION;
    case 403: return API_ERR_PERMISSION;
    case 404: return API_ERR_NOT_FOUND;
    case 405: return API_ERR_METHOD;
    case 413: return API_ERR_TOO_LARGE;
    case 415: return API_ERR_MEDIA_TYPE;
    case 429: return API_ERR_RATE_LIMIT;
    case 503: return API_ERR_UNAVAILABLE;
    case 504: return API_ERR_TIMEOUT;
    case 529: return API_ERR_OVERLOADED;
    default: return status >= 400 && status < 500 ? API_ERR_INVALID_REQUEST : API_ERR_API;
    }
}

static yyjson_mut_val *str_or_null(yyjson_mut_doc *doc, const char *s) {
    return s ? yyjson_mut_strcpy(doc, s) : yyjson_mut_null(doc);
}

yyjson_mut_val *api_error_body(yyjson_mut_doc *doc, api_dialect_t d, const api_error_t *err) {
    const kind_info_t *info = kind_info(err->kind);
    const char *message = err->message && *err->message ? err->message : info->default_message;
    yyjson_mut_val *root = yyjson_mut_obj(doc), *inner = yyjson_mut_obj(doc);
    if (!root || !inner) return NULL;
    bool ok = true;
    if (d == DIALECT_OPENAI) {
        ok = yyjson_mut_obj_add_strcpy(doc, inner, "message", message) &&
             yyjson_mut_obj_add_str(doc, inner, "type", info->openai_type) &&
             yyjson_mut_obj_add_val(doc, inner, "param", str_or_null(doc, err->param)) &&
             yyjson_mut_obj_add_val(doc, inner, "code", str_or_null(doc, err->code ? err->code : info->openai_code)) &&
             yyjson_mut_obj_add_val(doc, root, "error", inner);
    } else {
        if (d == DIALECT_ANTHROPIC) ok = yyjson_mut_obj_add_str(doc, root, "type", "error");
        ok = ok && yyjson_mut_obj_add_str(doc, inner, "type", info->anthropic_type) &&
             yyjson_mut_obj_add_strcpy(doc, inner, "message", message) &&
             yyjson_mut_obj_add_val(doc, root, "error", inner);
    }
    return ok ? root : NULL;
}

void api_error_send(http_exchange_t *ex, api_dialect_t d, const api_error_t *err) {
    int status = err->status >= 400 && err->status <= 599 ? err->status : api_error_status(err->kind);
    if (err->retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", err->retry_after_s);
        http_set_header(ex, "retry-after", secs);
    }
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? api_error_body(doc, d, err) : NULL;
    const char *request_id = http_request_id(ex);
    /* Anthropic puts the request id in the body too; its SDKs show it in the error. */
    if (root && d == DIALECT_ANTHROPIC && request_id && !yyjson_mut_obj_add_strcpy(doc, root, "request_id", request_id))
        root = NULL;
    if (!root) {
        yyjson_mut_doc_free(doc);
        static const char fallback[] = "{\"error\":{\"type\":\"api_error\",\"message\":\"out of memory\"}}";
        http_respond(ex, status, "application/json", fallback, sizeof fallback - 1);
        return;
    }
    yyjson_mut_doc_set_root(doc, root);
    http_respond_json(ex, status, doc);
    yyjson_mut_doc_free(doc);
}

void api_error_sendf(http_exchange_t *ex, api_dialect_t d, int status, api_error_kind_t kind, const char *param,
                     const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    api_error_t err = {.status = status, .kind = kind, .message = message, .param = param};
    api_error_send(ex, d, &err);
}

void api_error_from_engine(const engine_error_t *e, api_error_t *out) {
    size_t k = (size_t)e->kind;
    if (k >= sizeof ENGINE_KINDS / sizeof ENGINE_KINDS[0]) k = ENGINE_ERR_UPSTREAM;
    const kind_info_t *info = kind_info(ENGINE_KINDS[k].kind);
    int status = ENGINE_KINDS[k].status ? ENGINE_KINDS[k].status : info->status;
    /* A body upstream found too large stays a 413: the client must shrink it, not fix it. */
    if (e->kind == ENGINE_ERR_INVALID_REQUEST && e->upstream_status == 413) status = 413;
    *out = (api_error_t){
        .status = status,
        .kind = ENGINE_KINDS[k].kind,
        .message = e->message && e->message[0] ? e->message : ENGINE_KINDS[k].text,
        .param = NULL,
        .code = ENGINE_KINDS[k].openai_code ? ENGINE_KINDS[k].openai_code : info->openai_code,
        .retry_after_s = e->retry_after_s > 0 ? e->retry_after_s : 0,
    };
    if (out->status == 429 && out->retry_after_s <= 0) out->retry_after_s = API_RETRY_AFTER_DEFAULT_S;
}
