/*
 * Messages API request → the engine's canonical request, validated the way the real API does it (400
 * invalid_request_error naming the field in pydantic's words: "messages.1.role: Input should be 'user'
 * or 'assistant'").
 *
 * Shape of the result (api/canonical.h): model (resolved), system (one string), messages (user and
 * assistant strictly alternating; content blocks copied verbatim so signatures, tool input and
 * cache_control survive),
 * max_tokens, stop_sequences, thinking, tools, tool_choice, metadata.
 *
 * Decisions where we differ from the real API, because the CLI takes a conversation one user line at a
 * time: the conversation must start and end with a user message (no assistant "prefill"). Unknown
 * top-level fields are ignored rather than refused, so newer SDKs' extras don't break requests.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/anthropic.h"
#include "api/canonical.h"

typedef struct {
    const config_t *cfg;
    yyjson_mut_doc *doc;
    canon_t canon; /* system and messages, by the shared rules */
    api_problem_t *why;
    anthropic_parse_mode_t mode;
} parse_t;

#define D DIALECT_ANTHROPIC

static int oom(parse_t *p) { return api_problem_set(p->why, NULL, "out of memory while reading the request"); }

/* "<path>.<sub>: <what>", naming "<path>.<sub>" as the param (sub may be NULL). */
static int at(parse_t *p, const char *path, const char *sub, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int at(parse_t *p, const char *path, const char *sub, const char *fmt, ...) {
    char param[128], what[256];
    snprintf(param, sizeof param, "%s%s%s", path, sub ? "." : "", sub ? sub : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return api_problem_set(p->why, param, "%s: %s", param, what);
}

static bool str_eq(yyjson_val *v, const char *s) { return yyjson_is_str(v) && strcmp(yyjson_get_str(v), s) == 0; }

static bool is_blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return false;
    return true;
}

/* A required, non-blank string field. */
static int need_text(parse_t *p, yyjson_val *obj, const char *path, const char *key, yyjson_val **out) {
    if (api_field(D, obj, path, key, API_FIELD_STRING, true, out, p->why) < 0) return -1;
    return 0;
}

/* ---- content blocks ---- */


static int check_image(parse_t *p, yyjson_val *block, const char *path) {
    yyjson_val *source, *type, *v;
    char sp[128];
    if (api_field(D, block, path, "source", API_FIELD_OBJECT, true, &source, p->why) < 0) return -1;
    snprintf(sp, sizeof sp, "%s.source", path);
    if (need_text(p, source, sp, "type", &type) < 0) return -1;
    if (str_eq(type, "base64")) {
        if (need_text(p, source, sp, "media_type", &v) < 0) return -1;
        if (!canon_is_image_media_type(yyjson_get_str(v), yyjson_get_len(v)))
            return at(p, sp, "media_type", "Input should be 'image/jpeg', 'image/png', "
                                   "'image/gif' or 'image/webp'");
        if (need_text(p, source, sp, "data", &v) < 0) return -1;
        if (yyjson_get_len(v) == 0) return at(p, sp, "data", "image data must not be empty");
        return 0;
    }
    if (str_eq(type, "url")) return need_text(p, source, sp, "url", &v);
    return at(p, sp, "type", "Input should be 'base64' or 'url' (file sources are not supported)");
}

static int check_document(parse_t *p, yyjson_val *block, const char *path) {
    yyjson_val *source, *type, *v;
    char sp[128];
    if (api_field(D, block, path, "source", API_FIELD_OBJECT, true, &source, p->why) < 0) return -1;
    snprintf(sp, sizeof sp, "%s.source", path);
    if (need_text(p, source, sp, "type", &type) < 0) return -1;
    if (str_eq(type, "base64") || str_eq(type, "text")) {
        if (need_text(p, source, sp, "media_type", &v) < 0) return -1;
        const char *want = str_eq(type, "base64") ? "application/pdf" : "text/plain";
        if (!str_eq(v, want)) return at(p, sp, "media_type", "Input should be '%s'", want);
        return need_text(p, source, sp, "data", &v);
    }
    if (str_eq(type, "url")) return need_text(p, source, sp, "url", &v);
    if (str_eq(type, "content")) {
        v = yyjson_obj_get(source, "content");
        if (!yyjson_is_str(v) && !yyjson_is_arr(v))
            return at(p, sp, "content", "Input should be a valid string or list");
        return 0;
    }
    return at(p, sp, "type", "Input should be 'base64', 'text', 'url' or 'content' (file sources are not supported)");
}

/* Which roles may carry a block type; NULL = unknown type. */
static const char *block_roles(const char *type) {
    static const struct {
        const char *type, *roles;
    } known[] = {
        {"text", "ua"},     {"image", "u"},    {"document", "u"},          {"tool_result", "u"},
        {"tool_use", "a"},  {"thinking", "a"}, {"redacted_thinking", "a"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].type, type) == 0) return known[i].roles;
    return NULL;
}

static int check_block(parse_t *p, yyjson_val *block, bool is_user, const char *path) {
    yyjson_val *type, *v;
    if (!yyjson_is_obj(block)) return at(p, path, NULL, "Input should be a valid dictionary");
    if (api_field(D, block, path, "type", API_FIELD_STRING, true, &type, p->why) < 0) return -1;
    const char *t = yyjson_get_str(type);
    const char *roles = block_roles(t);
    if (!roles)
        return at(p, path, "type",
                  "Input tag '%.40s' found using 'type' does not match any of the expected tags: 'text', 'image', "
                  "'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'", t);
    if (!strchr(roles, is_user ? 'u' : 'a'))
        return at(p, path, "type", "'%s' blocks are only allowed in %s messages", t, is_user ? "assistant" : "user");
    if (strcmp(t, "text") == 0) {
        if (need_text(p, block, path, "text", &v) < 0) return -1;
        if (is_blank(yyjson_get_str(v), yyjson_get_len(v)))
            return at(p, path, "text", "text content blocks must contain non-whitespace text");
        return 0;
    }
    if (strcmp(t, "image") == 0) return check_image(p, block, path);
    if (strcmp(t, "document") == 0) return check_document(p, block, path);
    if (strcmp(t, "tool_use") == 0) {
        if (need_text(p, block, path, "id", &v) < 0 || need_text(p, block, path, "name", &v) < 0) return -1;
        return api_field(D, block, path, "input", API_FIELD_OBJECT, true, &v, p->why);
    }
    if (strcmp(t, "tool_result") == 0) {
        if (need_text(p, block, path, "tool_use_id", &v) < 0) return -1;
        v = yyjson_obj_get(block, "content");
        if (v && !yyjson_is_null(v) && !yyjson_is_str(v) && !yyjson_is_arr(v))
            return at(p, path, "content", "Input should be a valid string or list");
        return 0;
    }
    if (strcmp(t, "thinking") == 0) {
        /* An empty thinking text with only a signature is legitimate (redacted summaries): keep it. */
        if (api_field(D, block, path, "thinking", API_FIELD_STRING, true, &v, p->why) < 0) return -1;
        return need_text(p, block, path, "signature", &v);
    }
    return need_text(p, block, path, "data", &v); /* redacted_thinking */
}

/* Validate one message's content and append it to the canonical messages (merging with the previous
 * message when it has the same role). */
static int add_message(parse_t *p, yyjson_val *msg, size_t index) {
    char path[64], bp[96];
    snprintf(path, sizeof path, "messages.%zu", index);
    if (!yyjson_is_obj(msg)) return at(p, path, NULL, "Input should be a valid dictionary");
    yyjson_val *role, *content;
    if (api_field(D, msg, path, "role", API_FIELD_STRING, true, &role, p->why) < 0) return -1;
    bool is_user = str_eq(role, "user");
    if (!is_user && !str_eq(role, "assistant"))
        return at(p, path, "role", "Input should be 'user' or 'assistant'");
    if (index == 0 && !is_user)
        return at(p, path, "role", "the first message must use the \"user\" role");
    content = yyjson_obj_get(msg, "content");
    if (!content || yyjson_is_null(content))
        return at(p, path, "content", "Field required");
    bool is_empty;
    if (yyjson_is_str(content)) {
        is_empty = is_blank(yyjson_get_str(content), yyjson_get_len(content));
    } else if (yyjson_is_arr(content)) {
        is_empty = yyjson_arr_size(content) == 0;
        size_t i, n;
        yyjson_val *block;
        yyjson_arr_foreach(content, i, n, block) {
            snprintf(bp, sizeof bp, "%s.content.%zu", path, i);
            if (check_block(p, block, is_user, bp) < 0) return -1;
        }
    } else {
        return at(p, path, "content", "Input should be a valid string or list");
    }
    if (is_empty)
        return at(p, path, NULL, "all messages must have non-empty content");

    yyjson_mut_val *copy = yyjson_val_mut_copy(p->doc, content);
    if (!copy || canon_add_message(&p->canon, is_user ? "user" : "assistant", copy) < 0) return oom(p);
    return 0;
}

static int parse_messages(parse_t *p, yyjson_val *root) {
    yyjson_val *messages;
    if (api_field(D, root, NULL, "messages", API_FIELD_ARRAY, true, &messages, p->why) < 0) return -1;
    if (yyjson_arr_size(messages) == 0)
        return api_problem_set(p->why, "messages", "messages: at least one message is required");
    size_t i, n;
    yyjson_val *msg;
    yyjson_arr_foreach(messages, i, n, msg) {
        if (add_message(p, msg, i) < 0) return -1;
    }
    const char *last_role = canon_last_role(&p->canon);
    if (!last_role || strcmp(last_role, "user") != 0)
        return api_problem_set(p->why, "messages",
                               "messages: the conversation must end with a user message (a final assistant "
                               "message, \"prefill\", is not supported by this proxy)");
    return 0;
}

/* system: a string, or text blocks: the parts of one prompt (api/canonical.h joins them). */
static int parse_system(parse_t *p, yyjson_val *root) {
    yyjson_val *system = yyjson_obj_get(root, "system");
    if (!system || yyjson_is_null(system)) return 0;
    if (yyjson_is_str(system))
        return canon_add_system(&p->canon, yyjson_get_str(system), yyjson_get_len(system), true) < 0 ? oom(p) : 0;
    if (!yyjson_is_arr(system)) return api_problem_set(p->why, "system", "system: Input should be a valid string or list");
    size_t i, n;
    yyjson_val *block, *t;
    char path[48];
    yyjson_arr_foreach(system, i, n, block) {
        snprintf(path, sizeof path, "system.%zu", i);
        if (!yyjson_is_obj(block)) return at(p, path, NULL, "Input should be a valid dictionary");
        if (!str_eq(yyjson_obj_get(block, "type"), "text")) return at(p, path, "type", "Input should be 'text'");
        if (api_field(D, block, path, "text", API_FIELD_STRING, true, &t, p->why) < 0) return -1;
        if (canon_add_system(&p->canon, yyjson_get_str(t), yyjson_get_len(t), i == 0) < 0) return oom(p);
    }
    return 0;
}

static int parse_thinking(parse_t *p, yyjson_val *root, yyjson_mut_val *canon, yyjson_val *max_tokens) {
    yyjson_val *thinking, *type, *budget;
    if (api_field(D, root, NULL, "thinking", API_FIELD_OBJECT, false, &thinking, p->why) < 0) return -1;
    if (!thinking) return 0;
    if (api_field(D, thinking, "thinking", "type", API_FIELD_STRING, true, &type, p->why) < 0) return -1;
    if (str_eq(type, "enabled")) {
        if (api_field(D, thinking, "thinking", "budget_tokens", API_FIELD_INTEGER, true, &budget, p->why) < 0)
            return -1;
        if (yyjson_get_sint(budget) < ANTHROPIC_MIN_THINKING_BUDGET)
            return api_problem_set(p->why, "thinking.budget_tokens",
                                   "thinking.budget_tokens: Input should be greater than or equal to %d",
                                   ANTHROPIC_MIN_THINKING_BUDGET);
        if (max_tokens && yyjson_get_sint(budget) >= yyjson_get_sint(max_tokens))
            return api_problem_set(p->why, "max_tokens", "`max_tokens` must be greater than `thinking.budget_tokens`");
    } else if (!str_eq(type, "disabled") && !str_eq(type, "adaptive")) {
        return api_problem_set(p->why, "thinking.type", "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'");
    }
    return yyjson_mut_obj_add_val(p->doc, canon, "thinking", yyjson_val_mut_copy(p->doc, thinking)) ? 0 : oom(p);
}

static int parse_tools(parse_t *p, yyjson_val *root, yyjson_mut_val *canon, anthropic_request_t *out) {
    yyjson_val *tools, *choice, *v;
    char path[48];
    if (api_field(D, root, NULL, "tools", API_FIELD_ARRAY, false, &tools, p->why) < 0) return -1;
    size_t i, n;
    yyjson_val *tool;
    yyjson_arr_foreach(tools, i, n, tool) {
        snprintf(path, sizeof path, "tools.%zu", i);
        if (!yyjson_is_obj(tool)) return at(p, path, NULL, "Input should be a valid dictionary");
        if (need_text(p, tool, path, "name", &v) < 0) return -1;
        yyjson_val *type = yyjson_obj_get(tool, "type");
        bool is_custom = !type || yyjson_is_null(type) || str_eq(type, "custom");
        if (is_custom && api_field(D, tool, path, "input_schema", API_FIELD_OBJECT, true, &v, p->why) < 0) return -1;
    }
    if (api_field(D, root, NULL, "tool_choice", API_FIELD_OBJECT, false, &choice, p->why) < 0) return -1;
    if (choice) {
        yyjson_val *type;
        if (need_text(p, choice, "tool_choice", "type", &type) < 0) return -1;
        if (str_eq(type, "tool")) {
            if (need_text(p, choice, "tool_choice", "name", &v) < 0) return -1;
        } else if (!str_eq(type, "auto") && !str_eq(type, "any") && !str_eq(type, "none")) {
            return api_problem_set(p->why, "tool_choice.type",
                                   "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
        }
    }
    out->has_tools = tools && yyjson_arr_size(tools) > 0;
    if (tools && !yyjson_mut_obj_add_val(p->doc, canon, "tools", yyjson_val_mut_copy(p->doc, tools))) return oom(p);
    if (choice && !yyjson_mut_obj_add_val(p->doc, canon, "tool_choice", yyjson_val_mut_copy(p->doc, choice)))
        return oom(p);
    return 0;
}

/* A number in [lo, hi]: accepted and then ignored (the CLI does not pass sampling settings on). */
static int check_range(parse_t *p, yyjson_val *root, const char *key, api_field_type_t type, double lo, double hi) {
    yyjson_val *v;
    if (api_field(D, root, NULL, key, type, false, &v, p->why) < 0) return -1;
    if (!v) return 0;
    double x = yyjson_get_num(v);
    if (x < lo) return at(p, key, NULL, "Input should be greater than or equal to %g", lo);
    if (x > hi) return at(p, key, NULL, "Input should be less than or equal to %g", hi);
    return 0;
}

static int parse_scalars(parse_t *p, yyjson_val *root, yyjson_mut_val *canon, anthropic_request_t *out,
                         yyjson_val **max_tokens) {
    yyjson_val *v, *stops, *meta, *oc;
    bool is_count = p->mode == ANTHROPIC_PARSE_COUNT_TOKENS;
    if (api_field(D, root, NULL, "max_tokens", API_FIELD_INTEGER, !is_count, max_tokens, p->why) < 0) return -1;
    if (*max_tokens) {
        if (yyjson_get_sint(*max_tokens) < 1)
            return api_problem_set(p->why, "max_tokens", "max_tokens: Input should be greater than or equal to 1");
        if (!yyjson_mut_obj_add_int(p->doc, canon, "max_tokens", yyjson_get_sint(*max_tokens))) return oom(p);
    }
    if (api_field(D, root, NULL, "stream", API_FIELD_BOOL, false, &v, p->why) < 0) return -1;
    out->is_stream = !is_count && v && yyjson_get_bool(v);
    if (check_range(p, root, "temperature", API_FIELD_NUMBER, 0, 1) < 0 ||
        check_range(p, root, "top_p", API_FIELD_NUMBER, 0, 1) < 0 ||
        check_range(p, root, "top_k", API_FIELD_INTEGER, 0, 1e9) < 0)
        return -1;

    if (api_field(D, root, NULL, "stop_sequences", API_FIELD_ARRAY, false, &stops, p->why) < 0) return -1;
    size_t i, n;
    yyjson_val *s;
    char path[48];
    yyjson_arr_foreach(stops, i, n, s) {
        snprintf(path, sizeof path, "stop_sequences.%zu", i);
        if (!yyjson_is_str(s)) return api_problem_type(p->why, D, path, API_FIELD_STRING, s);
        if (is_blank(yyjson_get_str(s), yyjson_get_len(s)))
            return at(p, path, NULL, "stop sequences must contain non-whitespace");
    }
    if (stops && !yyjson_mut_obj_add_val(p->doc, canon, "stop_sequences", yyjson_val_mut_copy(p->doc, stops)))
        return oom(p);

    if (api_field(D, root, NULL, "metadata", API_FIELD_OBJECT, false, &meta, p->why) < 0) return -1;
    if (meta && api_field(D, meta, "metadata", "user_id", API_FIELD_STRING, false, &v, p->why) < 0) return -1;
    if (meta && !yyjson_mut_obj_add_val(p->doc, canon, "metadata", yyjson_val_mut_copy(p->doc, meta))) return oom(p);

    if (api_field(D, root, NULL, "output_config", API_FIELD_OBJECT, false, &oc, p->why) < 0) return -1;
    if (oc) {
        if (api_field(D, oc, "output_config", "effort", API_FIELD_STRING, false, &v, p->why) < 0) return -1;
        static const char *const efforts[] = {"low", "medium", "high"};
        for (size_t k = 0; v && k < 3; k++)
            if (str_eq(v, efforts[k])) out->effort = efforts[k];
        if (v && !out->effort)
            return api_problem_set(p->why, "output_config.effort",
                                   "output_config.effort: Input should be 'low', 'medium' or 'high'");
    }
    if ((oc && yyjson_obj_get(oc, "format")) || yyjson_obj_get(root, "output_format"))
        return api_problem_set(p->why, oc && yyjson_obj_get(oc, "format") ? "output_config.format" : "output_format",
                               "structured outputs (output_format) are not supported yet");
    return 0;
}

static int parse_model(parse_t *p, yyjson_val *root, yyjson_mut_val *canon, anthropic_request_t *out) {
    yyjson_val *model;
    if (api_field(D, root, NULL, "model", API_FIELD_STRING, false, &model, p->why) < 0) return -1;
    const char *requested = model && yyjson_get_len(model) ? yyjson_get_str(model) : p->cfg->default_model;
    if (!requested || !requested[0]) return api_problem_set(p->why, "model", "model: Field required");
    const char *resolved = config_resolve_model(p->cfg, requested);
    yyjson_mut_val *v = yyjson_mut_strcpy(p->doc, resolved ? resolved : requested);
    if (!v || !yyjson_mut_obj_add_val(p->doc, canon, "model", v)) return oom(p);
    return 0;
}

int anthropic_request_parse(const config_t *cfg, yyjson_val *root, anthropic_parse_mode_t mode,
                            anthropic_request_t *out, api_problem_t *why) {
    memset(out, 0, sizeof *out);
    why->message[0] = why->param[0] = '\0';
    parse_t p = {.cfg = cfg, .why = why, .mode = mode};
    if (!yyjson_is_obj(root)) return api_problem_set(why, NULL, "body must be a JSON object");
    p.doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *canon = p.doc ? yyjson_mut_obj(p.doc) : NULL;
    if (!canon) {
        yyjson_mut_doc_free(p.doc);
        return oom(&p);
    }
    yyjson_mut_doc_set_root(p.doc, canon);
    yyjson_val *max_tokens = NULL;
    int rc = -1;
    if (canon_init(&p.canon, p.doc) < 0) {
        oom(&p);
        goto done;
    }
    if (parse_model(&p, root, canon, out) < 0 || parse_scalars(&p, root, canon, out, &max_tokens) < 0 ||
        parse_system(&p, root) < 0 || parse_messages(&p, root) < 0)
        goto done;
    if (canon_finish(&p.canon, canon) < 0) {
        oom(&p);
        goto done;
    }
    if (parse_thinking(&p, root, canon, max_tokens) < 0 || parse_tools(&p, root, canon, out) < 0) goto done;
    /* The engine reads an immutable document. */
    out->doc = yyjson_mut_doc_imut_copy(p.doc, NULL);
    if (!out->doc) {
        oom(&p);
        goto done;
    }
    out->model = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(out->doc), "model"));
    rc = 0;
done:
    canon_free(&p.canon);
    yyjson_mut_doc_free(p.doc);
    if (rc < 0) out->model = NULL;
    return rc;
}

void anthropic_request_free(anthropic_request_t *req) {
    if (req->doc) yyjson_doc_free(req->doc);
    memset(req, 0, sizeof *req);
}
