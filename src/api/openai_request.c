/*
 * Chat Completions request → the engine's canonical Anthropic Messages request.
 *
 * Shape of the result: system (string, system and developer messages joined in order), messages
 * (alternating; consecutive same-side messages merged; an assistant message with text only stays a plain
 * string, so a follow-up's history matches what the engine stored), max_tokens, stop_sequences,
 * thinking, tools, tool_choice, model (aliases resolved).
 */
#include "api/openai.h"

#include "api/canonical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const config_t *cfg;
    yyjson_mut_doc *doc;
    canon_t canon; /* system and messages, by the shared rules */
    api_problem_t *why;
    openai_request_t *out;
} convert_t;

static int oom(convert_t *c) { return api_problem_set(c->why, NULL, "out of memory while converting the request"); }

static bool is_absent(yyjson_val *v) { return v == NULL || yyjson_is_null(v); }

/* ---- text of a content value: a string, or an array of {"type":"text"|"refusal", ...} parts ---- */

static int append_text_content(convert_t *c, yyjson_val *content, const char *param, buf_t *out, const char *sep) {
    if (yyjson_is_str(content))
        return buf_append(out, yyjson_get_str(content), yyjson_get_len(content)) < 0 ? oom(c) : 0;
    if (!yyjson_is_arr(content))
        return api_problem_set(c->why, param, "'%s' must be a string or an array of text parts", param);
    size_t i, n;
    yyjson_val *part;
    yyjson_arr_foreach(content, i, n, part) {
        const char *type = yyjson_get_str(yyjson_obj_get(part, "type"));
        yyjson_val *text = NULL;
        if (type && strcmp(type, "text") == 0) text = yyjson_obj_get(part, "text");
        else if (type && strcmp(type, "refusal") == 0) text = yyjson_obj_get(part, "refusal");
        char sub[128];
        snprintf(sub, sizeof sub, "%s[%zu]", param, i);
        if (!yyjson_is_str(text))
            return api_problem_set(c->why, sub, "'%s' must be a text part: {\"type\":\"text\",\"text\":\"...\"}", sub);
        if (i > 0 && sep && buf_append_str(out, sep) < 0) return oom(c);
        if (buf_append(out, yyjson_get_str(text), yyjson_get_len(text)) < 0) return oom(c);
    }
    return 0;
}

/* ---- images and files: data: URLs → base64 sources, http(s) URLs → url sources ---- */

/* "data:<media type>[;...];base64,<data>" → views of media type and data. */
static bool parse_data_url(const char *url, size_t len, view_t *media, view_t *data) {
    if (len < 5 || strncmp(url, "data:", 5) != 0) return false;
    const char *comma = memchr(url, ',', len);
    if (!comma) return false;
    const char *head = url + 5;
    size_t head_len = (size_t)(comma - head);
    const char *semi = memchr(head, ';', head_len);
    media->ptr = head;
    media->len = semi ? (size_t)(semi - head) : head_len;
    /* Only base64 payloads: Anthropic takes nothing else. */
    if (head_len < 7 || strncmp(comma - 7, ";base64", 7) != 0) return false;
    data->ptr = comma + 1;
    data->len = len - (size_t)(comma + 1 - url);
    return media->len > 0 && data->len > 0;
}

static yyjson_mut_val *base64_source(convert_t *c, view_t media, view_t data) {
    yyjson_mut_val *src = yyjson_mut_obj(c->doc);
    if (!src || !yyjson_mut_obj_add_str(c->doc, src, "type", "base64") ||
        !yyjson_mut_obj_add_strncpy(c->doc, src, "media_type", media.ptr, media.len) ||
        !yyjson_mut_obj_add_strncpy(c->doc, src, "data", data.ptr, data.len))
        return NULL;
    return src;
}

static int convert_image_part(convert_t *c, yyjson_val *part, const char *param, yyjson_mut_val *blocks) {
    yyjson_val *image = yyjson_obj_get(part, "image_url");
    /* Some clients send the URL directly instead of {"url": ...}. */
    yyjson_val *url_val = yyjson_is_str(image) ? image : yyjson_obj_get(image, "url");
    char sub[160];
    snprintf(sub, sizeof sub, "%s.image_url.url", param);
    if (!yyjson_is_str(url_val)) return api_problem_set(c->why, sub, "'%s' must be a string (a data: or https: URL)", sub);
    const char *url = yyjson_get_str(url_val);
    size_t len = yyjson_get_len(url_val);
    yyjson_mut_val *block = yyjson_mut_arr_add_obj(c->doc, blocks);
    yyjson_mut_val *src = NULL;
    if (!block || !yyjson_mut_obj_add_str(c->doc, block, "type", "image")) return oom(c);
    view_t media, data;
    if (len >= 5 && strncmp(url, "data:", 5) == 0) {
        if (!parse_data_url(url, len, &media, &data))
            return api_problem_set(c->why, sub, "'%s' must be a base64 data URL (data:image/png;base64,...)", sub);
        if (!canon_is_image_media_type(media.ptr, media.len))
            return api_problem_set(c->why, sub, "image type '%.*s' is not supported: use image/jpeg, image/png, image/gif or image/webp",
                           (int)(media.len > 40 ? 40 : media.len), media.ptr);
        src = base64_source(c, media, data);
    } else if ((len > 8 && strncmp(url, "https://", 8) == 0) || (len > 7 && strncmp(url, "http://", 7) == 0)) {
        src = yyjson_mut_obj(c->doc);
        if (src && (!yyjson_mut_obj_add_str(c->doc, src, "type", "url") ||
                    !yyjson_mut_obj_add_strncpy(c->doc, src, "url", url, len)))
            src = NULL;
    } else {
        return api_problem_set(c->why, sub, "'%s' must be a data: or http(s): URL", sub);
    }
    if (!src || !yyjson_mut_obj_add_val(c->doc, block, "source", src)) return oom(c);
    return 0;
}

/* {"type":"file","file":{"file_data":"data:application/pdf;base64,..."}} → a PDF document block. */
static int convert_file_part(convert_t *c, yyjson_val *part, const char *param, yyjson_mut_val *blocks) {
    yyjson_val *data_val = yyjson_obj_get(yyjson_obj_get(part, "file"), "file_data");
    char sub[160];
    snprintf(sub, sizeof sub, "%s.file.file_data", param);
    view_t media, data;
    if (!yyjson_is_str(data_val) || !parse_data_url(yyjson_get_str(data_val), yyjson_get_len(data_val), &media, &data) ||
        media.len != strlen("application/pdf") || strncmp(media.ptr, "application/pdf", media.len) != 0)
        return api_problem_set(c->why, sub, "'%s' must be a base64 data URL of a PDF (uploaded file ids are not supported)", sub);
    yyjson_mut_val *block = yyjson_mut_arr_add_obj(c->doc, blocks);
    yyjson_mut_val *src = base64_source(c, media, data);
    if (!block || !src || !yyjson_mut_obj_add_str(c->doc, block, "type", "document") ||
        !yyjson_mut_obj_add_val(c->doc, block, "source", src))
        return oom(c);
    return 0;
}

/* A user message's content → a string, or an array of text/image/document blocks. */
static yyjson_mut_val *convert_user_content(convert_t *c, yyjson_val *content, const char *param) {
    if (yyjson_is_str(content)) return yyjson_mut_strncpy(c->doc, yyjson_get_str(content), yyjson_get_len(content));
    if (!yyjson_is_arr(content) || yyjson_arr_size(content) == 0) {
        api_problem_set(c->why, param, "'%s' must be a string or a non-empty array of content parts", param);
        return NULL;
    }
    yyjson_mut_val *blocks = yyjson_mut_arr(c->doc);
    if (!blocks) { oom(c); return NULL; }
    size_t i, n;
    yyjson_val *part;
    yyjson_arr_foreach(content, i, n, part) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s[%zu]", param, i);
        const char *type = yyjson_get_str(yyjson_obj_get(part, "type"));
        int rc;
        if (!type) {
            rc = api_problem_set(c->why, sub, "'%s.type' is required", sub);
        } else if (strcmp(type, "text") == 0) {
            yyjson_val *text = yyjson_obj_get(part, "text");
            yyjson_mut_val *block = yyjson_mut_arr_add_obj(c->doc, blocks);
            if (!yyjson_is_str(text)) rc = api_problem_set(c->why, sub, "'%s.text' must be a string", sub);
            else if (!block || !yyjson_mut_obj_add_str(c->doc, block, "type", "text") ||
                     !yyjson_mut_obj_add_strncpy(c->doc, block, "text", yyjson_get_str(text), yyjson_get_len(text)))
                rc = oom(c);
            else rc = 0;
        } else if (strcmp(type, "image_url") == 0) {
            rc = convert_image_part(c, part, sub, blocks);
        } else if (strcmp(type, "file") == 0) {
            rc = convert_file_part(c, part, sub, blocks);
        } else {
            rc = api_problem_set(c->why, sub, "content part type '%.32s' is not supported (use text, image_url or file)", type);
        }
        if (rc < 0) return NULL;
    }
    return blocks;
}

/* ---- canonical messages: append, merging consecutive messages of one side ---- */

/* content as an array of blocks; a string becomes one text block (a copy: the original may still sit
 * in its message object, and a yyjson value lives in one container only). */
static int push_message(convert_t *c, const char *role, yyjson_mut_val *content) {
    return canon_add_message(&c->canon, role, content) < 0 ? oom(c) : 0;
}

static int convert_tool_calls(convert_t *c, yyjson_val *calls, const char *param, yyjson_mut_val *blocks) {
    if (!yyjson_is_arr(calls)) return api_problem_set(c->why, param, "'%s' must be an array", param);
    size_t i, n;
    yyjson_val *call;
    yyjson_arr_foreach(calls, i, n, call) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s[%zu]", param, i);
        yyjson_val *id = yyjson_obj_get(call, "id");
        yyjson_val *fn = yyjson_obj_get(call, "function");
        yyjson_val *name = yyjson_obj_get(fn, "name");
        yyjson_val *args = yyjson_obj_get(fn, "arguments");
        if (!yyjson_is_str(id) || !yyjson_is_str(name))
            return api_problem_set(c->why, sub, "'%s' needs an id and function.name", sub);
        yyjson_doc *input = NULL;
        if (yyjson_is_str(args) && yyjson_get_len(args) > 0) {
            input = yyjson_read(yyjson_get_str(args), yyjson_get_len(args), 0);
            if (!input || !yyjson_is_obj(yyjson_doc_get_root(input))) {
                yyjson_doc_free(input);
                return api_problem_set(c->why, sub, "'%s.function.arguments' must be a JSON object text", sub);
            }
            char where[160];
            snprintf(where, sizeof where, "%s.function.arguments", sub);
            if (api_check_depth(yyjson_doc_get_root(input), where, c->why) < 0) {
                yyjson_doc_free(input);
                return -1;
            }
        }
        yyjson_mut_val *block = yyjson_mut_arr_add_obj(c->doc, blocks);
        yyjson_mut_val *in = input ? yyjson_val_mut_copy(c->doc, yyjson_doc_get_root(input)) : yyjson_mut_obj(c->doc);
        yyjson_doc_free(input);
        if (!block || !in || !yyjson_mut_obj_add_str(c->doc, block, "type", "tool_use") ||
            !yyjson_mut_obj_add_strcpy(c->doc, block, "id", yyjson_get_str(id)) ||
            !yyjson_mut_obj_add_strcpy(c->doc, block, "name", yyjson_get_str(name)) ||
            !yyjson_mut_obj_add_val(c->doc, block, "input", in))
            return oom(c);
    }
    return 0;
}

static int convert_assistant(convert_t *c, yyjson_val *msg, const char *param) {
    yyjson_val *content = yyjson_obj_get(msg, "content");
    yyjson_val *calls = yyjson_obj_get(msg, "tool_calls");
    bool has_calls = yyjson_is_arr(calls) && yyjson_arr_size(calls) > 0;
    char sub[96];
    snprintf(sub, sizeof sub, "%s.content", param);
    buf_t text;
    buf_init(&text, 0);
    if (!is_absent(content) && append_text_content(c, content, sub, &text, "") < 0) goto fail;
    if (!has_calls) {
        if (is_absent(content)) {
            api_problem_set(c->why, sub, "'%s' is required unless the assistant message has tool_calls", sub);
            goto fail;
        }
        yyjson_mut_val *s = yyjson_mut_strncpy(c->doc, text.data ? text.data : "", text.len);
        buf_free(&text);
        return s ? push_message(c, "assistant", s) : oom(c);
    }
    if (!c->out->tools_param) c->out->tools_param = "tool_calls";
    yyjson_mut_val *blocks = yyjson_mut_arr(c->doc);
    if (!blocks) { oom(c); goto fail; }
    if (text.len > 0) {
        yyjson_mut_val *block = yyjson_mut_arr_add_obj(c->doc, blocks);
        if (!block || !yyjson_mut_obj_add_str(c->doc, block, "type", "text") ||
            !yyjson_mut_obj_add_strncpy(c->doc, block, "text", text.data, text.len)) {
            oom(c);
            goto fail;
        }
    }
    snprintf(sub, sizeof sub, "%s.tool_calls", param);
    if (convert_tool_calls(c, calls, sub, blocks) < 0) goto fail;
    buf_free(&text);
    return push_message(c, "assistant", blocks);
fail:
    buf_free(&text);
    return -1;
}

/* A tool message becomes a tool_result block on the user side. */
static int convert_tool_message(convert_t *c, yyjson_val *msg, const char *param) {
    char sub[96];
    yyjson_val *id = yyjson_obj_get(msg, "tool_call_id");
    snprintf(sub, sizeof sub, "%s.tool_call_id", param);
    if (!yyjson_is_str(id)) return api_problem_set(c->why, sub, "'%s' must be a string", sub);
    snprintf(sub, sizeof sub, "%s.content", param);
    buf_t text;
    buf_init(&text, 0);
    if (append_text_content(c, yyjson_obj_get(msg, "content"), sub, &text, "\n") < 0) {
        buf_free(&text);
        return -1;
    }
    yyjson_mut_val *blocks = yyjson_mut_arr(c->doc);
    yyjson_mut_val *block = yyjson_mut_arr_add_obj(c->doc, blocks);
    bool ok = blocks && block && yyjson_mut_obj_add_str(c->doc, block, "type", "tool_result") &&
              yyjson_mut_obj_add_strcpy(c->doc, block, "tool_use_id", yyjson_get_str(id)) &&
              yyjson_mut_obj_add_strncpy(c->doc, block, "content", text.data ? text.data : "", text.len);
    buf_free(&text);
    if (!c->out->tools_param) c->out->tools_param = "messages";
    return ok ? push_message(c, "user", blocks) : oom(c);
}

static int convert_message(convert_t *c, yyjson_val *msg, size_t index, const char **last_role) {
    char param[64];
    snprintf(param, sizeof param, "messages[%zu]", index);
    if (!yyjson_is_obj(msg)) return api_problem_set(c->why, param, "'%s' must be an object", param);
    const char *role = yyjson_get_str(yyjson_obj_get(msg, "role"));
    char sub[96];
    snprintf(sub, sizeof sub, "%s.role", param);
    if (!role) return api_problem_set(c->why, sub, "'%s' is required", sub);
    snprintf(sub, sizeof sub, "%s.content", param);
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
        /* One prompt per message: its parts joined as one prompt's, the messages as separate prompts. */
        buf_t text;
        buf_init(&text, 0);
        int rc = append_text_content(c, yyjson_obj_get(msg, "content"), sub, &text, CANON_SYSTEM_PART_SEP);
        if (rc == 0 && canon_add_system(&c->canon, text.data ? text.data : "", text.len, true) < 0) rc = oom(c);
        buf_free(&text);
        return rc;
    }
    *last_role = role;
    if (strcmp(role, "user") == 0) {
        yyjson_mut_val *content = convert_user_content(c, yyjson_obj_get(msg, "content"), sub);
        return content ? push_message(c, "user", content) : -1;
    }
    if (strcmp(role, "assistant") == 0) return convert_assistant(c, msg, param);
    if (strcmp(role, "tool") == 0) return convert_tool_message(c, msg, param);
    snprintf(sub, sizeof sub, "%s.role", param);
    return api_problem_set(c->why, sub, "'%.32s' is not a valid role (system, developer, user, assistant or tool)", role);
}

static int convert_messages(convert_t *c, yyjson_val *root) {
    yyjson_val *messages;
    if (api_field(DIALECT_OPENAI, root, NULL, "messages", API_FIELD_ARRAY, true, &messages, c->why) < 0) return -1;
    if (yyjson_arr_size(messages) == 0) return api_problem_set(c->why, "messages", "'messages' must not be empty");
    const char *last_role = NULL;
    size_t i, n;
    yyjson_val *msg;
    yyjson_arr_foreach(messages, i, n, msg) {
        if (convert_message(c, msg, i, &last_role) < 0) return -1;
    }
    if (!last_role || (strcmp(last_role, "user") != 0 && strcmp(last_role, "tool") != 0))
        return api_problem_set(c->why, "messages", "the conversation must end with a user or tool message");
    return 0;
}

/* ---- the other fields ---- */

static int convert_max_tokens(convert_t *c, yyjson_val *root, yyjson_mut_val *body, int64_t *max_tokens) {
    static const char *const names[] = {"max_completion_tokens", "max_tokens"}; /* the newer name wins */
    *max_tokens = OPENAI_DEFAULT_MAX_TOKENS;
    for (size_t i = 0; i < 2; i++) {
        yyjson_val *v;
        if (api_field(DIALECT_OPENAI, root, NULL, names[i], API_FIELD_INTEGER, false, &v, c->why) < 0) return -1;
        if (!v) continue;
        if (yyjson_get_sint(v) < 1) return api_problem_set(c->why, names[i], "'%s' must be at least 1", names[i]);
        *max_tokens = yyjson_get_sint(v);
        break;
    }
    return yyjson_mut_obj_add_int(c->doc, body, "max_tokens", *max_tokens) ? 0 : oom(c);
}

static int convert_stop(convert_t *c, yyjson_val *stop, yyjson_mut_val *body) {
    if (is_absent(stop)) return 0;
    yyjson_mut_val *seqs = yyjson_mut_arr(c->doc);
    if (!seqs) return oom(c);
    if (yyjson_is_str(stop)) {
        if (yyjson_get_len(stop) > 0 && !yyjson_mut_arr_add_strncpy(c->doc, seqs, yyjson_get_str(stop), yyjson_get_len(stop)))
            return oom(c);
    } else if (yyjson_is_arr(stop)) {
        size_t i, n;
        yyjson_val *s;
        yyjson_arr_foreach(stop, i, n, s) {
            if (!yyjson_is_str(s)) return api_problem_set(c->why, "stop", "'stop' must be a string or an array of strings");
            if (yyjson_get_len(s) > 0 && !yyjson_mut_arr_add_strncpy(c->doc, seqs, yyjson_get_str(s), yyjson_get_len(s)))
                return oom(c);
        }
    } else {
        return api_problem_set(c->why, "stop", "'stop' must be a string or an array of strings");
    }
    if (yyjson_mut_arr_size(seqs) == 0) return 0;
    return yyjson_mut_obj_add_val(c->doc, body, "stop_sequences", seqs) ? 0 : oom(c);
}

static int convert_response_format(convert_t *c, yyjson_val *format) {
    if (is_absent(format)) return 0;
    const char *type = yyjson_get_str(yyjson_obj_get(format, "type"));
    if (!type) return api_problem_set(c->why, "response_format.type", "'response_format.type' is required");
    if (strcmp(type, "text") == 0) return 0;
    if (strcmp(type, "json_object") == 0) {
        c->out->json_schema = strdup("{\"type\":\"object\"}");
        return c->out->json_schema ? 0 : oom(c);
    }
    if (strcmp(type, "json_schema") != 0)
        return api_problem_set(c->why, "response_format.type", "'response_format.type' must be text, json_object or json_schema");
    yyjson_val *schema = yyjson_obj_get(yyjson_obj_get(format, "json_schema"), "schema");
    if (is_absent(schema)) {
        c->out->json_schema = strdup("{\"type\":\"object\"}");
        return c->out->json_schema ? 0 : oom(c);
    }
    const char *schema_type = yyjson_get_str(yyjson_obj_get(schema, "type"));
    /* The CLI returns structured output as a tool's input, and a tool's input is always an object. */
    if (!yyjson_is_obj(schema) || (schema_type && strcmp(schema_type, "object") != 0))
        return api_problem_set(c->why, "response_format.json_schema.schema",
                       "'response_format.json_schema.schema' must be a JSON Schema of an object");
    c->out->json_schema = yyjson_val_write(schema, 0, NULL);
    return c->out->json_schema ? 0 : oom(c);
}

/* reasoning_effort → the CLI's effort level and a thinking budget that fits under max_tokens. */
static int convert_reasoning(convert_t *c, yyjson_val *effort, yyjson_mut_val *body, int64_t max_tokens) {
    static const struct { const char *name, *effort; int64_t budget; } levels[] = {
        {"minimal", "low", 1024}, {"low", "low", 2048},     {"medium", "medium", 8192},
        {"high", "high", 24576},  {"xhigh", "high", 32000},
    };
    if (is_absent(effort)) return 0;
    const char *name = yyjson_get_str(effort);
    if (name && strcmp(name, "none") == 0) {
        yyjson_mut_val *thinking = yyjson_mut_obj_add_obj(c->doc, body, "thinking");
        return thinking && yyjson_mut_obj_add_str(c->doc, thinking, "type", "disabled") ? 0 : oom(c);
    }
    for (size_t i = 0; name && i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(name, levels[i].name) != 0) continue;
        c->out->effort = levels[i].effort;
        int64_t budget = levels[i].budget < max_tokens - 1 ? levels[i].budget : max_tokens - 1;
        if (budget < 1024) return 0; /* Anthropic's smallest thinking budget does not fit */
        yyjson_mut_val *thinking = yyjson_mut_obj_add_obj(c->doc, body, "thinking");
        if (!thinking || !yyjson_mut_obj_add_str(c->doc, thinking, "type", "enabled") ||
            !yyjson_mut_obj_add_int(c->doc, thinking, "budget_tokens", budget))
            return oom(c);
        return 0;
    }
    return api_problem_set(c->why, "reasoning_effort", "'reasoning_effort' must be none, minimal, low, medium, high or xhigh");
}

/* tools / tool_choice / parallel_tool_calls → Anthropic's tools and tool_choice. */
static int convert_tools(convert_t *c, yyjson_val *root, yyjson_mut_val *body) {
    yyjson_val *tools = yyjson_obj_get(root, "tools");
    if (!is_absent(yyjson_obj_get(root, "functions"))) {
        c->out->tools_param = "functions";
        return api_problem_set(c->why, "functions", "'functions' is deprecated: use 'tools'");
    }
    if (is_absent(tools)) return 0;
    if (!yyjson_is_arr(tools)) return api_problem_set(c->why, "tools", "'tools' must be an array");
    if (yyjson_arr_size(tools) == 0) return 0;
    c->out->tools_param = "tools";
    yyjson_mut_val *out = yyjson_mut_obj_add_arr(c->doc, body, "tools");
    if (!out) return oom(c);
    size_t i, n;
    yyjson_val *tool;
    yyjson_arr_foreach(tools, i, n, tool) {
        char sub[64];
        snprintf(sub, sizeof sub, "tools[%zu]", i);
        yyjson_val *fn = yyjson_obj_get(tool, "function");
        yyjson_val *name = yyjson_obj_get(fn, "name");
        const char *type = yyjson_get_str(yyjson_obj_get(tool, "type"));
        if (!type || strcmp(type, "function") != 0 || !yyjson_is_str(name))
            return api_problem_set(c->why, sub, "'%s' must be {\"type\":\"function\",\"function\":{\"name\":...}}", sub);
        yyjson_val *params = yyjson_obj_get(fn, "parameters");
        yyjson_val *desc = yyjson_obj_get(fn, "description");
        yyjson_mut_val *t = yyjson_mut_arr_add_obj(c->doc, out);
        yyjson_mut_val *schema = yyjson_is_obj(params) ? yyjson_val_mut_copy(c->doc, params) : yyjson_mut_obj(c->doc);
        if (!t || !schema || !yyjson_mut_obj_add_strcpy(c->doc, t, "name", yyjson_get_str(name)) ||
            (yyjson_is_str(desc) && !yyjson_mut_obj_add_strcpy(c->doc, t, "description", yyjson_get_str(desc))))
            return oom(c);
        if (!yyjson_is_obj(params) && !yyjson_mut_obj_add_str(c->doc, schema, "type", "object")) return oom(c);
        if (!yyjson_mut_obj_add_val(c->doc, t, "input_schema", schema)) return oom(c);
    }
    yyjson_val *choice = yyjson_obj_get(root, "tool_choice");
    const char *mode = yyjson_get_str(choice);
    const char *fn_name = yyjson_get_str(yyjson_obj_get(yyjson_obj_get(choice, "function"), "name"));
    yyjson_mut_val *tc = yyjson_mut_obj_add_obj(c->doc, body, "tool_choice");
    if (!tc) return oom(c);
    const char *type = "auto";
    if (is_absent(choice) || (mode && strcmp(mode, "auto") == 0)) type = "auto";
    else if (mode && strcmp(mode, "none") == 0) type = "none";
    else if (mode && strcmp(mode, "required") == 0) type = "any";
    else if (fn_name) type = "tool";
    else return api_problem_set(c->why, "tool_choice", "'tool_choice' must be none, auto, required or {\"type\":\"function\",...}");
    if (!yyjson_mut_obj_add_str(c->doc, tc, "type", type) ||
        (fn_name && !yyjson_mut_obj_add_strcpy(c->doc, tc, "name", fn_name)))
        return oom(c);
    if (yyjson_is_false(yyjson_obj_get(root, "parallel_tool_calls")) &&
        !yyjson_mut_obj_add_bool(c->doc, tc, "disable_parallel_tool_use", true))
        return oom(c);
    return 0;
}

static int check_flags(convert_t *c, yyjson_val *root) {
    yyjson_val *n, *stream, *opts, *model;
    if (api_field(DIALECT_OPENAI, root, NULL, "n", API_FIELD_INTEGER, false, &n, c->why) < 0) return -1;
    if (n && yyjson_get_sint(n) != 1)
        return api_problem_set(c->why, "n", "only n=1 is supported: one choice per request");
    if (api_field(DIALECT_OPENAI, root, NULL, "stream", API_FIELD_BOOL, false, &stream, c->why) < 0 ||
        api_field(DIALECT_OPENAI, root, NULL, "stream_options", API_FIELD_OBJECT, false, &opts, c->why) < 0 ||
        api_field(DIALECT_OPENAI, root, NULL, "model", API_FIELD_STRING, false, &model, c->why) < 0)
        return -1;
    if (model && yyjson_get_len(model) == 0) return api_problem_set(c->why, "model", "'model' must not be empty");
    c->out->is_stream = yyjson_is_true(stream);
    c->out->include_usage = yyjson_is_true(yyjson_obj_get(opts, "include_usage"));
    return 0;
}

int openai_request_convert(const config_t *cfg, yyjson_val *root, openai_request_t *out, api_problem_t *why) {
    memset(out, 0, sizeof *out);
    memset(why, 0, sizeof *why);
    convert_t c = {.cfg = cfg, .why = why, .out = out};
    buf_init(&c.canon.system, 0); /* canon_free is safe before canon_init */
    if (!yyjson_is_obj(root)) {
        api_problem_set(why, NULL, "the request body must be a JSON object");
        goto fail;
    }
    out->doc = c.doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *body = c.doc ? yyjson_mut_obj(c.doc) : NULL;
    if (!body) { oom(&c); goto fail; }
    yyjson_mut_doc_set_root(c.doc, body);
    if (check_flags(&c, root) < 0) goto fail;

    const char *requested = yyjson_get_str(yyjson_obj_get(root, "model"));
    if (!requested) requested = cfg->default_model;
    const char *resolved = config_resolve_model(cfg, requested);
    out->model = requested ? requested : resolved;
    yyjson_mut_val *model_echo = yyjson_mut_strcpy(c.doc, out->model);
    if (!model_echo || !yyjson_mut_obj_add_strcpy(c.doc, body, "model", resolved)) { oom(&c); goto fail; }
    out->model = yyjson_mut_get_str(model_echo);

    if (canon_init(&c.canon, c.doc) < 0) { oom(&c); goto fail; }
    if (convert_messages(&c, root) < 0) goto fail;
    if (canon_finish(&c.canon, body) < 0) { oom(&c); goto fail; }
    int64_t max_tokens;
    if (convert_max_tokens(&c, root, body, &max_tokens) < 0 || convert_stop(&c, yyjson_obj_get(root, "stop"), body) < 0 ||
        convert_response_format(&c, yyjson_obj_get(root, "response_format")) < 0 ||
        convert_reasoning(&c, yyjson_obj_get(root, "reasoning_effort"), body, max_tokens) < 0 ||
        convert_tools(&c, root, body) < 0)
        goto fail;
    canon_free(&c.canon);
    return 0;
fail:
    canon_free(&c.canon);
    return -1;
}

void openai_request_free(openai_request_t *req) {
    yyjson_mut_doc_free(req->doc);
    free(req->json_schema);
    memset(req, 0, sizeof *req);
}
