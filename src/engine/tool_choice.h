/*
 * tool_choice: what a request lets (or makes) the model do with the client's tools.
 *
 * The CLI always asks upstream with tool_choice "auto" and has no per-request switch, so the proxy gets
 * the same effect from three things it does control:
 *   - the tools offered (the session's MCP tools/list): "none" offers none, a named tool offers only that
 *     tool, "auto" / "any" offer all. A conversation that already holds tool_use / tool_result blocks keeps
 *     its tools under "none" (the Messages API refuses such history without tool definitions);
 *   - a per-request instruction in a <system-reminder> text block (how Claude Code itself passes the model
 *     context): appended to the user line, or to the last tool result of a follow-up;
 *   - the permission answer (can_use_tool): a call the choice does not allow is denied.
 * parallel tool use off (Anthropic disable_parallel_tool_use, OpenAI parallel_tool_calls:false) is an
 * instruction only. Pure functions, no I/O.
 */
#ifndef CWP_ENGINE_TOOL_CHOICE_H
#define CWP_ENGINE_TOOL_CHOICE_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#define TOOL_CHOICE_MAX_NAME 128
#define TOOL_CHOICE_MAX_REMINDER 512
#ifndef CLIENT_TOOL_PREFIX
#define CLIENT_TOOL_PREFIX "mcp__client__" /* how the model knows the client's tools */
#endif

typedef enum {
    TOOL_CHOICE_AUTO,
    TOOL_CHOICE_NONE,
    TOOL_CHOICE_ANY,
    TOOL_CHOICE_TOOL,
} tool_choice_kind_t;

typedef struct {
    tool_choice_kind_t kind;
    char name[TOOL_CHOICE_MAX_NAME]; /* TOOL_CHOICE_TOOL: the client's name of the tool */
    bool is_parallel_disabled;
} tool_choice_t;

/* An Anthropic tool_choice object (NULL or null: auto). Returns 0, or -1 with a client-facing message. */
int tool_choice_parse(yyjson_val *choice, tool_choice_t *out, char *err, size_t err_len);

/* Do the messages hold tool_use or tool_result blocks? */
bool tool_choice_history_has_tools(yyjson_val *messages);
/* Does this content (a user message's) carry tool_result blocks? */
bool tool_choice_has_results(yyjson_val *content);

/*
 * The tools to offer, as a new array in doc (*offered NULL: offer none). tools is the request's array
 * (NULL when none). Returns 0, or -1 with a message (a named tool that is not among tools).
 */
int tool_choice_offered(const tool_choice_t *c, yyjson_val *tools, bool history_has_tools, yyjson_mut_doc *doc,
                        yyjson_mut_val **offered, char *err, size_t err_len);

/* The instruction for the model, wrapped in <system-reminder> tags, into out; false when none is needed. */
bool tool_choice_reminder(const tool_choice_t *c, bool has_offered_tools, char *out, size_t out_len);

/* content (a string or blocks) with one more text block holding text, as a new value in doc. */
yyjson_mut_val *tool_choice_append_text(yyjson_mut_doc *doc, yyjson_val *content, const char *text);

/*
 * A follow-up whose parked session is gone is seeded into a new process, results and all: messages with
 * text added to the content of the final message's last tool_result (where a parked session gets the
 * reminder too), as a new document whose root is the array. NULL when out of memory.
 */
yyjson_doc *tool_choice_seed_messages(yyjson_val *messages, const char *text);

/* Is a call of this tool (the model's name, "mcp__client__x", or the client's "x") allowed by c? */
bool tool_choice_allows(const tool_choice_t *c, const char *tool_name);

#endif
