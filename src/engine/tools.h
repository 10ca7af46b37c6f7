/*
 * Client tools: the request's tools offered to the model through the host-served MCP server "client"
 * (the model sees "mcp__client__<name>"). This module answers the CLI's mcp_message requests:
 * initialize, notifications/initialized, tools/list (from the session's tool set: empty when none),
 * and holds tools/call requests pending, keyed by the model's tool_use id
 * (params._meta["claudecode/toolUseId"]), until the client's tool_result arrives.
 *
 * NEXT STEP (client tools issue): end the HTTP response at the tool_use with the session in state
 * "waiting"; when the client's next request carries the tool_result for a pending id, route it to that
 * session (pool lookup by tools_find) and answer with tools_build_result(); tools_cancel() when the CLI
 * withdraws a call (control_cancel_request). The CLI waits for the answer (tested: minutes are fine).
 * Caveat: the CLI asks tools/list once at start-up (2.1.197), before the first user line, and gives up
 * after 30 s: a process must know its tools when it starts (warm processes have none).
 */
#ifndef CWP_ENGINE_TOOLS_H
#define CWP_ENGINE_TOOLS_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#define TOOLS_MAX_PENDING 64

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

typedef enum {
    TOOLS_REPLIED,  /* *reply holds the control_response line to send */
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
/* The CLI withdrew a request (control_cancel_request): forget it. Returns true if it was pending. */
bool tools_cancel(tools_t *t, const char *request_id);

#endif
