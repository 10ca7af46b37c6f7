/*
 * The Responses request's options and tools → their Chat Completions forms, and the echo a response
 * object carries back (tools, tool_choice, text, reasoning, ... as the client sent them).
 *
 * Tools: flat function tools map one to one; a namespace's functions are offered by their own names (the
 * call goes back with its namespace); a custom (freeform) tool becomes a function taking one string,
 * {"input": "..."}, and its call goes back as a custom_tool_call with that string. Hosted tools the proxy
 * cannot run (web_search, file_search, ...) are left out with a log line: the model simply lacks them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/responses_internal.h"
#include "util/log.h"

static bool is_absent(yyjson_val *v) { return v == NULL || yyjson_is_null(v); }

/* ---- options ---- */

static int copy_echo(rq_convert_t *c, yyjson_val *root, const char *key, yyjson_mut_val *fallback) {
    yyjson_mut_doc *doc = c->out->echo_doc;
    yyjson_val *v = yyjson_obj_get(root, key);
    yyjson_mut_val *copy = !is_absent(v) ? yyjson_val_mut_copy(doc, v) : fallback ? fallback : yyjson_mut_null(doc);
    return copy && yyjson_mut_obj_add_val(doc, yyjson_mut_doc_get_root(doc), key, copy) ? 0 : rq_oom(c);
}

static int convert_text_format(rq_convert_t *c, yyjson_val *text, yyjson_mut_val *body) {
    yyjson_val *format = yyjson_obj_get(text, "format");
    if (is_absent(format)) return 0;
    const char *type = yyjson_get_str(yyjson_obj_get(format, "type"));
    if (!type) return api_problem_set(c->why, "text.format.type", "'text.format.type' is required");
    if (!strcmp(type, "text")) return 0;
    yyjson_mut_val *rf = yyjson_mut_obj_add_obj(c->chat, body, "response_format");
    if (!rf) return rq_oom(c);
    if (!strcmp(type, "json_object")) return yyjson_mut_obj_add_str(c->chat, rf, "type", "json_object") ? 0 : rq_oom(c);
    if (strcmp(type, "json_schema"))
        return api_problem_set(c->why, "text.format.type", "'text.format.type' must be text, json_object or json_schema");
    yyjson_val *schema = yyjson_obj_get(format, "schema");
    if (!yyjson_is_obj(schema))
        return api_problem_set(c->why, "text.format.schema", "'text.format.schema' must be a JSON Schema object");
    yyjson_mut_val *js = yyjson_mut_obj_add_obj(c->chat, rf, "json_schema");
    return js && yyjson_mut_obj_add_str(c->chat, rf, "type", "json_schema") &&
                   yyjson_mut_obj_add_val(c->chat, js, "schema", yyjson_val_mut_copy(c->chat, schema))
               ? 0
               : rq_oom(c);
}

int rq_convert_options(rq_convert_t *c, yyjson_val *root, yyjson_mut_val *body) {
    static const struct { const char *key; api_field_type_t type; } checked[] = {
        {"model", API_FIELD_STRING},        {"stream", API_FIELD_BOOL},          {"store", API_FIELD_BOOL},
        {"previous_response_id", API_FIELD_STRING}, {"instructions", API_FIELD_STRING},
        {"max_output_tokens", API_FIELD_INTEGER}, {"metadata", API_FIELD_OBJECT}, {"text", API_FIELD_OBJECT},
        {"reasoning", API_FIELD_OBJECT},    {"tools", API_FIELD_ARRAY},          {"parallel_tool_calls", API_FIELD_BOOL},
        {"user", API_FIELD_STRING},         {"prompt_cache_key", API_FIELD_STRING}, {"temperature", API_FIELD_NUMBER},
        {"top_p", API_FIELD_NUMBER},
    };
    yyjson_val *v;
    for (size_t i = 0; i < sizeof checked / sizeof checked[0]; i++)
        if (api_field(DIALECT_OPENAI, root, NULL, checked[i].key, checked[i].type, false, &v, c->why) < 0) return -1;
    yyjson_mut_doc *chat = c->chat, *echo = c->out->echo_doc;
    yyjson_mut_val *echo_root = yyjson_mut_obj(echo);
    if (!echo_root) return rq_oom(c);
    yyjson_mut_doc_set_root(echo, echo_root);

    if ((v = yyjson_obj_get(root, "model")) && yyjson_is_str(v) && !yyjson_mut_obj_add_strcpy(chat, body, "model", yyjson_get_str(v)))
        return rq_oom(c);
    if (yyjson_is_true(yyjson_obj_get(root, "stream")) && !yyjson_mut_obj_add_bool(chat, body, "stream", true)) return rq_oom(c);
    c->out->is_stored = !yyjson_is_false(yyjson_obj_get(root, "store"));
    if ((v = yyjson_obj_get(root, "max_output_tokens")) && yyjson_is_int(v)) {
        if (yyjson_get_sint(v) < 1) return api_problem_set(c->why, "max_output_tokens", "'max_output_tokens' must be at least 1");
        if (!yyjson_mut_obj_add_int(chat, body, "max_completion_tokens", yyjson_get_sint(v))) return rq_oom(c);
    }
    yyjson_val *effort = yyjson_obj_get(yyjson_obj_get(root, "reasoning"), "effort");
    if (!is_absent(effort) && !yyjson_mut_obj_add_val(chat, body, "reasoning_effort", yyjson_val_mut_copy(chat, effort)))
        return rq_oom(c);
    if (convert_text_format(c, yyjson_obj_get(root, "text"), body) < 0) return -1;

    /* The echo: what a response object repeats of its request. */
    yyjson_mut_val *text = yyjson_mut_obj(echo), *format = text ? yyjson_mut_obj_add_obj(echo, text, "format") : NULL;
    yyjson_mut_val *reasoning = yyjson_mut_obj(echo);
    if (!format || !reasoning || !yyjson_mut_obj_add_str(echo, format, "type", "text") ||
        !yyjson_mut_obj_add_null(echo, reasoning, "effort") || !yyjson_mut_obj_add_null(echo, reasoning, "summary"))
        return rq_oom(c);
    if (copy_echo(c, root, "instructions", NULL) < 0 || copy_echo(c, root, "max_output_tokens", NULL) < 0 ||
        copy_echo(c, root, "metadata", yyjson_mut_obj(echo)) < 0 ||
        copy_echo(c, root, "parallel_tool_calls", yyjson_mut_true(echo)) < 0 ||
        copy_echo(c, root, "previous_response_id", NULL) < 0 || copy_echo(c, root, "reasoning", reasoning) < 0 ||
        copy_echo(c, root, "temperature", yyjson_mut_real(echo, 1.0)) < 0 || copy_echo(c, root, "text", text) < 0 ||
        copy_echo(c, root, "tool_choice", yyjson_mut_str(echo, "auto")) < 0 ||
        copy_echo(c, root, "tools", yyjson_mut_arr(echo)) < 0 || copy_echo(c, root, "top_p", yyjson_mut_real(echo, 1.0)) < 0 ||
        copy_echo(c, root, "user", NULL) < 0 || copy_echo(c, root, "prompt_cache_key", NULL) < 0)
        return -1;
    if (!yyjson_mut_obj_add_bool(echo, echo_root, "store", c->out->is_stored) ||
        !yyjson_mut_obj_add_str(echo, echo_root, "truncation", "disabled"))
        return rq_oom(c);
    c->out->previous_id = yyjson_mut_get_str(yyjson_mut_obj_get(echo_root, "previous_response_id"));
    return 0;
}

/* ---- tools ---- */

static bool is_hosted_tool(const char *type) {
    static const char *const hosted[] = {
        "web_search", "web_search_preview", "web_search_preview_2025_03_11", "web_search_2025_08_26", "file_search",
        "code_interpreter", "image_generation", "computer_use_preview", "computer_use", "computer", "mcp",
        "local_shell", "shell", "tool_search", "apply_patch",
    };
    for (size_t i = 0; i < sizeof hosted / sizeof hosted[0]; i++)
        if (!strcmp(type, hosted[i])) return true;
    return false;
}

static int remember_tool(rq_convert_t *c, const char *name, const char *namespace_, bool is_custom) {
    responses_request_t *r = c->out;
    if (r->tool_count == RESPONSES_MAX_NAMED_TOOLS)
        return api_problem_set(c->why, "tools", "too many namespace and custom tools (at most %d)", RESPONSES_MAX_NAMED_TOOLS);
    responses_tool_t *t = &r->tools[r->tool_count];
    t->name = strdup(name);
    t->namespace_ = namespace_ ? strdup(namespace_) : NULL;
    t->is_custom = is_custom;
    if (!t->name || (namespace_ && !t->namespace_)) {
        free(t->name);
        free(t->namespace_);
        return rq_oom(c);
    }
    r->tool_count++;
    return 0;
}

/* A custom tool's one string input, described with its grammar when it has one. */
static yyjson_mut_val *custom_schema(rq_convert_t *c, yyjson_val *tool, buf_t *desc) {
    yyjson_val *format = yyjson_obj_get(tool, "format");
    const char *syntax = yyjson_get_str(yyjson_obj_get(format, "syntax"));
    const char *definition = yyjson_get_str(yyjson_obj_get(format, "definition"));
    if (buf_append_str(desc, "\n\nThis tool takes one free-form string, `input`") < 0 ||
        (definition && buf_appendf(desc, ", which must follow this %s grammar:\n%s", syntax ? syntax : "", definition) < 0) ||
        buf_append_str(desc, ".") < 0)
        return NULL;
    yyjson_mut_doc *d = c->chat;
    yyjson_mut_val *schema = yyjson_mut_obj(d);
    yyjson_mut_val *props = schema ? yyjson_mut_obj_add_obj(d, schema, "properties") : NULL;
    yyjson_mut_val *input = props ? yyjson_mut_obj_add_obj(d, props, "input") : NULL;
    yyjson_mut_val *required = input ? yyjson_mut_obj_add_arr(d, schema, "required") : NULL;
    if (!required || !yyjson_mut_obj_add_str(d, schema, "type", "object") || !yyjson_mut_obj_add_str(d, input, "type", "string") ||
        !yyjson_mut_arr_add_str(d, required, "input"))
        return NULL;
    return schema;
}

/* One function or custom tool → a Chat Completions function tool. */
static int add_tool(rq_convert_t *c, yyjson_val *tool, const char *param, const char *namespace_, yyjson_mut_val *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(tool, "type"));
    yyjson_val *name = yyjson_obj_get(tool, "name");
    char sub[96];
    snprintf(sub, sizeof sub, "%s.name", param);
    if (!yyjson_is_str(name) || yyjson_get_len(name) == 0) return api_problem_set(c->why, sub, "'%s' must be a non-empty string", sub);
    bool is_custom = !strcmp(type, "custom");
    if ((is_custom || namespace_) && remember_tool(c, yyjson_get_str(name), namespace_, is_custom) < 0) return -1;
    yyjson_val *desc = yyjson_obj_get(tool, "description");
    buf_t text;
    buf_init(&text, 0);
    if (yyjson_is_str(desc) && buf_append(&text, yyjson_get_str(desc), yyjson_get_len(desc)) < 0) goto oom;
    yyjson_val *params = yyjson_obj_get(tool, "parameters");
    yyjson_mut_val *schema = is_custom ? custom_schema(c, tool, &text)
                             : yyjson_is_obj(params) ? yyjson_val_mut_copy(c->chat, params)
                                                     : yyjson_mut_obj(c->chat);
    yyjson_mut_val *t = yyjson_mut_arr_add_obj(c->chat, out);
    yyjson_mut_val *fn = t ? yyjson_mut_obj_add_obj(c->chat, t, "function") : NULL;
    if (!schema || !fn || !yyjson_mut_obj_add_str(c->chat, t, "type", "function") ||
        !yyjson_mut_obj_add_strcpy(c->chat, fn, "name", yyjson_get_str(name)) ||
        (text.len > 0 && !yyjson_mut_obj_add_strncpy(c->chat, fn, "description", text.data, text.len)) ||
        !yyjson_mut_obj_add_val(c->chat, fn, "parameters", schema))
        goto oom;
    if (!is_custom && !yyjson_is_obj(params) && !yyjson_mut_obj_add_str(c->chat, schema, "type", "object")) goto oom;
    buf_free(&text);
    return 0;
oom:
    buf_free(&text);
    return rq_oom(c);
}

static int convert_namespace(rq_convert_t *c, yyjson_val *tool, const char *param, yyjson_mut_val *out) {
    const char *ns = yyjson_get_str(yyjson_obj_get(tool, "name"));
    yyjson_val *members = yyjson_obj_get(tool, "tools");
    char sub[96];
    snprintf(sub, sizeof sub, "%s.name", param);
    if (!ns || !*ns) return api_problem_set(c->why, sub, "'%s' must be a non-empty string", sub);
    snprintf(sub, sizeof sub, "%s.tools", param);
    if (!yyjson_is_arr(members)) return api_problem_set(c->why, sub, "'%s' must be an array of function tools", sub);
    size_t i, n;
    yyjson_val *member;
    yyjson_arr_foreach(members, i, n, member) {
        char mparam[128];
        snprintf(mparam, sizeof mparam, "%s[%zu]", sub, i);
        const char *type = yyjson_get_str(yyjson_obj_get(member, "type"));
        if (!type || (strcmp(type, "function") && strcmp(type, "custom")))
            return api_problem_set(c->why, mparam, "'%s.type' must be function or custom", mparam);
        if (add_tool(c, member, mparam, ns, out) < 0) return -1;
    }
    return 0;
}

static int convert_tool_choice(rq_convert_t *c, yyjson_val *choice, yyjson_mut_val *body) {
    if (is_absent(choice)) return 0;
    yyjson_mut_doc *d = c->chat;
    if (yyjson_is_str(choice)) {
        const char *mode = yyjson_get_str(choice);
        if (strcmp(mode, "auto") && strcmp(mode, "none") && strcmp(mode, "required"))
            return api_problem_set(c->why, "tool_choice", "'tool_choice' must be none, auto, required or a tool");
        return yyjson_mut_obj_add_strcpy(d, body, "tool_choice", mode) ? 0 : rq_oom(c);
    }
    const char *type = yyjson_get_str(yyjson_obj_get(choice, "type"));
    const char *name = yyjson_get_str(yyjson_obj_get(choice, "name"));
    if (!type) return api_problem_set(c->why, "tool_choice.type", "'tool_choice.type' is required");
    if (!strcmp(type, "allowed_tools")) {
        const char *mode = yyjson_get_str(yyjson_obj_get(choice, "mode"));
        return yyjson_mut_obj_add_str(d, body, "tool_choice", mode && !strcmp(mode, "required") ? "required" : "auto")
                   ? 0
                   : rq_oom(c);
    }
    if (strcmp(type, "function") && strcmp(type, "custom")) return 0; /* a hosted tool: not offered, so auto */
    if (!name) return api_problem_set(c->why, "tool_choice.name", "'tool_choice.name' is required");
    yyjson_mut_val *tc = yyjson_mut_obj_add_obj(d, body, "tool_choice");
    yyjson_mut_val *fn = tc ? yyjson_mut_obj_add_obj(d, tc, "function") : NULL;
    return fn && yyjson_mut_obj_add_str(d, tc, "type", "function") && yyjson_mut_obj_add_strcpy(d, fn, "name", name)
               ? 0
               : rq_oom(c);
}

int rq_convert_tools(rq_convert_t *c, yyjson_val *root, yyjson_mut_val *body) {
    yyjson_val *tools = yyjson_obj_get(root, "tools");
    if (!yyjson_is_arr(tools) || yyjson_arr_size(tools) == 0) return 0;
    yyjson_mut_val *out = yyjson_mut_arr(c->chat);
    if (!out) return rq_oom(c);
    size_t i, n;
    yyjson_val *tool;
    yyjson_arr_foreach(tools, i, n, tool) {
        char param[48];
        snprintf(param, sizeof param, "tools[%zu]", i);
        const char *type = yyjson_get_str(yyjson_obj_get(tool, "type"));
        int rc = 0;
        if (!yyjson_is_obj(tool)) rc = api_problem_set(c->why, param, "'%s' must be an object", param);
        else if (!type) rc = api_problem_set(c->why, param, "'%s.type' is required", param);
        else if (!strcmp(type, "function") || !strcmp(type, "custom")) rc = add_tool(c, tool, param, NULL, out);
        else if (!strcmp(type, "namespace")) rc = convert_namespace(c, tool, param, out);
        else if (is_hosted_tool(type)) log_info("responses.tool_skipped", "type=%s reason=hosted", type);
        else {
            char sub[64];
            snprintf(sub, sizeof sub, "%s.type", param);
            rc = api_problem_set(c->why, sub, "tool type '%.40s' is not supported (function, namespace or custom; "
                                 "hosted tools such as web_search are skipped)", type);
        }
        if (rc < 0) return -1;
    }
    if (yyjson_mut_arr_size(out) == 0) return 0; /* only hosted tools: none to offer */
    if (!yyjson_mut_obj_add_val(c->chat, body, "tools", out)) return rq_oom(c);
    yyjson_val *parallel = yyjson_obj_get(root, "parallel_tool_calls");
    if (yyjson_is_bool(parallel) && !yyjson_mut_obj_add_bool(c->chat, body, "parallel_tool_calls", yyjson_get_bool(parallel)))
        return rq_oom(c);
    return convert_tool_choice(c, yyjson_obj_get(root, "tool_choice"), body);
}
