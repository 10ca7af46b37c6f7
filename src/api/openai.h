/*
 * The OpenAI Chat Completions adapter's pure parts: request conversion to the engine's canonical
 * Anthropic Messages request (openai_request.c) and the way back, engine events → chat.completion.chunk
 * SSE frames and a finished message → chat.completion (openai_stream.c). No I/O here: openai.c wires
 * them to HTTP and the engine.
 */
#ifndef CWP_API_OPENAI_H
#define CWP_API_OPENAI_H
#include <stdbool.h>
#include <stdint.h>
#include <yyjson.h>

#include "api/errors.h"
#include "api/turn_bridge.h"
#include "config.h"
#include "util/buf.h"

/* Used when the client gives neither max_tokens nor max_completion_tokens. The CLI itself asks upstream
 * for 32000, so a smaller default would only cut answers an OpenAI client expects whole. */
#define OPENAI_DEFAULT_MAX_TOKENS 32000
/* The CLI's structured output arrives as a call of this tool (`--json-schema`); its input is the answer. */
#define OPENAI_STRUCTURED_TOOL "StructuredOutput"

typedef struct {
    yyjson_mut_doc *doc;     /* root: the canonical Anthropic Messages request */
    const char *model;       /* the name the client asked for (echoed in responses); lives in doc */
    bool is_stream;
    bool include_usage;      /* stream_options.include_usage */
    char *json_schema;       /* response_format as a JSON Schema text (owned), or NULL */
    const char *effort;      /* "low" | "medium" | "high" | NULL (static) */
    /* Non-NULL when the request uses client tools (tools, tool_calls, role "tool"): the field that does
     * (for logs and tests; the canonical form carries the tools, the engine offers them through MCP). */
    const char *tools_param;
} openai_request_t;

/*
 * Convert a parsed Chat Completions request. Returns 0, or -1 with why filled (HTTP 400
 * invalid_request_error; why->param is OpenAI's "param", e.g. "messages[2].role"). out must be released with openai_request_free either way.
 */
int openai_request_convert(const config_t *cfg, yyjson_val *root, openai_request_t *out, api_problem_t *why);
void openai_request_free(openai_request_t *req);

/* "stop" | "length" | "tool_calls" | "content_filter" for an Anthropic stop_reason. */
const char *openai_finish_reason(const char *stop_reason);
/* "chatcmpl-<x>" from the message id "msg_<x>" (or from fallback when there is none). */
void openai_completion_id(const char *message_id, const char *fallback, char *out, size_t out_len);

/* A finished message (the engine's on_done) → a chat.completion document. NULL on out-of-memory. */
yyjson_mut_doc *openai_completion_build(yyjson_val *message, const char *id, const char *model, int64_t created,
                                        bool is_json_mode);

typedef enum {
    OPENAI_BLOCK_NONE,
    OPENAI_BLOCK_TEXT,
    OPENAI_BLOCK_THINKING,
    OPENAI_BLOCK_TOOL,
    OPENAI_BLOCK_STRUCTURED, /* the StructuredOutput call: its JSON is streamed as content */
    OPENAI_BLOCK_OTHER,
} openai_block_kind_t;

/* One streamed response. The engine streams blocks one after another, so the current one is enough. */
typedef struct {
    char id[96];
    const char *model;        /* borrowed: the requested name */
    int64_t created;
    bool include_usage;
    bool is_json_mode;
    bool has_begun;           /* the role chunk went out */
    bool has_tool_calls;      /* a client tool call was streamed */
    bool has_structured;      /* a StructuredOutput call was streamed as content */
    bool has_blocks;          /* a content block was streamed */
    openai_block_kind_t block;
    int tool_index;           /* index of the current tool call in delta.tool_calls */
    int tool_count;
    char stop_reason[32];
    int64_t input_tokens, cache_read_tokens, cache_creation_tokens, output_tokens;
} openai_stream_t;

void openai_stream_init(openai_stream_t *st, const char *fallback_id, const char *model, int64_t created,
                        bool include_usage, bool is_json_mode);
/* Append the SSE frames one engine event turns into (often none). Returns 0 or negative. */
int openai_stream_event(openai_stream_t *st, yyjson_val *event, buf_t *out);
/* The end of a good turn: the finish_reason chunk, the usage chunk if asked, then [DONE].
 * message is the engine's finished message (its stop_reason and usage win), or NULL. */
int openai_stream_finish(openai_stream_t *st, yyjson_val *message, buf_t *out);
/* The end of a failed turn whose stream already began: a chunk whose "error" key makes the openai SDK
 * throw APIError. No [DONE] follows, so clients that ignore the key still see a cut stream. */
int openai_stream_fail(openai_stream_t *st, const api_error_t *err, buf_t *out);

#endif
