/*
 * /v1/responses: POST runs one engine turn through turn_bridge (request: responses_request.c, output:
 * responses_output.c); GET and DELETE /v1/responses/{id} read and drop kept responses (responses_store.c).
 * A kept response holds its conversation (the request's items and its output), which is what
 * previous_response_id continues.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/responses.h"
#include "api/turn_bridge.h"
#include "util/log.h"

/* One Responses exchange; freed in on_close. */
typedef struct {
    responses_request_t req;
    responses_output_t output;
    responses_store_t *store;
    buf_t out;                 /* the frames one event turns into, written at once */
    char request_id[64];
} responses_call_t;

/* An item's *.done events and response.completed repeat its whole text, so one long answer makes events
 * of its size: written whole (deltas stay small: the engine paces them in pieces). */
static void call_write(responses_call_t *call, turn_bridge_t *tb) {
    if (call->out.len > 0) turn_bridge_write_whole(tb, call->out.data, call->out.len);
    buf_reset(&call->out);
}

static void on_event(void *arg, turn_bridge_t *tb, yyjson_val *event) {
    responses_call_t *call = arg;
    if (!call->req.chat.is_stream) return; /* the finished message carries everything */
    if (responses_output_event(&call->output, event, &call->out) < 0)
        log_warn("responses.event_failed", "request_id=%s", call->request_id);
    call_write(call, tb);
}

/* The conversation so far, for previous_response_id: the request's items, then the output's. */
static char *history_json(responses_call_t *call) {
    yyjson_mut_doc *doc = call->req.input_doc;
    yyjson_mut_val *items = yyjson_mut_doc_get_root(doc);
    yyjson_mut_val *item;
    yyjson_mut_arr_iter it = yyjson_mut_arr_iter_with(call->output.output);
    while ((item = yyjson_mut_arr_iter_next(&it)))
        if (!yyjson_mut_arr_append(items, yyjson_mut_val_mut_copy(doc, item))) return NULL;
    return yyjson_mut_write(doc, 0, NULL);
}

static void keep(responses_call_t *call, yyjson_mut_doc *doc) {
    if (!call->req.is_stored || !call->store) return;
    char *response = yyjson_mut_write(doc, 0, NULL);
    char *history = response ? history_json(call) : NULL;
    if (!history) {
        free(response);
        log_warn("responses.keep_failed", "request_id=%s id=%s", call->request_id, call->output.id);
        return;
    }
    responses_store_put(call->store, call->output.id, response, history);
}

static void on_done(void *arg, turn_bridge_t *tb, yyjson_val *message) {
    responses_call_t *call = arg;
    bool is_stream = call->req.chat.is_stream;
    if (responses_output_finish(&call->output, message, is_stream ? &call->out : NULL) < 0)
        log_warn("responses.event_failed", "request_id=%s", call->request_id);
    if (is_stream) call_write(call, tb);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *obj = doc ? responses_output_object(&call->output, doc, responses_output_status(&call->output)) : NULL;
    if (!obj) {
        yyjson_mut_doc_free(doc);
        return; /* the bridge answers 500 (not streaming) */
    }
    yyjson_mut_doc_set_root(doc, obj);
    keep(call, doc);
    if (!is_stream) turn_bridge_respond_json(tb, 200, doc);
    yyjson_mut_doc_free(doc);
}

static void on_stream_error(void *arg, turn_bridge_t *tb, const api_error_t *err) {
    responses_call_t *call = arg;
    responses_output_fail(&call->output, err, &call->out);
    call_write(call, tb);
}

static void on_close(void *arg) {
    responses_call_t *call = arg;
    responses_request_free(&call->req);
    responses_output_free(&call->output);
    buf_free(&call->out);
    free(call);
}

static const turn_bridge_handlers_t handlers = {
    .on_event = on_event,
    .on_done = on_done,
    .on_stream_error = on_stream_error,
    .on_close = on_close,
};

static void send_unknown(http_exchange_t *ex, const char *param, const char *id) {
    api_error_t err = {.status = 404, .kind = API_ERR_NOT_FOUND, .param = param};
    char message[256];
    snprintf(message, sizeof message, "%s with id '%.100s' not found.",
             param ? "Previous response" : "Response", id);
    err.message = message;
    err.code = param ? "previous_response_not_found" : NULL;
    api_error_send(ex, DIALECT_OPENAI, &err);
}

/* previous_response_id's kept conversation, parsed; NULL when none was asked (answered 404 when unknown:
 * *is_answered). */
static yyjson_doc *previous_history(app_t *app, http_exchange_t *ex, yyjson_val *root, bool *is_answered) {
    yyjson_val *prev = yyjson_obj_get(root, "previous_response_id");
    *is_answered = false;
    if (!yyjson_is_str(prev)) return NULL; /* absent, or a wrong type the converter names */
    const char *history = responses_store_history(app->responses, yyjson_get_str(prev));
    yyjson_doc *doc = history ? yyjson_read(history, strlen(history), 0) : NULL;
    if (!doc) {
        send_unknown(ex, "previous_response_id", yyjson_get_str(prev));
        *is_answered = true;
    }
    return doc;
}

static void handle_create(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    yyjson_doc *body = api_parse_body(ex, DIALECT_OPENAI);
    if (!body) return;
    bool is_answered;
    yyjson_doc *history = previous_history(app, ex, yyjson_doc_get_root(body), &is_answered);
    responses_call_t *call = is_answered ? NULL : calloc(1, sizeof *call);
    if (!call) {
        if (!is_answered) api_error_sendf(ex, DIALECT_OPENAI, 500, API_ERR_API, NULL, "out of memory");
        yyjson_doc_free(body);
        yyjson_doc_free(history);
        return;
    }
    buf_init(&call->out, 0);
    call->store = app->responses;
    snprintf(call->request_id, sizeof call->request_id, "%s", http_request_id(ex) ? http_request_id(ex) : "0");
    api_problem_t why;
    int rc = responses_request_convert(app->cfg, yyjson_doc_get_root(body), yyjson_doc_get_root(history), &call->req, &why);
    yyjson_doc_free(body);
    yyjson_doc_free(history);
    if (rc == 0 && responses_output_init(&call->output, &call->req, call->request_id, (int64_t)time(NULL),
                                         call->req.chat.is_stream) < 0)
        rc = api_problem_set(&why, NULL, "out of memory");
    if (rc < 0) {
        api_problem_send(ex, DIALECT_OPENAI, &why);
        on_close(call);
        return;
    }
    /* The engine takes an immutable document; it copies what it keeps, so this one dies after the call. */
    yyjson_doc *canonical = yyjson_mut_doc_imut_copy(call->req.chat.doc, NULL);
    if (!canonical) {
        api_error_sendf(ex, DIALECT_OPENAI, 500, API_ERR_API, NULL, "out of memory");
        on_close(call);
        return;
    }
    yyjson_val *root = yyjson_doc_get_root(canonical);
    turn_request_t req = {
        .body = root,
        .json_schema = call->req.chat.json_schema,
        .effort = call->req.chat.effort,
        /* The output items keep their own text; JSON mode's prose comes from the finished message. */
        .is_streamed = call->req.chat.is_stream && !call->req.chat.json_schema,
    };
    turn_bridge_options_t opt = {
        .dialect = DIALECT_OPENAI,
        .is_stream = call->req.chat.is_stream,
        .heartbeat_ms = app->cfg->ping_interval_ms,
        .model = yyjson_get_str(yyjson_obj_get(root, "model")),
    };
    turn_bridge_run(app, ex, &req, &opt, &handlers, call); /* on failure it answered and freed call */
    yyjson_doc_free(canonical);
}

static const char *path_id(http_exchange_t *ex) {
    const char *path = http_path(ex);
    return path + strlen("/v1/responses/");
}

static void handle_get(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    const char *id = path_id(ex);
    const char *json = responses_store_response(app->responses, id);
    if (!json) {
        send_unknown(ex, NULL, id);
        return;
    }
    http_respond(ex, 200, "application/json", json, strlen(json));
}

static void handle_delete(http_exchange_t *ex, void *ctx) {
    app_t *app = ctx;
    const char *id = path_id(ex);
    if (!responses_store_delete(app->responses, id)) {
        send_unknown(ex, NULL, id);
        return;
    }
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL;
    if (!root || !yyjson_mut_obj_add_strcpy(doc, root, "id", id) || !yyjson_mut_obj_add_str(doc, root, "object", "response") ||
        !yyjson_mut_obj_add_bool(doc, root, "deleted", true)) {
        yyjson_mut_doc_free(doc);
        api_error_sendf(ex, DIALECT_OPENAI, 500, API_ERR_API, NULL, "out of memory");
        return;
    }
    yyjson_mut_doc_set_root(doc, root);
    http_respond_json(ex, 200, doc);
    yyjson_mut_doc_free(doc);
}

void responses_register_routes(app_t *app) {
    const route_t routes[] = {
        {.method = "POST", .pattern = "/v1/responses", .handler = handle_create, .ctx = app, .dialect = DIALECT_OPENAI},
        {.method = "GET", .pattern = "/v1/responses/*", .handler = handle_get, .ctx = app, .dialect = DIALECT_OPENAI},
        {.method = "DELETE", .pattern = "/v1/responses/*", .handler = handle_delete, .ctx = app, .dialect = DIALECT_OPENAI},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) router_add(app->router, &routes[i]);
}
