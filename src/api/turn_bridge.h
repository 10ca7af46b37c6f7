/*
 * turn_bridge: one engine turn for one HTTP exchange, shared by the Anthropic and OpenAI adapters.
 *
 * HOW TO USE (an adapter's handler):
 *     1. Parse and validate the body (api_parse_body, api_field, ...); on a problem answer it
 *        (api_problem_send) and return.
 *     2. Allocate your per-request state S (stream encoder, model name, ...), fill a turn_request_t
 *        (body = canonical Anthropic request; request_id/client/endpoint may stay NULL: the bridge fills
 *        them from the exchange) and a turn_bridge_options_t, then call turn_bridge_run(). After it
 *        returns, your request document may be freed (the engine copies what it needs).
 *     3. Your handlers run as the turn goes:
 *        - on_event: one engine stream event. When options.is_stream, the bridge has already begun the
 *          SSE response (200, on the FIRST event, so failures before it stay real HTTP statuses). Write
 *          framed bytes with turn_bridge_write() / turn_bridge_send_event(); back-pressure is handled.
 *        - on_done: the finished message. Streaming: write your closing frames (the bridge ends the stream
 *          afterwards). Not streaming: answer with turn_bridge_respond_json() (if you don't, the client
 *          gets a 500).
 *        - on_stream_error: the turn failed AFTER the stream began: write your dialect's in-stream error
 *          frame (the bridge ends the stream afterwards). Failures before the stream began never reach you:
 *          the bridge answers them itself with api_error_send() in your dialect (status, retry-after).
 *        - on_rate_limit (optional): the CLI's rate-limit report, whenever it comes (the CLI sends it when an
 *          upstream response is complete: before a refusal, after the events of a good answer); set
 *          response headers with http_set_header(turn_bridge_exchange(tb), ...) while !http_stream_started().
 *        - on_heartbeat (optional): the stream was silent for options.heartbeat_ms; write a keep-alive.
 *          Without it the bridge writes an SSE comment (": ping").
 *        - on_close: ALWAYS called exactly once, last, after the exchange is finished (possibly before
 *          turn_bridge_run returns, when the turn could not start): free S there.
 *     4. Never finish the exchange yourself, and never touch tb or the exchange after on_close.
 *
 * Client abort: the bridge cancels the turn (turn_cancel, so no engine callback follows), finishes the
 * exchange, and calls on_close. An abort noticed inside one of your handlers (a failed write) is acted on
 * when that handler returns. Writes after the client left are harmless no-ops.
 */
#ifndef CWP_API_TURN_BRIDGE_H
#define CWP_API_TURN_BRIDGE_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#include "api/errors.h"
#include "app.h"
#include "engine/engine.h"
#include "api/dialect.h"
#include "http/router.h"
#include "http/server.h"
#include "util/buf.h"

typedef struct turn_bridge_s turn_bridge_t;

typedef struct {
    void (*on_event)(void *arg, turn_bridge_t *tb, yyjson_val *event);
    void (*on_done)(void *arg, turn_bridge_t *tb, yyjson_val *message);
    void (*on_stream_error)(void *arg, turn_bridge_t *tb, const api_error_t *err);
    void (*on_rate_limit)(void *arg, turn_bridge_t *tb, yyjson_val *info); /* optional */
    void (*on_heartbeat)(void *arg, turn_bridge_t *tb);                    /* optional */
    void (*on_close)(void *arg);
} turn_bridge_handlers_t;

typedef struct {
    api_dialect_t dialect;
    bool is_stream;     /* begin an SSE response on the first engine event */
    long heartbeat_ms;  /* keep-alive interval once streaming (cfg->ping_interval_ms); 0 = none */
    const char *model;  /* for metrics (metrics_note_model); copied */
} turn_bridge_options_t;

/*
 * Start the turn. Returns 0 when it runs (handlers follow from the loop), or -1 when it could not start
 * (the error was already answered in the dialect) or the client had already left: on_close already ran.
 */
int turn_bridge_run(app_t *app, http_exchange_t *ex, const turn_request_t *req, const turn_bridge_options_t *opt,
                    const turn_bridge_handlers_t *h, void *arg);

/* Streamed output (inside handlers only). Return 0, or negative once the client is gone. */
int turn_bridge_write(turn_bridge_t *tb, const void *data, size_t len);
/* For frames that repeat a long answer whole (Responses' *.done events): past the write limit rather than
 * dropping the client (http_stream_write_whole). Back-pressure as for turn_bridge_write. */
int turn_bridge_write_whole(turn_bridge_t *tb, const void *data, size_t len);
int turn_bridge_send_event(turn_bridge_t *tb, const char *event, const char *data, size_t len);
/* Non-streaming answer (inside on_done). Does not take doc. */
void turn_bridge_respond_json(turn_bridge_t *tb, int status, yyjson_mut_doc *doc);
/* Begin the SSE response now (normally automatic on the first event). Idempotent. */
int turn_bridge_begin_stream(turn_bridge_t *tb);
http_exchange_t *turn_bridge_exchange(turn_bridge_t *tb);
bool turn_bridge_is_aborted(const turn_bridge_t *tb);

/* ---- shared request helpers ---- */

/* Why a request is refused (400 invalid_request_error): the message and the offending field. */
typedef struct {
    char message[256];
    char param[96];
} api_problem_t;

int api_problem_set(api_problem_t *why, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answer 400 invalid_request_error with why (param set from why->param when not empty). Finishes ex. */
void api_problem_send(http_exchange_t *ex, api_dialect_t d, const api_problem_t *why);

/* Parse body as a JSON object. NULL with why filled: "body is not valid JSON: <yyjson's reason> at byte N",
 * "body must be a JSON object", or the api_check_depth problem. The caller frees the doc. */
yyjson_doc *api_parse_json(const char *data, size_t len, api_problem_t *why);
/* The nesting bound every adapter applies to JSON it parsed from a client (bodies, and JSON inside strings
 * such as function arguments), before anything copies it: -1 with why naming the field ("where." + the
 * path inside the value) when value nests deeper than JSON_MAX_DEPTH. */
int api_check_depth(yyjson_val *value, const char *where, api_problem_t *why);
/* api_parse_json on the exchange's body; on failure answers 400 in dialect d and returns NULL. */
yyjson_doc *api_parse_body(http_exchange_t *ex, api_dialect_t d);

typedef enum {
    API_FIELD_STRING,
    API_FIELD_NUMBER,  /* integer or real */
    API_FIELD_INTEGER,
    API_FIELD_BOOL,
    API_FIELD_OBJECT,
    API_FIELD_ARRAY,
} api_field_type_t;

/*
 * obj[key] checked against type. JSON null counts as absent. Returns 0 with *out (NULL when absent and
 * optional), or -1 with why filled, worded per dialect and naming the field "<prefix>.<key>" (Anthropic,
 * e.g. "messages.1.role: Field required", "stream: Input should be a valid boolean") or
 * "<prefix>.<key>" in OpenAI's words ("Missing required parameter: 'max_tokens'.", "Invalid type for
 * 'stream': expected a boolean, but got a string instead."). prefix may be NULL.
 */
int api_field(api_dialect_t d, yyjson_val *obj, const char *prefix, const char *key, api_field_type_t type,
              bool is_required, yyjson_val **out, api_problem_t *why);
/* Just the wrong-type wording, for values not fetched by key (array items): path names the value. */
int api_problem_type(api_problem_t *why, api_dialect_t d, const char *path, api_field_type_t type, yyjson_val *got);

#endif
