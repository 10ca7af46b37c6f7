/*
 * One turn request as the engine keeps it: a private copy of the Anthropic request body, checked, with
 * the parts the engine needs picked out, and its conversation fingerprints computed.
 */
#ifndef CWP_ENGINE_REQUEST_H
#define CWP_ENGINE_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "engine/engine.h"
#include "engine/fingerprint.h"
#include "engine/tool_choice.h"
#include "engine/turn.h"

/* engine_request_t.thinking_tokens when the request leaves thinking to the CLI (no `thinking`, or
 * "adaptive"): the CLI's default, adaptive thinking where the model has it. */
#define ENGINE_THINKING_DEFAULT (-1)

typedef struct {
    yyjson_doc *doc;          /* owned copy of the body */
    const char *model;
    char *system;             /* the system prompt's text ("" when none) */
    yyjson_val *messages;
    size_t message_count;
    yyjson_val *last_content; /* the final user message's content: what is sent to the CLI (with the
                               * tool_choice reminder, when there is one) */
    yyjson_val *tools;        /* the tools offered to the model (tool_choice applied); NULL when none */
    tool_choice_t tool_choice;
    char *tool_reminder;      /* the tool_choice instruction (<system-reminder> text), or NULL */
    bool has_tool_results;    /* the final user message answers tool calls (a client-tools follow-up) */
    yyjson_doc *tools_doc;    /* owns tools and last_content when tool_choice changed them */
    const char *stop_sequences[TURN_MAX_STOP_SEQUENCES];
    size_t stop_count;
    int64_t max_tokens;       /* 0 = not given */
    yyjson_doc *json_schema;  /* parsed, or NULL */
    char *json_schema_text;
    char *effort;
    bool is_streamed;         /* turn_request_t.is_streamed */
    int64_t thinking_tokens;  /* budget > 0, 0 = thinking off, or ENGINE_THINKING_DEFAULT */
    char *request_id, *client, *endpoint;
    fingerprint_t history;    /* header + messages[0, n-1): what a reusable session must hold */
    fingerprint_ctx_t *conversation; /* header + all messages: extended with the reply when done */
} engine_request_t;

/* Returns 0, or -1 with a client-facing message in err (a 400). mode: "api" | "agent". */
int engine_request_init(engine_request_t *r, const turn_request_t *req, const char *mode, char *err, size_t err_len);
void engine_request_free(engine_request_t *r);
/* body.thinking ({"type":"enabled","budget_tokens":N} | {"type":"disabled"} | {"type":"adaptive"} | absent)
 * → *tokens as engine_request_t.thinking_tokens. Returns 0, or -1 with a message in err. */
int engine_request_thinking(yyjson_val *thinking, int64_t *tokens, char *err, size_t err_len);
static inline bool engine_request_has_history(const engine_request_t *r) { return r->message_count > 1; }

#endif
