#include "engine/tools.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"

#define MCP_PROTOCOL_VERSION "2025-06-18"

typedef struct {
    char *tool_use_id;
    yyjson_doc *answer; /* the MCP tools/call result, once the client gave it; NULL until then */
} awaited_t;

struct tools_s {
    yyjson_doc *list; /* {"tools":[{name, description, inputSchema}]} ready to send */
    bool is_listed;   /* the CLI has been sent a tools/list answer */
    size_t count;
    tools_pending_t pending[TOOLS_MAX_PENDING];
    size_t pending_count;
    awaited_t awaited[TOOLS_MAX_PENDING];
    size_t awaited_count;
    tool_choice_t choice;
};

tools_t *tools_new(void) {
    tools_t *t = calloc(1, sizeof *t);
    if (t && tools_set(t, NULL) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

static void pending_clear(tools_pending_t *p) {
    free(p->request_id);
    free(p->tool_use_id);
    free(p->name);
    yyjson_doc_free(p->doc);
    memset(p, 0, sizeof *p);
}

static void awaited_remove(tools_t *t, size_t i) {
    free(t->awaited[i].tool_use_id);
    yyjson_doc_free(t->awaited[i].answer);
    /* Keep the order: the client is told about calls in this order, and unanswered ones are reported so. */
    memmove(&t->awaited[i], &t->awaited[i + 1], (t->awaited_count - i - 1) * sizeof t->awaited[0]);
    t->awaited_count--;
    memset(&t->awaited[t->awaited_count], 0, sizeof t->awaited[0]);
}

void tools_reset_awaited(tools_t *t) {
    while (t->awaited_count) awaited_remove(t, t->awaited_count - 1);
}

void tools_free(tools_t *t) {
    if (!t) return;
    for (size_t i = 0; i < t->pending_count; i++) pending_clear(&t->pending[i]);
    tools_reset_awaited(t);
    yyjson_doc_free(t->list);
    free(t);
}

int tools_set(tools_t *t, yyjson_val *tools) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return -1;
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    size_t i, max, count = 0;
    yyjson_val *tool;
    yyjson_arr_foreach(tools, i, max, tool) {
        const char *name = yyjson_get_str(yyjson_obj_get(tool, "name"));
        if (!name) continue; /* server tools (web_search, ...) have a type but the CLI can't host them */
        yyjson_mut_val *o = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_strcpy(doc, o, "name", name);
        const char *desc = yyjson_get_str(yyjson_obj_get(tool, "description"));
        if (desc) yyjson_mut_obj_add_strcpy(doc, o, "description", desc);
        yyjson_val *schema = yyjson_obj_get(tool, "input_schema");
        if (yyjson_is_obj(schema)) yyjson_mut_obj_add_val(doc, o, "inputSchema", yyjson_val_mut_copy(doc, schema));
        else {
            yyjson_mut_val *s = yyjson_mut_obj(doc);
            yyjson_mut_obj_add_str(doc, s, "type", "object");
            yyjson_mut_obj_add_val(doc, o, "inputSchema", s);
        }
        yyjson_mut_arr_append(arr, o);
        count++;
    }
    yyjson_mut_obj_add_val(doc, root, "tools", arr);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_doc *list = yyjson_mut_doc_imut_copy(doc, NULL);
    yyjson_mut_doc_free(doc);
    if (!list) return -1;
    yyjson_doc_free(t->list);
    t->list = list;
    t->count = count;
    return 0;
}

size_t tools_count(const tools_t *t) { return t->count; }
bool tools_is_listed(const tools_t *t) { return t->is_listed; }

/* control_response success carrying {"mcp_response": {"jsonrpc":"2.0","id":id,"result":result}}. */
static char *mcp_reply(const char *request_id, yyjson_val *id, yyjson_mut_doc *doc, yyjson_mut_val *result,
                       size_t *len) {
    yyjson_mut_val *rpc = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, rpc, "jsonrpc", "2.0");
    yyjson_mut_obj_add_val(doc, rpc, "id", id ? yyjson_val_mut_copy(doc, id) : yyjson_mut_int(doc, 0));
    yyjson_mut_obj_add_val(doc, rpc, "result", result);
    yyjson_mut_val *resp = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_val(doc, resp, "mcp_response", rpc);
    yyjson_mut_doc_set_root(doc, resp);
    yyjson_doc *imut = yyjson_mut_doc_imut_copy(doc, NULL);
    yyjson_mut_doc_free(doc);
    if (!imut) return NULL;
    char *line = proto_build_control_success(request_id, yyjson_doc_get_root(imut), len);
    yyjson_doc_free(imut);
    return line;
}

static const char *tool_use_id_of(yyjson_val *params) {
    return yyjson_get_str(yyjson_obj_get(yyjson_obj_get(params, "_meta"), "claudecode/toolUseId"));
}

static size_t awaited_index(const tools_t *t, const char *tool_use_id) {
    for (size_t i = 0; i < t->awaited_count; i++)
        if (!strcmp(t->awaited[i].tool_use_id, tool_use_id)) return i;
    return SIZE_MAX;
}

/* A tools/call: answered at once when the client already gave its result, else held. */
static tools_outcome_t on_tools_call(tools_t *t, const char *request_id, yyjson_val *msg, char **reply, size_t *len) {
    yyjson_val *params = yyjson_obj_get(msg, "params");
    const char *tool_use_id = tool_use_id_of(params);
    const char *name = yyjson_get_str(yyjson_obj_get(params, "name"));
    if (!tool_use_id || !name || t->pending_count == TOOLS_MAX_PENDING) {
        *reply = proto_build_control_error(request_id, "cannot hold this tool call", len);
        return TOOLS_ERROR;
    }
    size_t a = awaited_index(t, tool_use_id);
    if (a != SIZE_MAX && t->awaited[a].answer) {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *result = doc ? yyjson_val_mut_copy(doc, yyjson_doc_get_root(t->awaited[a].answer)) : NULL;
        *reply = result ? mcp_reply(request_id, yyjson_obj_get(msg, "id"), doc, result, len) : NULL;
        if (!result) yyjson_mut_doc_free(doc);
        if (!*reply) return TOOLS_ERROR;
        awaited_remove(t, a);
        return TOOLS_REPLIED;
    }
    tools_pending_t *p = &t->pending[t->pending_count];
    yyjson_mut_doc *copy = yyjson_mut_doc_new(NULL);
    if (copy) yyjson_mut_doc_set_root(copy, yyjson_val_mut_copy(copy, msg));
    p->doc = copy ? yyjson_mut_doc_imut_copy(copy, NULL) : NULL;
    yyjson_mut_doc_free(copy);
    p->request_id = strdup(request_id);
    p->tool_use_id = strdup(tool_use_id);
    if (!strncmp(name, CLIENT_TOOL_PREFIX, strlen(CLIENT_TOOL_PREFIX))) name += strlen(CLIENT_TOOL_PREFIX);
    p->name = strdup(name);
    p->jsonrpc_id = yyjson_obj_get(yyjson_doc_get_root(p->doc), "id");
    if (!p->doc || !p->request_id || !p->tool_use_id || !p->name) {
        pending_clear(p);
        return TOOLS_ERROR;
    }
    t->pending_count++;
    return TOOLS_PENDING;
}

tools_outcome_t tools_handle(tools_t *t, yyjson_val *line, char **reply, size_t *reply_len) {
    *reply = NULL;
    const char *request_id = yyjson_get_str(yyjson_obj_get(line, "request_id"));
    yyjson_val *request = yyjson_obj_get(line, "request");
    const char *server = yyjson_get_str(yyjson_obj_get(request, "server_name"));
    yyjson_val *msg = yyjson_obj_get(request, "message");
    const char *method = yyjson_get_str(yyjson_obj_get(msg, "method"));
    yyjson_val *id = yyjson_obj_get(msg, "id");
    if (!request_id) return TOOLS_ERROR;
    if (!server || strcmp(server, "client") != 0 || !method) {
        *reply = proto_build_control_error(request_id, "unknown MCP server or message", reply_len);
        return TOOLS_ERROR;
    }
    if (!strcmp(method, "tools/call")) return on_tools_call(t, request_id, msg, reply, reply_len);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return TOOLS_ERROR;
    yyjson_mut_val *result;
    if (!strcmp(method, "initialize")) {
        result = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, result, "protocolVersion", MCP_PROTOCOL_VERSION);
        yyjson_mut_val *caps = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_val(doc, caps, "tools", yyjson_mut_obj(doc));
        yyjson_mut_obj_add_val(doc, result, "capabilities", caps);
        yyjson_mut_val *info = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, info, "name", "client");
        yyjson_mut_obj_add_str(doc, info, "version", "1.0.0");
        yyjson_mut_obj_add_val(doc, result, "serverInfo", info);
    } else if (!strcmp(method, "tools/list")) {
        result = yyjson_val_mut_copy(doc, yyjson_doc_get_root(t->list));
        t->is_listed = true;
    } else {
        /* notifications/initialized and anything else: an empty result keeps the CLI going */
        result = yyjson_mut_obj(doc);
    }
    *reply = mcp_reply(request_id, id, doc, result, reply_len);
    return *reply ? TOOLS_REPLIED : TOOLS_ERROR;
}

size_t tools_pending_count(const tools_t *t) { return t->pending_count; }

const tools_pending_t *tools_pending_at(const tools_t *t, size_t i) {
    return i < t->pending_count ? &t->pending[i] : NULL;
}

static size_t find_index(const tools_t *t, const char *tool_use_id) {
    for (size_t i = 0; i < t->pending_count; i++)
        if (!strcmp(t->pending[i].tool_use_id, tool_use_id)) return i;
    return SIZE_MAX;
}

const tools_pending_t *tools_find(const tools_t *t, const char *tool_use_id) {
    size_t i = find_index(t, tool_use_id);
    return i == SIZE_MAX ? NULL : &t->pending[i];
}

static void remove_at(tools_t *t, size_t i) {
    pending_clear(&t->pending[i]);
    t->pending[i] = t->pending[t->pending_count - 1];
    memset(&t->pending[t->pending_count - 1], 0, sizeof t->pending[0]);
    t->pending_count--;
}

/* ---- results: a tool_result's content in MCP's words ---- */

static bool add_text(yyjson_mut_doc *doc, yyjson_mut_val *items, const char *text, size_t len) {
    if (len == 0) return true; /* the Messages API refuses empty text blocks */
    yyjson_mut_val *b = yyjson_mut_arr_add_obj(doc, items);
    return b && yyjson_mut_obj_add_str(doc, b, "type", "text") && yyjson_mut_obj_add_strncpy(doc, b, "text", text, len);
}

/* One Anthropic content block → MCP content items: text stays text, a base64 image becomes MCP's image
 * (the CLI turns it back into an image block for the model); what MCP cannot carry becomes a text note. */
static bool add_block(yyjson_mut_doc *doc, yyjson_mut_val *items, yyjson_val *block) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    yyjson_val *source = yyjson_obj_get(block, "source");
    const char *source_type = yyjson_get_str(yyjson_obj_get(source, "type"));
    if (!type) return true;
    if (!strcmp(type, "text")) {
        yyjson_val *text = yyjson_obj_get(block, "text");
        return add_text(doc, items, yyjson_get_str(text), yyjson_get_len(text));
    }
    if (!strcmp(type, "image") && source_type && !strcmp(source_type, "base64")) {
        yyjson_mut_val *b = yyjson_mut_arr_add_obj(doc, items);
        yyjson_val *data = yyjson_obj_get(source, "data"), *media = yyjson_obj_get(source, "media_type");
        return b && yyjson_mut_obj_add_str(doc, b, "type", "image") &&
               yyjson_mut_obj_add_strncpy(doc, b, "data", yyjson_get_str(data) ? yyjson_get_str(data) : "",
                                          yyjson_get_len(data)) &&
               yyjson_mut_obj_add_strcpy(doc, b, "mimeType", yyjson_get_str(media) ? yyjson_get_str(media) : "image/png");
    }
    if (!strcmp(type, "document") && source_type && !strcmp(source_type, "text")) {
        yyjson_val *data = yyjson_obj_get(source, "data");
        return add_text(doc, items, yyjson_get_str(data), yyjson_get_len(data));
    }
    const char *url = yyjson_get_str(yyjson_obj_get(source, "url"));
    char note[256];
    int n = url ? snprintf(note, sizeof note, "[%s: %.200s]", type, url) : snprintf(note, sizeof note, "[%s]", type);
    return add_text(doc, items, note, (size_t)n < sizeof note ? (size_t)n : sizeof note - 1);
}

/* {"content":[...], "isError"?: true} in doc. */
static yyjson_mut_val *mcp_result(yyjson_mut_doc *doc, yyjson_val *content, bool is_error, const char *extra_text) {
    yyjson_mut_val *result = yyjson_mut_obj(doc);
    yyjson_mut_val *items = yyjson_mut_arr(doc);
    if (!result || !items) return NULL;
    bool ok = true;
    if (yyjson_is_str(content)) {
        ok = add_text(doc, items, yyjson_get_str(content), yyjson_get_len(content));
    } else {
        size_t i, max;
        yyjson_val *block;
        yyjson_arr_foreach(content, i, max, block) ok = ok && add_block(doc, items, block);
    }
    if (ok && extra_text) ok = add_text(doc, items, extra_text, strlen(extra_text));
    if (!ok || !yyjson_mut_obj_add_val(doc, result, "content", items)) return NULL;
    if (is_error && !yyjson_mut_obj_add_bool(doc, result, "isError", true)) return NULL;
    return result;
}

char *tools_build_result(tools_t *t, const char *tool_use_id, yyjson_val *content, bool is_error, size_t *len) {
    char *line = NULL;
    if (find_index(t, tool_use_id) == SIZE_MAX) return NULL;
    return tools_answer(t, tool_use_id, content, is_error, NULL, &line, len) == 0 ? line : NULL;
}

int tools_answer(tools_t *t, const char *tool_use_id, yyjson_val *content, bool is_error, const char *extra_text,
                 char **reply, size_t *len) {
    *reply = NULL;
    size_t p = find_index(t, tool_use_id);
    size_t a = awaited_index(t, tool_use_id);
    if (p == SIZE_MAX && (a == SIZE_MAX || t->awaited[a].answer)) return -1;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *result = doc ? mcp_result(doc, content, is_error, extra_text) : NULL;
    if (!result) {
        yyjson_mut_doc_free(doc);
        return -1;
    }
    if (p != SIZE_MAX) {
        *reply = mcp_reply(t->pending[p].request_id, t->pending[p].jsonrpc_id, doc, result, len);
        if (!*reply) return -1;
        remove_at(t, p);
        if (a != SIZE_MAX) awaited_remove(t, a);
        return 0;
    }
    yyjson_mut_doc_set_root(doc, result);
    t->awaited[a].answer = yyjson_mut_doc_imut_copy(doc, NULL);
    yyjson_mut_doc_free(doc);
    return t->awaited[a].answer ? 0 : -1;
}

int tools_await(tools_t *t, const char *tool_use_id) {
    if (awaited_index(t, tool_use_id) != SIZE_MAX) return 0;
    if (t->awaited_count == TOOLS_MAX_PENDING) return -1;
    char *id = strdup(tool_use_id);
    if (!id) return -1;
    t->awaited[t->awaited_count++] = (awaited_t){.tool_use_id = id};
    return 0;
}

bool tools_is_awaited(const tools_t *t, const char *tool_use_id) {
    size_t a = awaited_index(t, tool_use_id);
    return (a != SIZE_MAX && !t->awaited[a].answer) || find_index(t, tool_use_id) != SIZE_MAX;
}

/* Equal once everything but [A-Za-z0-9] is dropped from both ("toolu_abc_1" and "tooluabc1"). */
static bool alnum_equal(const char *a, const char *b) {
    for (;;) {
        while (*a && !isalnum((unsigned char)*a)) a++;
        while (*b && !isalnum((unsigned char)*b)) b++;
        if (!*a || !*b) return !*a && !*b;
        if (*a++ != *b++) return false;
    }
}

const char *tools_match_id(const tools_t *t, const char *client_id) {
    size_t a = awaited_index(t, client_id);
    if (a != SIZE_MAX && !t->awaited[a].answer) return t->awaited[a].tool_use_id;
    size_t p = find_index(t, client_id);
    if (p != SIZE_MAX) return t->pending[p].tool_use_id;
    const char *found = NULL;
    for (size_t i = 0; i < t->awaited_count; i++) {
        if (t->awaited[i].answer || !alnum_equal(t->awaited[i].tool_use_id, client_id)) continue;
        if (found) return NULL; /* ambiguous */
        found = t->awaited[i].tool_use_id;
    }
    for (size_t i = 0; i < t->pending_count; i++) {
        const char *id = t->pending[i].tool_use_id;
        if (!alnum_equal(id, client_id) || (found && !strcmp(found, id))) continue;
        if (found) return NULL;
        found = id;
    }
    return found;
}

size_t tools_unanswered(const tools_t *t, const char **ids, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < t->awaited_count && n < max; i++)
        if (!t->awaited[i].answer) ids[n++] = t->awaited[i].tool_use_id;
    return n;
}

void tools_set_choice(tools_t *t, const tool_choice_t *choice) { t->choice = *choice; }

bool tools_is_allowed(const tools_t *t, const char *tool_name) { return tool_choice_allows(&t->choice, tool_name); }

bool tools_cancel(tools_t *t, const char *request_id) {
    for (size_t i = 0; i < t->pending_count; i++) {
        if (!strcmp(t->pending[i].request_id, request_id)) {
            remove_at(t, i);
            return true;
        }
    }
    return false;
}
