/*
 * The Anthropic Messages adapter's pure parts: request validation and normalisation
 * (anthropic_request.c), the input-token estimate (anthropic_tokens.c), and engine events → SSE frames /
 * the non-streaming body (anthropic_stream.c). No I/O here: anthropic.c wires them to HTTP and the engine.
 */
#ifndef CWP_API_ANTHROPIC_H
#define CWP_API_ANTHROPIC_H
#include <stdbool.h>
#include <stdint.h>
#include <yyjson.h>

#include "api/errors.h"
#include "api/turn_bridge.h"
#include "config.h"
#include "util/buf.h"

/* Per-image (and per binary document) cost of the token estimate: the real API's figure for a typical
 * ~1.15-megapixel image ((1092 * 1092) / 750 ≈ 1590). */
#define ANTHROPIC_TOKENS_PER_IMAGE 1600
/* Role markers and turn separators the real API adds around each message. */
#define ANTHROPIC_TOKENS_PER_MESSAGE 4
/* The fixed framing of any request (and of a tool definition block, when there are tools). */
#define ANTHROPIC_TOKENS_BASE 8
#define ANTHROPIC_TOKENS_TOOLS_BASE 300
/* Extended thinking needs room: the real API's minimum budget. */
#define ANTHROPIC_MIN_THINKING_BUDGET 1024

typedef enum {
    ANTHROPIC_PARSE_MESSAGES = 0,
    ANTHROPIC_PARSE_COUNT_TOKENS = 1, /* max_tokens not required, stream ignored */
} anthropic_parse_mode_t;

typedef struct {
    yyjson_doc *doc;     /* root: the canonical request the engine takes (see anthropic_request.c) */
    const char *model;   /* the resolved model id; lives in doc */
    bool is_stream;
    bool has_tools;      /* a non-empty tools array (client tools: the engine offers them through MCP) */
    const char *effort;  /* output_config.effort: "low" | "medium" | "high" | NULL (static) */
} anthropic_request_t;

/* Validate and normalise a parsed request. Returns 0, or -1 with why naming the field (HTTP 400
 * invalid_request_error). out must be released with anthropic_request_free either way. */
int anthropic_request_parse(const config_t *cfg, yyjson_val *root, anthropic_parse_mode_t mode,
                            anthropic_request_t *out, api_problem_t *why);
void anthropic_request_free(anthropic_request_t *req);

/* The input-token estimate of a (validated) request: see anthropic_tokens.c for the method. */
int64_t anthropic_count_tokens(yyjson_val *request);

/* ---- the way back ---- */

/* One streamed response. Engine events pass through unchanged (tool input, signatures and cache counts
 * included); the state only lets the end of the stream be completed if the engine's events stop short. */
typedef struct {
    char fallback_id[96];  /* used for a synthesized message_start */
    const char *model;     /* borrowed: the resolved model id */
    bool has_started;      /* message_start went out */
    int open_block;        /* index of a started, not yet stopped content block, or -1 */
    int next_index;        /* the index the next content block gets */
    bool has_delta;        /* message_delta went out */
    bool has_stopped;      /* message_stop went out: nothing more may follow */
} anthropic_stream_t;

void anthropic_stream_init(anthropic_stream_t *st, const char *request_id, const char *model);
/* Append the frame of one engine event ("event: <type>\ndata: <json>\n\n"). Returns 0 or negative. */
int anthropic_stream_event(anthropic_stream_t *st, yyjson_val *event, buf_t *out);
/* The end of a good turn: whatever the events left out (block stop, message_delta, message_stop), taken
 * from the finished message; a whole stream when no event came at all. */
int anthropic_stream_finish(anthropic_stream_t *st, yyjson_val *message, buf_t *out);
/* "event: error" with the dialect's error object, for failures after the stream began. */
int anthropic_stream_error(const api_error_t *err, buf_t *out);
/* "event: ping" keep-alive, as the real API sends it. */
int anthropic_stream_ping(buf_t *out);

/* The non-streaming body from the finished message: id, type, role, model, content, stop_reason,
 * stop_sequence, usage with all four token counts. NULL on out-of-memory. */
yyjson_mut_doc *anthropic_message_build(yyjson_val *message, const char *fallback_id, const char *model);

/* Rate-limit info from the CLI (rate_limit_event or its rate_limit_info) → the anthropic-ratelimit-unified-*
 * headers it was read from (status, reset, representative-claim, overage-*, and the claim's window:
 * "-5h-utilization", "-5h-reset", "-5h-surpassed-threshold"). Calls set(name, value, arg) for each known
 * one; returns how many. */
int anthropic_ratelimit_headers(yyjson_val *info, void (*set)(const char *name, const char *value, void *arg),
                                void *arg);

#endif
