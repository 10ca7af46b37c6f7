#include "engine/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "util/json_depth.h"
#include "util/utf8.h"

static const struct {
    const char *type;
    proto_kind_t kind;
} proto_types[] = {
    {"stream_event", PROTO_STREAM_EVENT},     {"assistant", PROTO_ASSISTANT},
    {"user", PROTO_USER},                     {"result", PROTO_RESULT},
    {"system", PROTO_SYSTEM},                 {"control_request", PROTO_CONTROL_REQUEST},
    {"control_response", PROTO_CONTROL_RESPONSE}, {"control_cancel_request", PROTO_CONTROL_CANCEL},
    {"keep_alive", PROTO_KEEP_ALIVE},         {"rate_limit_event", PROTO_RATE_LIMIT},
};

const char *proto_kind_name(proto_kind_t kind) {
    if (kind == PROTO_GARBAGE) return "garbage";
    for (size_t i = 0; i < sizeof proto_types / sizeof proto_types[0]; i++)
        if (proto_types[i].kind == kind) return proto_types[i].type;
    return "unknown";
}

void proto_parse_line(const char *line, size_t len, proto_line_t *out) {
    memset(out, 0, sizeof *out);
    out->kind = PROTO_GARBAGE;
    /* yyjson rejects invalid UTF-8 inside strings; bytes outside strings are invalid JSON anyway. */
    yyjson_doc *doc = yyjson_read(line, len, 0);
    if (!doc) return;
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (!json_depth_ok(root, JSON_MAX_DEPTH_CLI, NULL, 0)) { /* everything after would copy it recursively */
        yyjson_doc_free(doc);
        return;
    }
    const char *type = yyjson_get_str(yyjson_obj_get(root, "type"));
    if (!yyjson_is_obj(root) || !type) {
        yyjson_doc_free(doc);
        return;
    }
    out->doc = doc;
    out->root = root;
    out->kind = PROTO_UNKNOWN;
    for (size_t i = 0; i < sizeof proto_types / sizeof proto_types[0]; i++) {
        if (!strcmp(type, proto_types[i].type)) {
            out->kind = proto_types[i].kind;
            break;
        }
    }
    switch (out->kind) {
    case PROTO_SYSTEM:
    case PROTO_RESULT:
        out->subtype = yyjson_get_str(yyjson_obj_get(root, "subtype"));
        break;
    case PROTO_CONTROL_REQUEST:
        out->request_id = yyjson_get_str(yyjson_obj_get(root, "request_id"));
        out->subtype = yyjson_get_str(yyjson_obj_get(yyjson_obj_get(root, "request"), "subtype"));
        if (!out->request_id || !out->subtype) out->kind = PROTO_GARBAGE;
        break;
    case PROTO_CONTROL_RESPONSE: {
        yyjson_val *resp = yyjson_obj_get(root, "response");
        out->request_id = yyjson_get_str(yyjson_obj_get(resp, "request_id"));
        out->subtype = yyjson_get_str(yyjson_obj_get(resp, "subtype"));
        break;
    }
    case PROTO_CONTROL_CANCEL:
        out->request_id = yyjson_get_str(yyjson_obj_get(root, "request_id"));
        break;
    case PROTO_STREAM_EVENT:
        if (!yyjson_is_obj(yyjson_obj_get(root, "event"))) out->kind = PROTO_GARBAGE;
        break;
    default:
        break;
    }
    if (out->kind == PROTO_GARBAGE) {
        yyjson_doc_free(doc);
        out->doc = NULL;
        out->root = NULL;
    }
}

void proto_line_free(proto_line_t *l) {
    yyjson_doc_free(l->doc);
    l->doc = NULL;
    l->root = NULL;
}

bool proto_control_response_ok(yyjson_val *root, const char **error) {
    yyjson_val *resp = yyjson_obj_get(root, "response");
    const char *subtype = yyjson_get_str(yyjson_obj_get(resp, "subtype"));
    if (subtype && !strcmp(subtype, "success")) return true;
    if (error) {
        const char *e = yyjson_get_str(yyjson_obj_get(resp, "error"));
        *error = e ? e : "control request failed";
    }
    return false;
}

bool proto_rewind_done(yyjson_val *root, const char **error) {
    if (!proto_control_response_ok(root, error)) return false;
    yyjson_val *answer = yyjson_obj_get(yyjson_obj_get(root, "response"), "response");
    if (yyjson_get_bool(yyjson_obj_get(answer, "rewound"))) return true;
    if (error) {
        const char *e = yyjson_get_str(yyjson_obj_get(answer, "error"));
        *error = e ? e : "not rewound";
    }
    return false;
}

yyjson_val *proto_initialize_models(yyjson_val *root) {
    yyjson_val *models = yyjson_obj_get(yyjson_obj_get(yyjson_obj_get(root, "response"), "response"), "models");
    return yyjson_is_arr(models) ? models : NULL;
}

/* ---- builders ---- */

static char *finish(yyjson_mut_doc *doc, yyjson_mut_val *root, size_t *len) {
    if (!doc || !root) {
        yyjson_mut_doc_free(doc);
        return NULL;
    }
    yyjson_mut_doc_set_root(doc, root);
    /* Text we cut to a fixed size (a tool name in a refusal) may end mid-character: written scrubbed. */
    char *s = utf8_json_write(doc, len);
    yyjson_mut_doc_free(doc);
    return s;
}

/* {"type":"control_request","request_id":id,"request":{"subtype":subtype}}; *request for more fields. */
static yyjson_mut_val *control_request(yyjson_mut_doc *doc, const char *request_id, const char *subtype,
                                       yyjson_mut_val **request) {
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    *request = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "control_request");
    yyjson_mut_obj_add_strcpy(doc, root, "request_id", request_id);
    yyjson_mut_obj_add_str(doc, *request, "subtype", subtype);
    yyjson_mut_obj_add_val(doc, root, "request", *request);
    return root;
}

char *proto_build_initialize(const proto_initialize_t *init, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *req;
    yyjson_mut_val *root = control_request(doc, init->request_id, "initialize", &req);
    if (init->has_client_mcp) {
        yyjson_mut_val *servers = yyjson_mut_arr(doc);
        yyjson_mut_arr_add_str(doc, servers, "client");
        yyjson_mut_obj_add_val(doc, req, "sdkMcpServers", servers);
    }
    /* A string, not an array: 2.1.100 only accepts a string (it ignores an array); 2.1.197 takes both. */
    if (init->system_prompt) yyjson_mut_obj_add_strcpy(doc, req, "systemPrompt", init->system_prompt);
    if (init->append_system_prompt)
        yyjson_mut_obj_add_strcpy(doc, req, "appendSystemPrompt", init->append_system_prompt);
    if (init->json_schema) yyjson_mut_obj_add_val(doc, req, "jsonSchema", yyjson_val_mut_copy(doc, init->json_schema));
    return finish(doc, root, len);
}

char *proto_build_user(yyjson_val *content, const char *uuid, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_val *msg = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "user");
    if (uuid) yyjson_mut_obj_add_strcpy(doc, root, "uuid", uuid);
    yyjson_mut_obj_add_str(doc, msg, "role", "user");
    yyjson_mut_obj_add_val(doc, msg, "content", yyjson_val_mut_copy(doc, content));
    yyjson_mut_obj_add_val(doc, root, "message", msg);
    yyjson_mut_obj_add_null(doc, root, "parent_tool_use_id");
    yyjson_mut_obj_add_str(doc, root, "session_id", "");
    return finish(doc, root, len);
}

/* A control request whose request holds at most one string field (key NULL: none). */
static char *build_simple_control(const char *request_id, const char *subtype, const char *key, const char *value,
                                  size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *req;
    yyjson_mut_val *root = control_request(doc, request_id, subtype, &req);
    if (root && key) yyjson_mut_obj_add_strcpy(doc, req, key, value);
    return finish(doc, root, len);
}

char *proto_build_interrupt(const char *request_id, size_t *len) {
    return build_simple_control(request_id, "interrupt", NULL, NULL, len);
}

char *proto_build_rewind(const char *request_id, const char *uuid, size_t *len) {
    return build_simple_control(request_id, "rewind_conversation", "target_message_uuid", uuid, len);
}

char *proto_build_set_thinking(const char *request_id, int64_t max_thinking_tokens, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *req;
    yyjson_mut_val *root = control_request(doc, request_id, "set_max_thinking_tokens", &req);
    yyjson_mut_obj_add_val(doc, req, "max_thinking_tokens",
                           max_thinking_tokens < 0 ? yyjson_mut_null(doc) : yyjson_mut_sint(doc, max_thinking_tokens));
    return finish(doc, root, len);
}

char *proto_build_mcp_set_servers(const char *request_id, bool has_client_mcp, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *req;
    yyjson_mut_val *root = control_request(doc, request_id, "mcp_set_servers", &req);
    yyjson_mut_val *servers = yyjson_mut_obj(doc);
    if (has_client_mcp) {
        yyjson_mut_val *client = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, client, "type", "sdk");
        yyjson_mut_obj_add_str(doc, client, "name", "client");
        yyjson_mut_obj_add_val(doc, servers, "client", client);
    }
    yyjson_mut_obj_add_val(doc, req, "servers", servers);
    return finish(doc, root, len);
}

char *proto_build_set_model(const char *request_id, const char *model, size_t *len) {
    return build_simple_control(request_id, "set_model", "model", model, len);
}

static yyjson_mut_val *control_response(yyjson_mut_doc *doc, const char *request_id, const char *subtype,
                                        yyjson_mut_val **resp) {
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    *resp = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "control_response");
    yyjson_mut_obj_add_str(doc, *resp, "subtype", subtype);
    yyjson_mut_obj_add_strcpy(doc, *resp, "request_id", request_id);
    yyjson_mut_obj_add_val(doc, root, "response", *resp);
    return root;
}

char *proto_build_control_success(const char *request_id, yyjson_val *response, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *resp;
    yyjson_mut_val *root = control_response(doc, request_id, "success", &resp);
    yyjson_mut_obj_add_val(doc, resp, "response", response ? yyjson_val_mut_copy(doc, response) : yyjson_mut_obj(doc));
    return finish(doc, root, len);
}

char *proto_build_control_error(const char *request_id, const char *message, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *resp;
    yyjson_mut_val *root = control_response(doc, request_id, "error", &resp);
    yyjson_mut_obj_add_strcpy(doc, resp, "error", message);
    return finish(doc, root, len);
}

char *proto_build_permission(const char *request_id, bool allow, yyjson_val *input, const char *deny_message,
                             size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *resp;
    yyjson_mut_val *root = control_response(doc, request_id, "success", &resp);
    yyjson_mut_val *answer = yyjson_mut_obj(doc);
    if (allow) {
        yyjson_mut_obj_add_str(doc, answer, "behavior", "allow");
        yyjson_mut_obj_add_val(doc, answer, "updatedInput", input ? yyjson_val_mut_copy(doc, input) : yyjson_mut_obj(doc));
    } else {
        yyjson_mut_obj_add_str(doc, answer, "behavior", "deny");
        yyjson_mut_obj_add_strcpy(doc, answer, "message", deny_message ? deny_message : "denied");
    }
    yyjson_mut_obj_add_val(doc, resp, "response", answer);
    return finish(doc, root, len);
}

/* ---- upstream errors ---- */

static void copy_text(char *out, size_t out_len, const char *s, size_t n) {
    if (!out_len) return;
    if (n >= out_len) {
        /* Cut on a character boundary: half a UTF-8 sequence would make the error unwritable as JSON. */
        n = out_len - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

void proto_extract_upstream_message(const char *text, char *out, size_t out_len) {
    if (!text) text = "";
    const char *p = strstr(text, "API Error: ");
    if (!p) {
        copy_text(out, out_len, text, strlen(text));
        return;
    }
    p += strlen("API Error: ");
    /* "Request rejected (429) · message" (429) or "<status> message" */
    if (!strncmp(p, "Request rejected (", 18)) {
        const char *close = strstr(p, ") ");
        if (close) p = close + 2;
        if (!strncmp(p, "\xC2\xB7 ", 3)) p += 3; /* U+00B7 middle dot */
    } else {
        while (*p >= '0' && *p <= '9') p++;
        if (*p == ' ') p++;
    }
    if (*p == '{') {
        yyjson_doc *doc = yyjson_read(p, strlen(p), YYJSON_READ_STOP_WHEN_DONE);
        yyjson_val *root = yyjson_doc_get_root(doc);
        const char *msg = yyjson_get_str(yyjson_obj_get(yyjson_obj_get(root, "error"), "message"));
        if (!msg) msg = yyjson_get_str(yyjson_obj_get(root, "message"));
        if (msg) {
            copy_text(out, out_len, msg, strlen(msg));
            yyjson_doc_free(doc);
            return;
        }
        yyjson_doc_free(doc);
    }
    /* The CLI appends its own advice to server errors; the upstream's words come before it. */
    size_t n = strlen(p);
    static const char *const suffixes[] = {". This is a server-side issue", " · Please run /login",
                                           ". Please run /login", " · check your"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        const char *s = strstr(p, suffixes[i]);
        if (s && (size_t)(s - p) < n) n = (size_t)(s - p);
    }
    copy_text(out, out_len, p, n);
}

int proto_error_status(const char *text) {
    if (!text) return 0;
    /* 2.1.100 words an unknown model without the status (and calls it "invalid_request"). */
    if (strstr(text, "There's an issue with the selected model")) return 404;
    const char *p = strstr(text, "API Error: ");
    if (!p) return 0;
    p += strlen("API Error: ");
    if (!strncmp(p, "Request rejected (", 18)) p += 18;
    int status = 0;
    for (int i = 0; i < 3 && *p >= '0' && *p <= '9'; i++, p++) status = status * 10 + (*p - '0');
    return status >= 400 && status <= 599 && !(*p >= '0' && *p <= '9') ? status : 0;
}

void proto_map_error(int status, const char *kind, const char *message, engine_error_t *out) {
    if (!kind) kind = "";
    /* A known HTTP status decides; the CLI's error kind only stands in when there is none. */
    bool by_kind = status < 400;
#define KIND_IS(k) (by_kind && !strcmp(kind, k))
    *out = (engine_error_t){.kind = ENGINE_ERR_UPSTREAM, .upstream_status = status >= 400 && status <= 599 ? status : 0,
                            .message = message};
    if (status == 400 || status == 413 || status == 422 || KIND_IS("invalid_request")) out->kind = ENGINE_ERR_INVALID_REQUEST;
    else if (status == 401 || KIND_IS("authentication_failed")) out->kind = ENGINE_ERR_AUTHENTICATION;
    else if (status == 403 || KIND_IS("billing_error") || KIND_IS("permission_denied")) out->kind = ENGINE_ERR_PERMISSION;
    else if (status == 404 || KIND_IS("model_not_found")) out->kind = ENGINE_ERR_NOT_FOUND;
    else if (status == 429 || KIND_IS("rate_limit")) out->kind = ENGINE_ERR_RATE_LIMIT;
    else if (status == 529 || KIND_IS("overloaded")) out->kind = ENGINE_ERR_OVERLOADED;
#undef KIND_IS
}
