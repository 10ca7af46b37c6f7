/*
 * The OpenAI Responses adapter (/v1/responses) and its pure parts:
 *   responses_request.c  a Responses body → a Chat Completions body, converted to the canonical request by
 *                        the Chat Completions converter (one copy of message handling), errors renamed to
 *                        the Responses fields (input[3].content, tools[2].type, ...)
 *   responses_output.c   engine blocks → output items and "response.*" SSE events; the response object
 *   responses_store.c    kept responses (previous_response_id, GET, DELETE), bounded, oldest dropped first
 *   responses.c          HTTP wiring: the routes, one engine turn through turn_bridge
 */
#ifndef CWP_API_RESPONSES_H
#define CWP_API_RESPONSES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "api/openai.h"
#include "config.h"
#include "util/buf.h"

/* What the store keeps by default: bounded by count and by bytes (request history + response). */
#define RESPONSES_STORE_MAX_COUNT 256
#define RESPONSES_STORE_MAX_BYTES (64u * 1024u * 1024u)
/* Names of custom (freeform) tools and namespaces seen in one request: enough for Codex's few. */
#define RESPONSES_MAX_NAMED_TOOLS 64

/* A tool the Responses client gave in a shape other than a flat function: how its calls go back. */
typedef struct {
    char *name;       /* the name offered to the model */
    char *namespace_; /* the namespace it came from (a namespace tool's member), or NULL */
    bool is_custom;   /* a custom (freeform) tool: its one string input travels as {"input": "..."} */
} responses_tool_t;

typedef struct {
    openai_request_t chat;      /* the canonical request and its options (model echo, stream, schema, effort) */
    yyjson_mut_doc *echo_doc;   /* root: the request's fields a response object echoes (tools, text, ...) */
    yyjson_mut_doc *input_doc;  /* root: this turn's conversation in Responses items (history + input) */
    responses_tool_t tools[RESPONSES_MAX_NAMED_TOOLS];
    size_t tool_count;
    bool is_stored;             /* store (default true) */
    const char *previous_id;    /* previous_response_id (in echo_doc), or NULL */
} responses_request_t;

typedef struct responses_store_s responses_store_t;

/*
 * Convert a parsed Responses request. history is the kept conversation of previous_response_id (a JSON
 * array of items, borrowed), or NULL. Returns 0, or -1 with why filled (400 invalid_request_error, param
 * naming the Responses field). out must be released with responses_request_free either way.
 */
int responses_request_convert(const config_t *cfg, yyjson_val *root, yyjson_val *history, responses_request_t *out,
                              api_problem_t *why);
void responses_request_free(responses_request_t *req);
/* How a call of tool `name` goes back to the client, or NULL for a flat function tool. */
const responses_tool_t *responses_request_tool(const responses_request_t *req, const char *name);

/* ---- output: items and events ---- */

typedef enum {
    RESPONSES_ITEM_NONE,
    RESPONSES_ITEM_MESSAGE,   /* text block → message item with one output_text part */
    RESPONSES_ITEM_REASONING, /* thinking block → reasoning item with one summary_text */
    RESPONSES_ITEM_FUNCTION,  /* tool_use → function_call */
    RESPONSES_ITEM_CUSTOM,    /* tool_use of a custom tool → custom_tool_call */
    RESPONSES_ITEM_STRUCTURED,/* the StructuredOutput call (text.format) → message item with its JSON */
    RESPONSES_ITEM_SKIPPED,
} responses_item_kind_t;

/* One response being built, streamed (is_stream: frames into the out buffer) or whole. */
typedef struct {
    const responses_request_t *req; /* borrowed: tools, JSON mode, echo */
    char id[96];                    /* "resp_<x>" */
    int64_t created_at;
    bool is_stream;
    bool has_begun;                 /* response.created went out */
    bool has_blocks;                /* an engine block arrived */
    bool has_structured;
    int64_t sequence;
    yyjson_mut_doc *doc;            /* the items, finished ones in output */
    yyjson_mut_val *output;
    /* the item being built */
    responses_item_kind_t kind;
    char item_id[160];
    char call_id[112];
    char name[128];
    buf_t text;                     /* text, reasoning summary or arguments so far */
    char stop_reason[32];
    int64_t input_tokens, cache_read_tokens, cache_creation_tokens, output_tokens;
} responses_output_t;

/* fallback_id names the response until the engine's message id is known ("resp_<fallback>"). */
int responses_output_init(responses_output_t *o, const responses_request_t *req, const char *fallback_id,
                          int64_t created_at, bool is_stream);
void responses_output_free(responses_output_t *o);
/* One engine stream event; streamed frames are appended to out (often none). Returns 0 or negative. */
int responses_output_event(responses_output_t *o, yyjson_val *event, buf_t *out);
/* The finished message (blocks not yet seen are replayed from it), then response.completed / .incomplete. */
int responses_output_finish(responses_output_t *o, yyjson_val *message, buf_t *out);
/* A failure after the stream began: an "error" event, then response.failed. */
int responses_output_fail(responses_output_t *o, const api_error_t *err, buf_t *out);
/* The response object as it stands (status "completed"/"incomplete" once finished), into doc. */
yyjson_mut_val *responses_output_object(responses_output_t *o, yyjson_mut_doc *doc, const char *status);
/* "completed" or "incomplete" (max_output_tokens) for the finished turn. */
const char *responses_output_status(const responses_output_t *o);

/* ---- the store ---- */

responses_store_t *responses_store_new(size_t max_count, size_t max_bytes);
void responses_store_free(responses_store_t *st);
/* Keep a response: its object (JSON text) and the conversation to continue it (JSON array text, the
 * request's items + the output items). Takes both strings (malloc'ed). Replaces an entry of the same id. */
int responses_store_put(responses_store_t *st, const char *id, char *response_json, char *history_json);
/* Borrowed until the next put/delete; NULL when unknown. */
const char *responses_store_response(const responses_store_t *st, const char *id);
const char *responses_store_history(const responses_store_t *st, const char *id);
bool responses_store_delete(responses_store_t *st, const char *id);
size_t responses_store_count(const responses_store_t *st);
size_t responses_store_bytes(const responses_store_t *st);

#endif
