/*
 * POST /v1/chat/completions: parse → convert to the canonical request (openai_request.c) → one engine
 * turn through turn_bridge → chat.completion.chunk frames or one chat.completion (openai_stream.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/openai.h"
#include "api/turn_bridge.h"
#include "util/log.h"

/* One Chat Completions exchange; freed in on_close. */
typedef struct {
    openai_request_t req;   /* req.model (the echoed name) lives in req.doc */
    openai_stream_t stream;
    buf_t out;              /* the frames one event turns into, written at once */
    char fallback_id[64];
    int64_t created;
} openai_call_t;

static void call_write(openai_call_t *call, turn_bridge_t *tb) {
    if (call->out.len > 0) turn_bridge_write(tb, call->out.data, call->out.len);
    buf_reset(&call->out);
}

static void on_event(void *arg, turn_bridge_t *tb, yyjson_val *event) {
    openai_call_t *call = arg;
    if (!call->req.is_stream) return; /* the finished message carries everything */
    if (openai_stream_event(&call->stream, event, &call->out) < 0)
        log_warn("openai.chunk_failed", "request_id=%s", call->fallback_id);
    call_write(call, tb);
}

static void on_done(void *arg, turn_bridge_t *tb, yyjson_val *message) {
    openai_call_t *call = arg;
    if (call->req.is_stream) {
        if (openai_stream_finish(&call->stream, message, &call->out) < 0)
            log_warn("openai.chunk_failed", "request_id=%s", call->fallback_id);
        call_write(call, tb);
        return;
    }
    char id[96];
    openai_completion_id(yyjson_get_str(yyjson_obj_get(message, "id")), call->fallback_id, id, sizeof id);
    yyjson_mut_doc *doc = openai_completion_build(message, id, call->req.model, call->created, call->req.json_schema != NULL);
    if (!doc) return; /* the bridge answers 500 */
    turn_bridge_respond_json(tb, 200, doc);
    yyjson_mut_doc_free(doc);
}

static void on_stream_error(void *arg, turn_bridge_t *tb, const api_error_t *err) {
    openai_call_t *call = arg;
    openai_stream_fail(&call->stream, err, &call->out);
    call_write(call, tb);
}

static void on_close(void *arg) {
    openai_call_t *call = arg;
    openai_request_free(&call->req);
    buf_free(&call->out);
    free(call);
}

static const turn_bridge_handlers_t handlers = {
    .on_event = on_event,
    .on_done = on_done,
    .on_stream_error = on_stream_error,
    .on_close = on_close,
};

static void handle_chat_completions(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    yyjson_doc *body = api_parse_body(ex, DIALECT_OPENAI);
    if (!body) return;
    openai_call_t *call = calloc(1, sizeof *call);
    if (!call) {
        yyjson_doc_free(body);
        api_error_sendf(ex, DIALECT_OPENAI, 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    buf_init(&call->out, 0);
    api_problem_t why;
    int rc = openai_request_convert(app->cfg, yyjson_doc_get_root(body), &call->req, &why);
    yyjson_doc_free(body);
    if (rc < 0) {
        api_problem_send(ex, DIALECT_OPENAI, &why);
        on_close(call);
        return;
    }
    snprintf(call->fallback_id, sizeof call->fallback_id, "%s", http_request_id(ex) ? http_request_id(ex) : "0");
    call->created = (int64_t)time(NULL);
    bool is_json_mode = call->req.json_schema != NULL;
    openai_stream_init(&call->stream, call->fallback_id, call->req.model, call->created, call->req.include_usage,
                       is_json_mode);

    /* The engine takes an immutable document; it copies what it keeps, so this one dies after the call. */
    yyjson_doc *canonical = yyjson_mut_doc_imut_copy(call->req.doc, NULL);
    if (!canonical) {
        api_error_sendf(ex, DIALECT_OPENAI, 500, API_ERR_API, NULL, "out of memory");
        on_close(call);
        return;
    }
    yyjson_val *root = yyjson_doc_get_root(canonical);
    turn_request_t req = {
        .body = root,
        .json_schema = call->req.json_schema,
        .effort = call->req.effort,
        /* JSON mode sends held-back prose from the finished message (openai_stream_finish). */
        .is_streamed = call->req.is_stream && !is_json_mode,
    };
    turn_bridge_options_t opt = {
        .dialect = DIALECT_OPENAI,
        .is_stream = call->req.is_stream,
        .heartbeat_ms = app->cfg->ping_interval_ms,
        .model = yyjson_get_str(yyjson_obj_get(root, "model")),
    };
    turn_bridge_run(app, ex, &req, &opt, &handlers, call); /* on failure it answered and freed call */
    yyjson_doc_free(canonical);
}

void openai_register_routes(app_t *app) {
    route_t route = {
        .method = "POST",
        .pattern = "/v1/chat/completions",
        .handler = handle_chat_completions,
        .ctx = app,
        .dialect = DIALECT_OPENAI,
    };
    router_add(app->router, &route);
}
