/*
 * A Responses request → the canonical request, through the Chat Completions converter.
 *
 * Responses items map one to one onto Chat Completions messages (message → a message of its role,
 * function_call / custom_tool_call → an assistant tool call, *_output → a tool message), and its options
 * onto theirs (max_output_tokens, text.format, reasoning.effort, tools). So this file checks the
 * Responses shapes, naming their fields, and builds that Chat Completions body; openai_request_convert
 * does the rest (merging, system join, images, tool_choice), and what it still refuses is renamed back to
 * the Responses field the message came from. Tool shapes and options: responses_tools.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/responses_internal.h"

static bool is_absent(yyjson_val *v) { return v == NULL || yyjson_is_null(v); }

int rq_oom(rq_convert_t *c) { return api_problem_set(c->why, NULL, "out of memory while converting the request"); }

/* ---- content parts ---- */

static bool is_text_part(const char *type) {
    return !strcmp(type, "input_text") || !strcmp(type, "output_text") || !strcmp(type, "text") ||
           !strcmp(type, "summary_text");
}

static int add_text_part(rq_convert_t *c, yyjson_mut_val *parts, yyjson_val *text) {
    yyjson_mut_val *p = yyjson_mut_arr_add_obj(c->chat, parts);
    return p && yyjson_mut_obj_add_str(c->chat, p, "type", "text") &&
                   yyjson_mut_obj_add_strncpy(c->chat, p, "text", yyjson_get_str(text), yyjson_get_len(text))
               ? 0
               : rq_oom(c);
}

/* input_image: a data URL or an http(s) URL, as Chat Completions' image_url part. */
static int add_image_part(rq_convert_t *c, yyjson_mut_val *parts, yyjson_val *part, const char *param) {
    yyjson_val *url = yyjson_obj_get(part, "image_url");
    if (!yyjson_is_str(url)) {
        if (!is_absent(yyjson_obj_get(part, "file_id")))
            return api_problem_set(c->why, param, "'%s.file_id': uploaded files are not supported; send image_url "
                                   "(a data: or https: URL)", param);
        return api_problem_set(c->why, param, "'%s.image_url' must be a string (a data: or https: URL)", param);
    }
    yyjson_mut_val *p = yyjson_mut_arr_add_obj(c->chat, parts);
    yyjson_mut_val *img = p ? yyjson_mut_obj_add_obj(c->chat, p, "image_url") : NULL;
    return img && yyjson_mut_obj_add_str(c->chat, p, "type", "image_url") &&
                   yyjson_mut_obj_add_strncpy(c->chat, img, "url", yyjson_get_str(url), yyjson_get_len(url))
               ? 0
               : rq_oom(c);
}

static int add_file_part(rq_convert_t *c, yyjson_mut_val *parts, yyjson_val *part, const char *param) {
    yyjson_val *data = yyjson_obj_get(part, "file_data");
    if (!yyjson_is_str(data))
        return api_problem_set(c->why, param, "'%s.file_data' must be a base64 data URL of a PDF (uploaded file ids "
                               "and file URLs are not supported)", param);
    yyjson_mut_val *p = yyjson_mut_arr_add_obj(c->chat, parts);
    yyjson_mut_val *file = p ? yyjson_mut_obj_add_obj(c->chat, p, "file") : NULL;
    return file && yyjson_mut_obj_add_str(c->chat, p, "type", "file") &&
                   yyjson_mut_obj_add_strncpy(c->chat, file, "file_data", yyjson_get_str(data), yyjson_get_len(data))
               ? 0
               : rq_oom(c);
}

/* A message's content → Chat Completions content (a string stays a string). Only user messages may carry
 * images and files. */
static yyjson_mut_val *convert_content(rq_convert_t *c, yyjson_val *content, bool is_user, const char *param) {
    if (yyjson_is_str(content)) return yyjson_mut_strncpy(c->chat, yyjson_get_str(content), yyjson_get_len(content));
    if (!yyjson_is_arr(content)) {
        api_problem_set(c->why, param, "'%s' must be a string or an array of content parts", param);
        return NULL;
    }
    yyjson_mut_val *parts = yyjson_mut_arr(c->chat);
    if (!parts) { rq_oom(c); return NULL; }
    size_t i, n;
    yyjson_val *part;
    yyjson_arr_foreach(content, i, n, part) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s[%zu]", param, i);
        const char *type = yyjson_get_str(yyjson_obj_get(part, "type"));
        yyjson_val *text = yyjson_obj_get(part, "text");
        int rc;
        if (!type) rc = api_problem_set(c->why, sub, "'%s.type' is required", sub);
        else if (is_text_part(type) && !yyjson_is_str(text)) rc = api_problem_set(c->why, sub, "'%s.text' must be a string", sub);
        else if (is_text_part(type)) rc = add_text_part(c, parts, text);
        else if (!strcmp(type, "refusal") && yyjson_is_str(yyjson_obj_get(part, "refusal")))
            rc = add_text_part(c, parts, yyjson_obj_get(part, "refusal"));
        else if (is_user && !strcmp(type, "input_image")) rc = add_image_part(c, parts, part, sub);
        else if (is_user && !strcmp(type, "input_file")) rc = add_file_part(c, parts, part, sub);
        else rc = api_problem_set(c->why, sub, "content part type '%.32s' is not supported here (use input_text%s)", type,
                                  is_user ? ", input_image or input_file" : " or output_text");
        if (rc < 0) return NULL;
    }
    return parts;
}

/* ---- items → messages ---- */

static yyjson_mut_val *push(rq_convert_t *c, const char *role, int origin) {
    if (c->origin_count == RQ_MAX_ORIGINS) {
        api_problem_set(c->why, "input", "'input' has too many items (at most %d)", RQ_MAX_ORIGINS);
        return NULL;
    }
    yyjson_mut_val *msg = yyjson_mut_arr_add_obj(c->chat, c->messages);
    if (!msg || !yyjson_mut_obj_add_str(c->chat, msg, "role", role)) { rq_oom(c); return NULL; }
    c->origins[c->origin_count++] = origin;
    return msg;
}

static int convert_message(rq_convert_t *c, yyjson_val *item, const char *param, int origin) {
    const char *role = yyjson_get_str(yyjson_obj_get(item, "role"));
    char sub[96];
    snprintf(sub, sizeof sub, "%s.role", param);
    if (!role) return api_problem_set(c->why, sub, "'%s' is required", sub);
    bool is_user = !strcmp(role, "user");
    if (!is_user && strcmp(role, "assistant") && strcmp(role, "system") && strcmp(role, "developer"))
        return api_problem_set(c->why, sub, "'%.32s' is not a valid role (user, assistant, system or developer)", role);
    snprintf(sub, sizeof sub, "%s.content", param);
    yyjson_mut_val *content = convert_content(c, yyjson_obj_get(item, "content"), is_user, sub);
    yyjson_mut_val *msg = content ? push(c, role, origin) : NULL;
    if (!msg) return -1;
    return yyjson_mut_obj_add_val(c->chat, msg, "content", content) ? 0 : rq_oom(c);
}

static int require_str(rq_convert_t *c, yyjson_val *item, const char *param, const char *key, yyjson_val **out) {
    *out = yyjson_obj_get(item, key);
    if (yyjson_is_str(*out)) return 0;
    return api_problem_set(c->why, param, "'%s.%s' must be a string", param, key);
}

/* function_call / custom_tool_call → an assistant message with one tool call (consecutive ones merge). */
static int convert_call(rq_convert_t *c, yyjson_val *item, const char *param, bool is_custom, int origin) {
    yyjson_val *call_id, *name, *args = NULL;
    if (require_str(c, item, param, "call_id", &call_id) < 0 || require_str(c, item, param, "name", &name) < 0) return -1;
    char *custom_args = NULL;
    if (is_custom) {
        yyjson_val *input;
        if (require_str(c, item, param, "input", &input) < 0) return -1;
        yyjson_mut_doc *tmp = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *obj = tmp ? yyjson_mut_obj(tmp) : NULL;
        if (obj && yyjson_mut_obj_add_strncpy(tmp, obj, "input", yyjson_get_str(input), yyjson_get_len(input))) {
            yyjson_mut_doc_set_root(tmp, obj);
            custom_args = yyjson_mut_write(tmp, 0, NULL);
        }
        yyjson_mut_doc_free(tmp);
        if (!custom_args) return rq_oom(c);
    } else {
        args = yyjson_obj_get(item, "arguments");
        if (!is_absent(args) && !yyjson_is_str(args))
            return api_problem_set(c->why, param, "'%s.arguments' must be a string (JSON text)", param);
    }
    yyjson_mut_val *msg = push(c, "assistant", origin);
    yyjson_mut_val *calls = msg ? yyjson_mut_obj_add_arr(c->chat, msg, "tool_calls") : NULL;
    yyjson_mut_val *call = calls ? yyjson_mut_arr_add_obj(c->chat, calls) : NULL;
    yyjson_mut_val *fn = call ? yyjson_mut_obj_add_obj(c->chat, call, "function") : NULL;
    bool ok = fn && yyjson_mut_obj_add_null(c->chat, msg, "content") &&
              yyjson_mut_obj_add_strcpy(c->chat, call, "id", yyjson_get_str(call_id)) &&
              yyjson_mut_obj_add_str(c->chat, call, "type", "function") &&
              yyjson_mut_obj_add_strcpy(c->chat, fn, "name", yyjson_get_str(name)) &&
              (custom_args ? yyjson_mut_obj_add_strcpy(c->chat, fn, "arguments", custom_args)
                           : yyjson_mut_obj_add_strncpy(c->chat, fn, "arguments", args ? yyjson_get_str(args) : "",
                                                        args ? yyjson_get_len(args) : 0));
    free(custom_args);
    if (!msg) return -1;
    return ok ? 0 : rq_oom(c);
}

/* function_call_output / custom_tool_call_output → a tool message. The output's text parts are kept;
 * images in a tool's output have no Chat Completions form and are named by a placeholder. */
static int convert_output(rq_convert_t *c, yyjson_val *item, const char *param, int origin) {
    yyjson_val *call_id, *output = yyjson_obj_get(item, "output");
    if (require_str(c, item, param, "call_id", &call_id) < 0) return -1;
    yyjson_mut_val *content;
    if (yyjson_is_str(output)) {
        content = yyjson_mut_strncpy(c->chat, yyjson_get_str(output), yyjson_get_len(output));
    } else if (yyjson_is_arr(output)) {
        content = yyjson_mut_arr(c->chat);
        size_t i, n;
        yyjson_val *part;
        yyjson_arr_foreach(output, i, n, part) {
            const char *type = yyjson_get_str(yyjson_obj_get(part, "type"));
            yyjson_val *text = yyjson_obj_get(part, "text");
            if (type && is_text_part(type) && yyjson_is_str(text)) {
                if (add_text_part(c, content, text) < 0) return -1;
            } else if (type && (!strcmp(type, "input_image") || !strcmp(type, "input_file"))) {
                yyjson_mut_val *p = yyjson_mut_arr_add_obj(c->chat, content);
                if (!p || !yyjson_mut_obj_add_str(c->chat, p, "type", "text") ||
                    !yyjson_mut_obj_add_str(c->chat, p, "text", "[the tool returned an image or file]"))
                    return rq_oom(c);
            } else {
                return api_problem_set(c->why, param, "'%s.output[%zu]' must be an input_text part", param, i);
            }
        }
        if (content && yyjson_mut_arr_size(content) == 0) content = yyjson_mut_str(c->chat, "");
    } else {
        return api_problem_set(c->why, param, "'%s.output' must be a string or an array of content parts", param);
    }
    yyjson_mut_val *msg = push(c, "tool", origin);
    if (!msg) return -1;
    return content && yyjson_mut_obj_add_strcpy(c->chat, msg, "tool_call_id", yyjson_get_str(call_id)) &&
                   yyjson_mut_obj_add_val(c->chat, msg, "content", content)
               ? 0
               : rq_oom(c);
}

/* Items the proxy cannot act on and the model need not see: reasoning (its encrypted content is not
 * ours to read) and the hosted tools' own call records. */
static bool is_skipped_item(const char *type) {
    static const char *const skipped[] = {
        "reasoning", "item_reference", "web_search_call", "file_search_call", "computer_call", "computer_call_output",
        "code_interpreter_call", "image_generation_call", "local_shell_call", "local_shell_call_output", "mcp_call",
        "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "tool_search_call", "tool_search_output",
        "compaction",
    };
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
        if (!strcmp(type, skipped[i])) return true;
    return false;
}

static int convert_item(rq_convert_t *c, yyjson_val *item, const char *param, int origin) {
    if (!yyjson_is_obj(item)) return api_problem_set(c->why, param, "'%s' must be an object", param);
    const char *type = yyjson_get_str(yyjson_obj_get(item, "type"));
    if (!type || !strcmp(type, "message")) return convert_message(c, item, param, origin); /* EasyInputMessage */
    if (!strcmp(type, "function_call")) return convert_call(c, item, param, false, origin);
    if (!strcmp(type, "custom_tool_call")) return convert_call(c, item, param, true, origin);
    if (!strcmp(type, "function_call_output") || !strcmp(type, "custom_tool_call_output"))
        return convert_output(c, item, param, origin);
    if (is_skipped_item(type)) return 0;
    char sub[96];
    snprintf(sub, sizeof sub, "%s.type", param);
    return api_problem_set(c->why, sub, "input item type '%.40s' is not supported (message, function_call, "
                           "function_call_output, custom_tool_call, custom_tool_call_output, reasoning)", type);
}

/* history ++ input → input_doc's items (kept for the store) and the Chat Completions messages. */
static int convert_input(rq_convert_t *c, yyjson_val *root, yyjson_val *history) {
    yyjson_val *input = yyjson_obj_get(root, "input");
    if (is_absent(input)) return api_problem_set(c->why, "input", "Missing required parameter: 'input'.");
    if (!yyjson_is_str(input) && !yyjson_is_arr(input))
        return api_problem_set(c->why, "input", "'input' must be a string or an array of input items");
    yyjson_mut_doc *kept = c->out->input_doc;
    yyjson_mut_val *items = yyjson_mut_arr(kept);
    if (!items) return rq_oom(c);
    yyjson_mut_doc_set_root(kept, items);
    size_t i, n;
    yyjson_val *item;
    yyjson_arr_foreach(history, i, n, item) {
        if (convert_item(c, item, "previous_response_id", RQ_ORIGIN_HISTORY) < 0) return -1;
        if (!yyjson_mut_arr_append(items, yyjson_val_mut_copy(kept, item))) return rq_oom(c);
    }
    if (yyjson_is_str(input)) {
        yyjson_mut_val *msg = push(c, "user", 0);
        if (!msg) return -1;
        yyjson_mut_val *it = yyjson_mut_arr_add_obj(kept, items);
        yyjson_mut_val *parts = it ? yyjson_mut_arr(kept) : NULL;
        yyjson_mut_val *part = parts ? yyjson_mut_arr_add_obj(kept, parts) : NULL;
        if (!part || !yyjson_mut_obj_add_strncpy(c->chat, msg, "content", yyjson_get_str(input), yyjson_get_len(input)) ||
            !yyjson_mut_obj_add_str(kept, it, "type", "message") || !yyjson_mut_obj_add_str(kept, it, "role", "user") ||
            !yyjson_mut_obj_add_str(kept, part, "type", "input_text") ||
            !yyjson_mut_obj_add_strncpy(kept, part, "text", yyjson_get_str(input), yyjson_get_len(input)) ||
            !yyjson_mut_obj_add_val(kept, it, "content", parts))
            return rq_oom(c);
        return 0;
    }
    if (yyjson_arr_size(input) == 0 && !history) return api_problem_set(c->why, "input", "'input' must not be empty");
    yyjson_arr_foreach(input, i, n, item) {
        char param[48];
        snprintf(param, sizeof param, "input[%zu]", i);
        if (convert_item(c, item, param, (int)i) < 0) return -1;
        if (!yyjson_mut_arr_append(items, yyjson_val_mut_copy(kept, item))) return rq_oom(c);
    }
    return 0;
}

/* ---- errors from the Chat Completions converter, renamed to the Responses field ---- */

static void rename_problem(const rq_convert_t *c, api_problem_t *why) {
    char from[sizeof why->param], to[sizeof why->param] = "";
    snprintf(from, sizeof from, "%s", why->param);
    unsigned k;
    int used = 0;
    if (sscanf(from, "messages[%u]%n", &k, &used) == 1 && used > 0) {
        int origin = k < c->origin_count ? c->origins[k] : RQ_ORIGIN_HISTORY;
        const char *rest = from + used;
        if (origin == RQ_ORIGIN_INSTRUCTIONS) snprintf(to, sizeof to, "instructions");
        else if (origin == RQ_ORIGIN_HISTORY) snprintf(to, sizeof to, "previous_response_id");
        else if (!strncmp(rest, ".content[", 9)) snprintf(to, sizeof to, "input[%d].content[%u]", origin, (unsigned)atoi(rest + 9));
        else snprintf(to, sizeof to, "input[%d]", origin);
    } else {
        static const struct { const char *chat, *responses; } names[] = {
            {"messages", "input"},           {"max_completion_tokens", "max_output_tokens"},
            {"response_format", "text.format"}, {"reasoning_effort", "reasoning.effort"},
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !to[0]; i++)
            if (!strncmp(from, names[i].chat, strlen(names[i].chat)))
                snprintf(to, sizeof to, "%s", names[i].responses);
        if (!to[0]) return;
    }
    /* The message quotes the field: quote the new name instead. */
    char *at = from[0] ? strstr(why->message, from) : NULL;
    if (at) {
        char message[sizeof why->message];
        snprintf(message, sizeof message, "%.*s%s%s", (int)(at - why->message), why->message, to, at + strlen(from));
        snprintf(why->message, sizeof why->message, "%s", message);
    }
    snprintf(why->param, sizeof why->param, "%s", to);
}

/* ---- the whole request ---- */

int responses_request_convert(const config_t *cfg, yyjson_val *root, yyjson_val *history, responses_request_t *out,
                              api_problem_t *why) {
    memset(out, 0, sizeof *out);
    memset(why, 0, sizeof *why);
    rq_convert_t c = {.why = why, .out = out};
    if (!yyjson_is_obj(root)) return api_problem_set(why, NULL, "the request body must be a JSON object");
    out->is_stored = true;
    c.chat = yyjson_mut_doc_new(NULL);
    out->input_doc = yyjson_mut_doc_new(NULL);
    out->echo_doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *body = c.chat ? yyjson_mut_obj(c.chat) : NULL;
    c.messages = body ? yyjson_mut_obj_add_arr(c.chat, body, "messages") : NULL;
    int rc = -1;
    if (!c.messages || !out->input_doc || !out->echo_doc) { rq_oom(&c); goto done; }
    yyjson_mut_doc_set_root(c.chat, body);
    if (rq_convert_options(&c, root, body) < 0) goto done;
    yyjson_val *instructions = yyjson_obj_get(root, "instructions");
    if (yyjson_is_str(instructions) && yyjson_get_len(instructions) > 0) {
        yyjson_mut_val *msg = push(&c, "system", RQ_ORIGIN_INSTRUCTIONS);
        if (!msg) goto done;
        if (!yyjson_mut_obj_add_strncpy(c.chat, msg, "content", yyjson_get_str(instructions), yyjson_get_len(instructions))) {
            rq_oom(&c);
            goto done;
        }
    }
    if (convert_input(&c, root, history) < 0 || rq_convert_tools(&c, root, body) < 0) goto done;

    yyjson_doc *chat = yyjson_mut_doc_imut_copy(c.chat, NULL);
    if (!chat) { rq_oom(&c); goto done; }
    rc = openai_request_convert(cfg, yyjson_doc_get_root(chat), &out->chat, why);
    yyjson_doc_free(chat);
    if (rc < 0) rename_problem(&c, why);
done:
    yyjson_mut_doc_free(c.chat);
    return rc;
}

void responses_request_free(responses_request_t *req) {
    openai_request_free(&req->chat);
    yyjson_mut_doc_free(req->echo_doc);
    yyjson_mut_doc_free(req->input_doc);
    for (size_t i = 0; i < req->tool_count; i++) {
        free(req->tools[i].name);
        free(req->tools[i].namespace_);
    }
    memset(req, 0, sizeof *req);
}

const responses_tool_t *responses_request_tool(const responses_request_t *req, const char *name) {
    for (size_t i = 0; name && i < req->tool_count; i++)
        if (!strcmp(req->tools[i].name, name)) return &req->tools[i];
    return NULL;
}
