/*
 * Client tools: the request's tools offered to the model through the host-served MCP server "client"
 * (the model sees "mcp__client__<name>"). This module answers the CLI's mcp_message requests:
 * initialize, notifications/initialized, tools/list (from the session's tool set: empty when none),
 * and holds tools/call requests pending, keyed by the model's tool_use id
 * (params._meta["claudecode/toolUseId"]), until the client's tool_result arrives.
 *
 * The exchange (session_tools.c drives it):
 *   1. the model's message ends with client tool_use blocks; the CLI sends tools/call for the first
 *      (for all at once only when it runs them concurrently) and waits: the HTTP response ends there and
 *      each tool_use id given to the client is "awaited" (tools_await);
 *   2. the client's next request brings the results: tools_answer() answers a pending call at once, and
 *      keeps the answer of a call not yet made (the CLI runs non-read-only tools one after another), so
 *      its tools/call is answered the moment it arrives;
 *   3. tools_cancel() when the CLI withdraws a call (control_cancel_request).
 * The CLI asks tools/list once per connection of the server: after initialize (2.1.197), or at start-up
 * before we send anything (2.1.332). A warm process given tools after that reconnects the server
 * (mcp_set_servers without it, then with it), and the CLI lists them again before the next turn.
 */
#ifndef CWP_ENGINE_TOOLS_H
#define CWP_ENGINE_TOOLS_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#include "engine/tool_choice.h"

#define TOOLS_MAX_PENDING 64 /* tools/call requests held, and tool_use ids awaited */

typedef struct tools_s tools_t;

typedef struct {
    char *request_id;  /* the CLI's control request id, to answer */
    char *tool_use_id; /* the model's tool_use id */
    char *name;        /* the client's tool name (no prefix) */
    yyjson_val *jsonrpc_id; /* in doc */
    yyjson_doc *doc;   /* the mcp_message request */
} tools_pending_t;

tools_t *tools_new(void);
void tools_free(tools_t *t);
/* The tool set offered (Anthropic tools array; copied). NULL or empty: none. */
int tools_set(tools_t *t, yyjson_val *anthropic_tools);
size_t tools_count(const tools_t *t);
/* The CLI has listed the tools (2.1.332 does so at start-up, before any line from us): a new set
 * reaches it only by reconnecting the server (mcp_set_servers). */
bool tools_is_listed(const tools_t *t);

typedef enum {
    TOOLS_REPLIED,  /* *reply holds the control_response line to send (a tools/call the client had
                     * already answered included) */
    TOOLS_PENDING,  /* a tools/call now pending: answer later */
    TOOLS_ERROR,    /* *reply holds an error control_response */
} tools_outcome_t;

/*
 * One mcp_message control request (the whole line's root). *reply is malloc'd (no '\n').
 */
tools_outcome_t tools_handle(tools_t *t, yyjson_val *control_request, char **reply, size_t *reply_len);

size_t tools_pending_count(const tools_t *t);
const tools_pending_t *tools_pending_at(const tools_t *t, size_t i);
const tools_pending_t *tools_find(const tools_t *t, const char *tool_use_id);
/* Answer a pending call with the client's tool_result content (string or blocks) and remove it.
 * Returns the control_response line (malloc'd) or NULL when the id is unknown. */
char *tools_build_result(tools_t *t, const char *tool_use_id, yyjson_val *content, bool is_error, size_t *len);

/* Forget what earlier turns left (a new user turn begins). */
void tools_reset_awaited(tools_t *t);
/* The client was given this tool_use id; its result comes with the next request. Returns 0 or -1 (full). */
int tools_await(tools_t *t, const char *tool_use_id);
/* Awaited (given to the client, not yet answered) or pending (the CLI waits on it). */
bool tools_is_awaited(const tools_t *t, const char *tool_use_id);
/* The awaited or pending id a client's tool_use_id stands for: the same id, else the only one that is
 * equal to it in its letters and digits (clients such as OpenClaw keep only [A-Za-z0-9] of an id).
 * NULL: none, or ambiguous. The string is the tool set's (valid until that call is answered). */
const char *tools_match_id(const tools_t *t, const char *client_id);
/* Awaited ids the client has not answered yet, in the order they were given; returns how many (<= max). */
size_t tools_unanswered(const tools_t *t, const char **ids, size_t max);

/*
 * The client's tool_result for tool_use_id: content (string, blocks, or NULL), is_error, and extra_text
 * (appended as one more text item; NULL = none). When the CLI waits on that call, *reply is the
 * control_response line (malloc'd) to send; when its tools/call has not come yet, the answer is kept and
 * *reply is NULL. Returns 0, or -1 when the id is neither awaited nor pending (or out of memory).
 */
int tools_answer(tools_t *t, const char *tool_use_id, yyjson_val *content, bool is_error, const char *extra_text,
                 char **reply, size_t *len);

/* The turn's tool_choice, for can_use_tool: which client tools the model may call now. */
void tools_set_choice(tools_t *t, const tool_choice_t *choice);
bool tools_is_allowed(const tools_t *t, const char *tool_name);
/* The CLI withdrew a request (control_cancel_request): forget it. Returns true if it was pending. */
bool tools_cancel(tools_t *t, const char *request_id);

#endif
