/*
 * POST /v1/messages and POST /v1/messages/count_tokens: the Anthropic Messages API on top of the
 * engine's turn API (through turn_bridge). Validation lives in anthropic_request.c, framing in
 * anthropic_stream.c, the token estimate in anthropic_tokens.c.
 *
 * Streaming starts on the engine's first event, not on the request: a failure before it (bad
 * credentials, unknown model, rate limit) is still a real HTTP status the SDKs turn into the right
 * exception. From then on, failures become an SSE "error" event, as the real API sends them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/anthropic.h"
#include "api/turn_bridge.h"
#include "app.h"
#include "util/log.h"

/* Bounds one exchange's framing scratch: a frame is one event, and a single event (a big tool input or
 * text delta) never nears this. */
#define ANTHROPIC_FRAME_LIMIT (64u * 1024 * 1024)

typedef struct {
    anthropic_stream_t stream;
    buf_t frames;
    char model[128];
    char fallback_id[96];
    bool is_stream;
} messages_ctx_t;

/* ---- turn handlers ---- */

static void write_frames(turn_bridge_t *tb, messages_ctx_t *c) {
    if (c->frames.len) turn_bridge_write(tb, c->frames.data, c->frames.len);
    buf_reset(&c->frames);
}

static void on_event(void *arg, turn_bridge_t *tb, yyjson_val *event) {
    messages_ctx_t *c = arg;
    if (!c->is_stream) return; /* the non-streaming answer is built from on_done's message */
    if (anthropic_stream_event(&c->stream, event, &c->frames) < 0) buf_reset(&c->frames);
    write_frames(tb, c);
}

static void on_done(void *arg, turn_bridge_t *tb, yyjson_val *message) {
    messages_ctx_t *c = arg;
    if (c->is_stream) {
        if (anthropic_stream_finish(&c->stream, message, &c->frames) < 0) buf_reset(&c->frames);
        write_frames(tb, c);
        return;
    }
    yyjson_mut_doc *doc = anthropic_message_build(message, c->fallback_id, c->model);
    if (!doc) return; /* the bridge answers 500 */
    turn_bridge_respond_json(tb, 200, doc);
    yyjson_mut_doc_free(doc);
}

static void on_stream_error(void *arg, turn_bridge_t *tb, const api_error_t *err) {
    messages_ctx_t *c = arg;
    buf_reset(&c->frames);
    if (anthropic_stream_error(err, &c->frames) < 0) buf_reset(&c->frames);
    write_frames(tb, c);
}

static void set_header(const char *name, const char *value, void *ex) { http_set_header(ex, name, value); }

static void on_rate_limit(void *arg, turn_bridge_t *tb, yyjson_val *info) {
    (void)arg;
    http_exchange_t *ex = turn_bridge_exchange(tb);
    if (!http_stream_started(ex)) anthropic_ratelimit_headers(info, set_header, ex);
}

static void on_heartbeat(void *arg, turn_bridge_t *tb) {
    messages_ctx_t *c = arg;
    buf_reset(&c->frames);
    if (anthropic_stream_ping(&c->frames) < 0) buf_reset(&c->frames);
    write_frames(tb, c);
}

static void on_close(void *arg) {
    messages_ctx_t *c = arg;
    buf_free(&c->frames);
    free(c);
}

static const turn_bridge_handlers_t HANDLERS = {
    .on_event = on_event,
    .on_done = on_done,
    .on_stream_error = on_stream_error,
    .on_rate_limit = on_rate_limit,
    .on_heartbeat = on_heartbeat,
    .on_close = on_close,
};

/* ---- routes ---- */

/* Validate the body; on a problem the 400 is sent and -1 returned (*body freed). */
static int read_request(http_exchange_t *ex, app_t *app, anthropic_parse_mode_t mode, yyjson_doc **body,
                        anthropic_request_t *req) {
    *body = api_parse_body(ex, DIALECT_ANTHROPIC);
    if (!*body) return -1;
    api_problem_t why;
    if (anthropic_request_parse(app->cfg, yyjson_doc_get_root(*body), mode, req, &why) == 0) return 0;
    log_info("anthropic.invalid_request", "request_id=%s param=%s", http_request_id(ex), why.param[0] ? why.param : "-");
    api_problem_send(ex, DIALECT_ANTHROPIC, &why);
    anthropic_request_free(req);
    yyjson_doc_free(*body);
    *body = NULL;
    return -1;
}

static void handle_messages(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    yyjson_doc *body;
    anthropic_request_t req;
    if (read_request(ex, app, ANTHROPIC_PARSE_MESSAGES, &body, &req) < 0) return;
    yyjson_doc_free(body); /* the canonical request holds everything the turn needs */

    messages_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        api_error_sendf(ex, DIALECT_ANTHROPIC, 500, API_ERR_API, NULL, "out of memory");
        goto done;
    }
    buf_init(&c->frames, ANTHROPIC_FRAME_LIMIT);
    c->is_stream = req.is_stream;
    snprintf(c->model, sizeof c->model, "%s", req.model);
    snprintf(c->fallback_id, sizeof c->fallback_id, "msg_%s", http_request_id(ex));
    anthropic_stream_init(&c->stream, http_request_id(ex), c->model);
    /* The SDKs keep this as the response's request id. */
    http_set_header(ex, "request-id", http_request_id(ex));

    turn_request_t turn = {
        .body = yyjson_doc_get_root(req.doc),
        .effort = req.effort,
        .is_streamed = req.is_stream, /* the stream's own events are all a streaming client gets */
    };
    turn_bridge_options_t opt = {
        .dialect = DIALECT_ANTHROPIC,
        .is_stream = req.is_stream,
        .heartbeat_ms = app->cfg->ping_interval_ms,
        .model = req.model,
    };
    turn_bridge_run(app, ex, &turn, &opt, &HANDLERS, c);
done:
    anthropic_request_free(&req);
}

static void handle_count_tokens(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    yyjson_doc *body;
    anthropic_request_t req;
    if (read_request(ex, app, ANTHROPIC_PARSE_COUNT_TOKENS, &body, &req) < 0) return;
    int64_t tokens = anthropic_count_tokens(yyjson_doc_get_root(body));
    anthropic_request_free(&req);
    yyjson_doc_free(body);

    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL;
    if (!root || !yyjson_mut_obj_add_int(doc, root, "input_tokens", tokens)) {
        yyjson_mut_doc_free(doc);
        api_error_sendf(ex, DIALECT_ANTHROPIC, 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    yyjson_mut_doc_set_root(doc, root);
    http_respond_json(ex, 200, doc);
    yyjson_mut_doc_free(doc);
}

void anthropic_register_routes(app_t *app) {
    const route_t routes[] = {
        {.method = "POST", .pattern = "/v1/messages", .handler = handle_messages, .ctx = app,
         .dialect = DIALECT_ANTHROPIC},
        {.method = "POST", .pattern = "/v1/messages/count_tokens", .handler = handle_count_tokens, .ctx = app,
         .dialect = DIALECT_ANTHROPIC},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (router_add(app->router, &routes[i]) < 0) log_error("router.add_failed", "path=%s", routes[i].pattern);
}
