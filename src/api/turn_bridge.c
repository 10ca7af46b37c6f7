/*
 * One engine turn ↔ one HTTP exchange (see turn_bridge.h for the contract adapters rely on).
 *
 * Two lifetimes meet here: the exchange (ours until we finish it exactly once) and the turn (the engine's
 * until on_done/on_error, or until we cancel it). The bridge outlives both and frees itself after
 * finishing the exchange, so every path ends in bridge_close().
 */
#include "api/turn_bridge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/sse.h"
#include "util/json_depth.h"
#include "util/log.h"
#include "web/metrics.h"

typedef enum {
    BRIDGE_RUNNING,  /* the turn is live: engine callbacks may come */
    BRIDGE_ENDED,    /* the turn is over (done, failed or cancelled); finishing the exchange */
    BRIDGE_CLOSED,   /* exchange finished, on_close ran; the struct is about to be freed */
} bridge_state_t;

struct turn_bridge_s {
    bridge_state_t state;
    app_t *app;
    http_exchange_t *ex;
    turn_t *turn;
    turn_bridge_options_t opt;
    char model[128];
    char request_id[64];
    turn_bridge_handlers_t h;
    void *arg;
    bool is_in_handler;     /* an adapter handler is running: an abort must wait for it to return */
    bool is_abort_pending;  /* the client left while a handler ran */
    bool is_paused;         /* the engine was asked to stop reading the CLI */
    bool is_finished;       /* the exchange got its one finish */
};

/* ---- finishing ---- */

static void bridge_close(turn_bridge_t *tb) {
    tb->state = BRIDGE_CLOSED;
    tb->ex = NULL;
    if (tb->h.on_close) tb->h.on_close(tb->arg);
    free(tb);
}

/* The exchange's one finish, whatever got there first. */
static void bridge_finish_exchange(turn_bridge_t *tb) {
    if (tb->is_finished) return;
    tb->is_finished = true;
    if (http_stream_started(tb->ex)) {
        http_stream_end(tb->ex);
    } else if (http_exchange_is_aborted(tb->ex)) {
        /* Nobody reads this; the status only tells the access log the client left first. */
        http_respond(tb->ex, 499, "text/plain", "", 0);
    } else {
        api_error_t err = {.status = 500, .kind = API_ERR_API, .message = "the turn ended without an answer"};
        api_error_send(tb->ex, tb->opt.dialect, &err);
    }
}

static void bridge_cancel_turn(turn_bridge_t *tb) {
    if (tb->state != BRIDGE_RUNNING) return;
    tb->state = BRIDGE_ENDED;
    log_info("turn.client_abort", "request_id=%s model=%s streaming=%d", tb->request_id, tb->model,
             http_stream_started(tb->ex));
    turn_t *turn = tb->turn;
    tb->turn = NULL;
    turn_cancel(turn);
}

/* After an adapter handler returns: act on an abort it caused or saw. Returns true if tb is gone. */
static bool bridge_after_handler(turn_bridge_t *tb) {
    tb->is_in_handler = false;
    if (!tb->is_abort_pending) return false;
    tb->is_abort_pending = false;
    bridge_cancel_turn(tb);
    bridge_finish_exchange(tb);
    bridge_close(tb);
    return true;
}

/* ---- exchange callbacks ---- */

static void on_client_abort(http_exchange_t *ex, void *arg) {
    turn_bridge_t *tb = arg;
    (void)ex;
    if (tb->state == BRIDGE_CLOSED || tb->is_finished) return;
    if (tb->is_in_handler) {
        tb->is_abort_pending = true;
        return;
    }
    bridge_cancel_turn(tb);
    bridge_finish_exchange(tb);
    bridge_close(tb);
}

static void on_client_drain(http_exchange_t *ex, void *arg) {
    turn_bridge_t *tb = arg;
    (void)ex;
    if (tb->state != BRIDGE_RUNNING || !tb->is_paused) return;
    tb->is_paused = false;
    turn_set_paused(tb->turn, false);
}

static void on_heartbeat(http_exchange_t *ex, void *arg) {
    turn_bridge_t *tb = arg;
    if (tb->is_finished || tb->state == BRIDGE_CLOSED) return;
    if (!tb->h.on_heartbeat) {
        sse_comment(ex, "ping");
        return;
    }
    tb->is_in_handler = true;
    tb->h.on_heartbeat(tb->arg, tb);
    bridge_after_handler(tb);
}

/* ---- output for adapters ---- */

http_exchange_t *turn_bridge_exchange(turn_bridge_t *tb) { return tb->ex; }
bool turn_bridge_is_aborted(const turn_bridge_t *tb) { return tb->is_finished || http_exchange_is_aborted(tb->ex); }

int turn_bridge_begin_stream(turn_bridge_t *tb) {
    if (tb->is_finished) return -1;
    if (http_stream_started(tb->ex)) return 0;
    int rc = sse_begin(tb->ex);
    if (rc < 0) return rc;
    if (tb->opt.heartbeat_ms > 0) http_exchange_set_heartbeat(tb->ex, tb->opt.heartbeat_ms, on_heartbeat, tb);
    return 0;
}

/* Slow client: stop reading the CLI until the socket drains, so nothing piles up in memory. */
static void bridge_check_congestion(turn_bridge_t *tb) {
    if (tb->state != BRIDGE_RUNNING || tb->is_paused || !http_exchange_is_congested(tb->ex)) return;
    tb->is_paused = true;
    turn_set_paused(tb->turn, true);
    http_exchange_on_drain(tb->ex, on_client_drain, tb);
}

static int bridge_write(turn_bridge_t *tb, const void *data, size_t len, bool is_whole) {
    if (tb->is_finished) return -1;
    if (!http_stream_started(tb->ex) && turn_bridge_begin_stream(tb) < 0) return -1;
    int rc = is_whole ? http_stream_write_whole(tb->ex, data, len) : http_stream_write(tb->ex, data, len);
    if (rc < 0) return rc;
    bridge_check_congestion(tb);
    return 0;
}

int turn_bridge_write(turn_bridge_t *tb, const void *data, size_t len) { return bridge_write(tb, data, len, false); }
int turn_bridge_write_whole(turn_bridge_t *tb, const void *data, size_t len) { return bridge_write(tb, data, len, true); }

int turn_bridge_send_event(turn_bridge_t *tb, const char *event, const char *data, size_t len) {
    if (tb->is_finished) return -1;
    if (!http_stream_started(tb->ex) && turn_bridge_begin_stream(tb) < 0) return -1;
    int rc = sse_send(tb->ex, event, data, len);
    if (rc < 0) return rc;
    bridge_check_congestion(tb);
    return 0;
}

void turn_bridge_respond_json(turn_bridge_t *tb, int status, yyjson_mut_doc *doc) {
    if (tb->is_finished) return;
    tb->is_finished = true;
    http_respond_json(tb->ex, status, doc);
}

/* ---- engine callbacks ---- */

static void engine_on_event(void *arg, yyjson_val *event) {
    turn_bridge_t *tb = arg;
    if (tb->state != BRIDGE_RUNNING || tb->is_finished) return;
    if (tb->opt.is_stream && !http_stream_started(tb->ex)) turn_bridge_begin_stream(tb);
    tb->is_in_handler = true;
    tb->h.on_event(tb->arg, tb, event);
    bridge_after_handler(tb);
}

static void engine_on_rate_limit(void *arg, yyjson_val *info) {
    turn_bridge_t *tb = arg;
    if (tb->state != BRIDGE_RUNNING || tb->is_finished || !tb->h.on_rate_limit) return;
    tb->is_in_handler = true;
    tb->h.on_rate_limit(tb->arg, tb, info);
    bridge_after_handler(tb);
}

static void engine_on_done(void *arg, yyjson_val *message) {
    turn_bridge_t *tb = arg;
    if (tb->state != BRIDGE_RUNNING) return;
    tb->state = BRIDGE_ENDED;
    tb->turn = NULL;
    if (!tb->is_finished) {
        tb->is_in_handler = true;
        tb->h.on_done(tb->arg, tb, message);
        tb->is_in_handler = false;
        tb->is_abort_pending = false; /* the turn is over anyway: finishing is all that is left */
    }
    bridge_finish_exchange(tb);
    bridge_close(tb);
}

static void bridge_fail(turn_bridge_t *tb, const api_error_t *err) {
    if (tb->is_finished) return;
    if (http_stream_started(tb->ex)) {
        tb->is_in_handler = true;
        if (tb->h.on_stream_error) tb->h.on_stream_error(tb->arg, tb, err);
        tb->is_in_handler = false;
        tb->is_abort_pending = false;
        bridge_finish_exchange(tb);
    } else if (!http_exchange_is_aborted(tb->ex)) {
        tb->is_finished = true;
        api_error_send(tb->ex, tb->opt.dialect, err);
    } else {
        bridge_finish_exchange(tb);
    }
}

static void engine_on_error(void *arg, const engine_error_t *eerr) {
    turn_bridge_t *tb = arg;
    if (tb->state != BRIDGE_RUNNING) return;
    tb->state = BRIDGE_ENDED;
    tb->turn = NULL;
    api_error_t err;
    api_error_from_engine(eerr, &err);
    log_info("turn.failed", "request_id=%s model=%s status=%d streaming=%d", tb->request_id, tb->model, err.status,
             tb->ex ? http_stream_started(tb->ex) : 0);
    bridge_fail(tb, &err);
    bridge_close(tb);
}

/* ---- start ---- */

int turn_bridge_run(app_t *app, http_exchange_t *ex, const turn_request_t *req, const turn_bridge_options_t *opt,
                    const turn_bridge_handlers_t *h, void *arg) {
    turn_bridge_t *tb = calloc(1, sizeof *tb);
    if (!tb) {
        api_error_t err = {.status = 500, .kind = API_ERR_API, .message = "out of memory"};
        api_error_send(ex, opt->dialect, &err);
        if (h->on_close) h->on_close(arg);
        return -1;
    }
    tb->app = app;
    tb->ex = ex;
    tb->opt = *opt;
    tb->opt.model = NULL;
    tb->h = *h;
    tb->arg = arg;
    snprintf(tb->model, sizeof tb->model, "%s", opt->model ? opt->model : "");
    snprintf(tb->request_id, sizeof tb->request_id, "%s", http_request_id(ex) ? http_request_id(ex) : "-");
    if (opt->model && app->metrics) metrics_note_model(app->metrics, http_request_id(ex), opt->model);

    turn_request_t r = *req;
    if (!r.request_id) r.request_id = http_request_id(ex);
    if (!r.endpoint) r.endpoint = http_path(ex);
    if (!r.client) {
        const char *ua = http_header(ex, "user-agent");
        r.client = ua ? ua : http_client_addr(ex);
    }
    turn_callbacks_t cb = {
        .on_event = engine_on_event,
        .on_done = engine_on_done,
        .on_error = engine_on_error,
        .on_rate_limit = engine_on_rate_limit,
    };
    engine_error_t eerr = {.kind = ENGINE_ERR_UNAVAILABLE, .message = NULL};
    tb->turn = engine_start_turn(app->engine, &r, &cb, tb, &eerr);
    if (!tb->turn) {
        api_error_t err;
        api_error_from_engine(&eerr, &err);
        log_info("turn.refused", "request_id=%s model=%s status=%d", tb->request_id, tb->model, err.status);
        tb->state = BRIDGE_ENDED;
        tb->is_finished = true;
        api_error_send(ex, opt->dialect, &err);
        bridge_close(tb);
        return -1;
    }
    tb->state = BRIDGE_RUNNING;
    http_exchange_on_abort(ex, on_client_abort, tb);
    /* Gone while the request was being read: no abort event will come for that. */
    if (http_exchange_is_aborted(ex) && !tb->is_finished) {
        on_client_abort(ex, tb);
        return -1;
    }
    return 0;
}

/* ---- shared request helpers ---- */

int api_problem_set(api_problem_t *why, const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof why->message, fmt, ap);
    va_end(ap);
    snprintf(why->param, sizeof why->param, "%s", param ? param : "");
    return -1;
}

void api_problem_send(http_exchange_t *ex, api_dialect_t d, const api_problem_t *why) {
    api_error_t err = {
        .status = 400,
        .kind = API_ERR_INVALID_REQUEST,
        .message = why->message,
        .param = why->param[0] ? why->param : NULL,
    };
    api_error_send(ex, d, &err);
}

yyjson_doc *api_parse_json(const char *data, size_t len, api_problem_t *why) {
    if (len == 0) {
        api_problem_set(why, NULL, "body is not valid JSON: the body is empty");
        return NULL;
    }
    yyjson_read_err rerr;
    yyjson_doc *doc = yyjson_read_opts((char *)data, len, 0, NULL, &rerr);
    if (!doc) {
        api_problem_set(why, NULL, "body is not valid JSON: %s at byte %zu", rerr.msg ? rerr.msg : "parse error",
                        rerr.pos);
        return NULL;
    }
    if (!yyjson_is_obj(yyjson_doc_get_root(doc))) {
        yyjson_doc_free(doc);
        api_problem_set(why, NULL, "body must be a JSON object");
        return NULL;
    }
    if (api_check_depth(yyjson_doc_get_root(doc), NULL, why) < 0) {
        yyjson_doc_free(doc);
        return NULL;
    }
    return doc;
}

int api_check_depth(yyjson_val *value, const char *where, api_problem_t *why) {
    char path[sizeof why->param];
    if (json_depth_ok(value, JSON_MAX_DEPTH, path, sizeof path)) return 0;
    char field[sizeof why->param];
    buf_t b;
    buf_init(&b, 0);
    if (where && where[0]) buf_append_str(&b, where);
    if (where && where[0] && path[0]) buf_append_str(&b, ".");
    buf_append_str(&b, path);
    snprintf(field, sizeof field, "%.*s", (int)(b.len < sizeof field ? b.len : sizeof field - 1), b.data ? b.data : "");
    buf_free(&b);
    return api_problem_set(why, field, "%s: JSON is nested more than %d levels deep", field[0] ? field : "body",
                           JSON_MAX_DEPTH);
}

yyjson_doc *api_parse_body(http_exchange_t *ex, api_dialect_t d) {
    api_problem_t why;
    view_t body = http_body(ex);
    yyjson_doc *doc = api_parse_json(body.ptr, body.len, &why);
    if (!doc) api_problem_send(ex, d, &why);
    return doc;
}

static bool field_matches(yyjson_val *v, api_field_type_t type) {
    switch (type) {
    case API_FIELD_STRING: return yyjson_is_str(v);
    case API_FIELD_NUMBER: return yyjson_is_num(v);
    case API_FIELD_INTEGER: return yyjson_is_int(v);
    case API_FIELD_BOOL: return yyjson_is_bool(v);
    case API_FIELD_OBJECT: return yyjson_is_obj(v);
    case API_FIELD_ARRAY: return yyjson_is_arr(v);
    }
    return false;
}

static const char *json_type_name(yyjson_val *v) {
    if (yyjson_is_str(v)) return "a string";
    if (yyjson_is_int(v)) return "an integer";
    if (yyjson_is_num(v)) return "a number";
    if (yyjson_is_bool(v)) return "a boolean";
    if (yyjson_is_obj(v)) return "an object";
    if (yyjson_is_arr(v)) return "an array";
    return "null";
}

int api_problem_type(api_problem_t *why, api_dialect_t d, const char *path, api_field_type_t type, yyjson_val *got) {
    static const char *const pydantic[] = {
        [API_FIELD_STRING] = "a valid string",   [API_FIELD_NUMBER] = "a valid number",
        [API_FIELD_INTEGER] = "a valid integer", [API_FIELD_BOOL] = "a valid boolean",
        [API_FIELD_OBJECT] = "a valid dictionary", [API_FIELD_ARRAY] = "a valid list",
    };
    static const char *const openai[] = {
        [API_FIELD_STRING] = "a string",   [API_FIELD_NUMBER] = "a number", [API_FIELD_INTEGER] = "an integer",
        [API_FIELD_BOOL] = "a boolean",    [API_FIELD_OBJECT] = "an object", [API_FIELD_ARRAY] = "an array",
    };
    if (d == DIALECT_OPENAI)
        return api_problem_set(why, path, "Invalid type for '%s': expected %s, but got %s instead.", path,
                               openai[type], json_type_name(got));
    return api_problem_set(why, path, "%s: Input should be %s", path, pydantic[type]);
}

int api_field(api_dialect_t d, yyjson_val *obj, const char *prefix, const char *key, api_field_type_t type,
              bool is_required, yyjson_val **out, api_problem_t *why) {
    char path[96];
    if (prefix && prefix[0]) snprintf(path, sizeof path, "%s.%s", prefix, key);
    else snprintf(path, sizeof path, "%s", key);
    yyjson_val *v = yyjson_obj_get(obj, key);
    *out = NULL;
    if (!v || yyjson_is_null(v)) {
        if (!is_required) return 0;
        if (d == DIALECT_OPENAI) return api_problem_set(why, path, "Missing required parameter: '%s'.", path);
        return api_problem_set(why, path, "%s: Field required", path);
    }
    if (!field_matches(v, type)) return api_problem_type(why, d, path, type, v);
    *out = v;
    return 0;
}
