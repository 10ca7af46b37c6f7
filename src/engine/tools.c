#include "engine/tools.h"

#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"

#define MCP_PROTOCOL_VERSION "2025-06-18"
#define CLIENT_TOOL_PREFIX "mcp__client__"

struct tools_s {
    yyjson_doc *list; /* {"tools":[{name, description, inputSchema}]} ready to send */
    size_t count;
    tools_pending_t pending[TOOLS_MAX_PENDING];
    size_t pending_count;
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

void tools_free(tools_t *t) {
    if (!t) return;
    for (size_t i = 0; i < t->pending_count; i++) pending_clear(&t->pending[i]);
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
    } else if (!strcmp(method, "tools/call")) {
        yyjson_val *params = yyjson_obj_get(msg, "params");
        const char *tool_use_id = tool_use_id_of(params);
        const char *name = yyjson_get_str(yyjson_obj_get(params, "name"));
        if (!tool_use_id || !name || t->pending_count == TOOLS_MAX_PENDING) {
            yyjson_mut_doc_free(doc);
            *reply = proto_build_control_error(request_id, "cannot hold this tool call", reply_len);
            return TOOLS_ERROR;
        }
        yyjson_mut_doc_free(doc);
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

char *tools_build_result(tools_t *t, const char *tool_use_id, yyjson_val *content, bool is_error, size_t *len) {
    size_t i = find_index(t, tool_use_id);
    if (i == SIZE_MAX) return NULL;
    tools_pending_t *p = &t->pending[i];
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *result = yyjson_mut_obj(doc);
    yyjson_mut_val *blocks = yyjson_mut_arr(doc);
    if (yyjson_is_str(content)) {
        yyjson_mut_val *b = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, b, "type", "text");
        yyjson_mut_obj_add_strncpy(doc, b, "text", yyjson_get_str(content), yyjson_get_len(content));
        yyjson_mut_arr_append(blocks, b);
    } else if (yyjson_is_arr(content)) {
        size_t k, max;
        yyjson_val *block;
        yyjson_arr_foreach(content, k, max, block) yyjson_mut_arr_append(blocks, yyjson_val_mut_copy(doc, block));
    }
    yyjson_mut_obj_add_val(doc, result, "content", blocks);
    if (is_error) yyjson_mut_obj_add_bool(doc, result, "isError", true);
    char *line = mcp_reply(p->request_id, p->jsonrpc_id, doc, result, len);
    if (line) remove_at(t, i);
    return line;
}

bool tools_cancel(tools_t *t, const char *request_id) {
    for (size_t i = 0; i < t->pending_count; i++) {
        if (!strcmp(t->pending[i].request_id, request_id)) {
            remove_at(t, i);
            return true;
        }
    }
    return false;
}
