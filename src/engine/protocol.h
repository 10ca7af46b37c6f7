/*
 * The CLI's SDK protocol, one NDJSON line at a time: classify what the CLI writes, build what we send.
 * Pure functions (no loop, no I/O), so they are unit-tested directly. See docs/protocol-notes.md.
 */
#ifndef CWP_ENGINE_PROTOCOL_H
#define CWP_ENGINE_PROTOCOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "engine/engine.h"

typedef enum {
    PROTO_GARBAGE,          /* not JSON, invalid UTF-8, or not an object with a string "type" */
    PROTO_UNKNOWN,          /* a type we do not know: ignored */
    PROTO_STREAM_EVENT,     /* {"type":"stream_event","event":{...}} */
    PROTO_ASSISTANT,        /* a finished content block (or a synthetic error message) */
    PROTO_USER,             /* echo of a tool result, local command output */
    PROTO_RESULT,           /* the turn is over */
    PROTO_SYSTEM,           /* init, status, api_retry, ... */
    PROTO_CONTROL_REQUEST,  /* the CLI asks the host */
    PROTO_CONTROL_RESPONSE, /* the CLI answers one of ours */
    PROTO_CONTROL_CANCEL,   /* the CLI withdraws one of its requests */
    PROTO_KEEP_ALIVE,
    PROTO_RATE_LIMIT,       /* rate_limit_event */
} proto_kind_t;

typedef struct {
    proto_kind_t kind;
    yyjson_doc *doc;     /* owned: proto_line_free */
    yyjson_val *root;
    const char *subtype; /* system/result subtype, control request subtype, or NULL */
    const char *request_id; /* control_request / control_response / control_cancel_request */
} proto_line_t;

/* Always fills out (kind PROTO_GARBAGE on failure; doc NULL). */
void proto_parse_line(const char *line, size_t len, proto_line_t *out);
void proto_line_free(proto_line_t *l);
const char *proto_kind_name(proto_kind_t kind);

/* For a control_response: did it succeed? (error text in *error when not) */
bool proto_control_response_ok(yyjson_val *root, const char **error);
/* The `models` array of an initialize control_response (the models the CLI knows), or NULL. */
yyjson_val *proto_initialize_models(yyjson_val *root);

/* ---- lines we send (malloc'd, no '\n'; NULL when out of memory) ---- */

typedef struct {
    const char *request_id;
    const char *system_prompt;        /* replaces Claude Code's prompt; "" = none at all; NULL = keep it */
    const char *append_system_prompt; /* NULL = none */
    yyjson_val *json_schema;          /* an object, or NULL */
    bool has_client_mcp;              /* declare the host-served MCP server "client" */
} proto_initialize_t;

char *proto_build_initialize(const proto_initialize_t *init, size_t *len);
/* A user turn; content is a string or an array of content blocks (copied). uuid (or NULL) names the
 * message, so that rewind_conversation can take it back. */
char *proto_build_user(yyjson_val *content, const char *uuid, size_t *len);
/* rewind_conversation: drop the user message named uuid and everything after it. The CLI answers
 * {rewound: bool, error?}. */
char *proto_build_rewind(const char *request_id, const char *uuid, size_t *len);
/* Did this control_response say the rewind was made? (false also for a refusal or an error answer). */
bool proto_rewind_done(yyjson_val *root, const char **error);
char *proto_build_interrupt(const char *request_id, size_t *len);
/* set_max_thinking_tokens, which the CLI applies from its next upstream request on: N > 0 a thinking
 * budget (models with adaptive thinking stay adaptive), 0 thinking off, < 0 (sent as null) its default. */
char *proto_build_set_thinking(const char *request_id, int64_t max_thinking_tokens, size_t *len);
/* mcp_set_servers: the host-served servers from now on (just "client", or none). The CLI answers
 * {added, removed}; a server added again is initialized and its tools listed anew. */
char *proto_build_mcp_set_servers(const char *request_id, bool has_client_mcp, size_t *len);
/* set_model: the CLI's next upstream request uses this model (thinking and max_tokens follow it). */
char *proto_build_set_model(const char *request_id, const char *model, size_t *len);
/* control_response success; response may be NULL (empty object). */
char *proto_build_control_success(const char *request_id, yyjson_val *response, size_t *len);
char *proto_build_control_error(const char *request_id, const char *message, size_t *len);
/* Answer to can_use_tool. */
char *proto_build_permission(const char *request_id, bool allow, yyjson_val *input, const char *deny_message,
                             size_t *len);

/* ---- upstream errors ---- */

/* The upstream's own words out of the CLI's error text: "API Error: 400 {json}" → error.message,
 * "API Error: 500 text. This is a server-side issue..." → "text"; otherwise the text itself. */
void proto_extract_upstream_message(const char *text, char *out, size_t out_len);

/* The HTTP status in the CLI's error text ("API Error: 429 {json}", "API Error: Request rejected (429) · ...",
 * 2.1.100's unknown-model wording → 404), for CLIs whose result has no api_error_status; 0 if none. */
int proto_error_status(const char *text);

/* Map a failed result (api_error_status, the synthetic assistant line's "error" kind) to an engine
 * error. message is borrowed into out. */
void proto_map_error(int api_error_status, const char *error_kind, const char *message, engine_error_t *out);

#endif
