#include "engine/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static int bad(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* system: one string (what the API layer sends, api/canonical.h), or text blocks from a direct engine user,
 * joined as the parts of one prompt by the same rule. */
static int system_text(yyjson_val *system, char **out, char *err, size_t err_len) {
    if (!system || yyjson_is_null(system)) return (*out = strdup("")) ? 0 : -1;
    if (yyjson_is_str(system)) return (*out = strdup(yyjson_get_str(system))) ? 0 : -1;
    if (!yyjson_is_arr(system)) return bad(err, err_len, "system: must be a string or an array of text blocks");
    buf_t b;
    buf_init(&b, 0);
    size_t i, max;
    yyjson_val *block;
    yyjson_arr_foreach(system, i, max, block) {
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        yyjson_val *text = yyjson_obj_get(block, "text");
        if (!type || strcmp(type, "text") != 0 || !yyjson_is_str(text)) {
            buf_free(&b);
            return bad(err, err_len, "system.%zu: must be a text block", i);
        }
        if (b.len) buf_append_str(&b, ENGINE_SYSTEM_PART_SEP);
        buf_append(&b, yyjson_get_str(text), yyjson_get_len(text));
    }
    *out = strdup(buf_cstr(&b));
    buf_free(&b);
    return *out ? 0 : -1;
}

static int check_messages(engine_request_t *r, yyjson_val *messages, char *err, size_t err_len) {
    if (!yyjson_is_arr(messages) || yyjson_arr_size(messages) == 0)
        return bad(err, err_len, "messages: at least one message is required");
    size_t i, max;
    yyjson_val *m;
    yyjson_arr_foreach(messages, i, max, m) {
        const char *role = yyjson_get_str(yyjson_obj_get(m, "role"));
        yyjson_val *content = yyjson_obj_get(m, "content");
        if (!role || (strcmp(role, "user") && strcmp(role, "assistant")))
            return bad(err, err_len, "messages.%zu.role: must be \"user\" or \"assistant\"", i);
        if (!yyjson_is_str(content) && !yyjson_is_arr(content))
            return bad(err, err_len, "messages.%zu.content: must be a string or an array of content blocks", i);
    }
    yyjson_val *last = yyjson_arr_get_last(messages);
    if (strcmp(yyjson_get_str(yyjson_obj_get(last, "role")), "user") != 0)
        return bad(err, err_len, "messages: the last message must have role \"user\" (a prefilled assistant "
                                 "reply cannot be continued through Claude Code)");
    r->messages = messages;
    r->message_count = yyjson_arr_size(messages);
    r->last_content = yyjson_obj_get(last, "content");
    return 0;
}

static int check_stops(engine_request_t *r, yyjson_val *stops, char *err, size_t err_len) {
    if (!stops || yyjson_is_null(stops)) return 0;
    if (!yyjson_is_arr(stops)) return bad(err, err_len, "stop_sequences: must be an array of strings");
    if (yyjson_arr_size(stops) > TURN_MAX_STOP_SEQUENCES)
        return bad(err, err_len, "stop_sequences: at most %d sequences", TURN_MAX_STOP_SEQUENCES);
    size_t i, max;
    yyjson_val *s;
    yyjson_arr_foreach(stops, i, max, s) {
        if (!yyjson_is_str(s)) return bad(err, err_len, "stop_sequences.%zu: must be a string", i);
        if (yyjson_get_len(s) == 0) continue;
        if (yyjson_get_len(s) > TURN_MAX_STOP_SEQUENCE_LEN)
            return bad(err, err_len, "stop_sequences.%zu: longer than %d bytes", i, TURN_MAX_STOP_SEQUENCE_LEN);
        r->stop_sequences[r->stop_count++] = yyjson_get_str(s);
    }
    return 0;
}

int engine_request_thinking(yyjson_val *thinking, int64_t *tokens, char *err, size_t err_len) {
    *tokens = ENGINE_THINKING_DEFAULT;
    if (!thinking || yyjson_is_null(thinking)) return 0;
    const char *type = yyjson_get_str(yyjson_obj_get(thinking, "type"));
    if (!yyjson_is_obj(thinking) || !type) return bad(err, err_len, "thinking: must be an object with a type");
    if (!strcmp(type, "adaptive")) return 0;
    if (!strcmp(type, "disabled")) {
        *tokens = 0;
        return 0;
    }
    if (strcmp(type, "enabled") != 0)
        return bad(err, err_len, "thinking.type: must be \"enabled\", \"disabled\" or \"adaptive\"");
    yyjson_val *budget = yyjson_obj_get(thinking, "budget_tokens");
    if (!yyjson_is_int(budget) || yyjson_get_sint(budget) < 1)
        return bad(err, err_len, "thinking.budget_tokens: must be a positive integer");
    *tokens = yyjson_get_sint(budget);
    return 0;
}

/* tool_choice → the tools offered and the reminder (see tool_choice.h). */
static int plan_tools(engine_request_t *r, yyjson_val *body, yyjson_val *tools, char *err, size_t err_len) {
    if (tool_choice_parse(yyjson_obj_get(body, "tool_choice"), &r->tool_choice, err, err_len)) return -1;
    r->has_tool_results = tool_choice_has_results(r->last_content);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return bad(err, err_len, "out of memory");
    yyjson_mut_val *root = yyjson_mut_obj(doc), *offered = NULL, *content = NULL;
    yyjson_mut_doc_set_root(doc, root);
    int rc = tool_choice_offered(&r->tool_choice, tools, tool_choice_history_has_tools(r->messages), doc, &offered,
                                 err, err_len);
    char reminder[TOOL_CHOICE_MAX_REMINDER];
    if (!rc && tool_choice_reminder(&r->tool_choice, offered != NULL, reminder, sizeof reminder)) {
        r->tool_reminder = strdup(reminder);
        /* A fresh user turn carries it; a follow-up carries it in its last tool result (session_tools.c). */
        if (!r->has_tool_results) content = tool_choice_append_text(doc, r->last_content, reminder);
        if (!r->tool_reminder || (!r->has_tool_results && !content)) rc = bad(err, err_len, "out of memory");
    }
    if (!rc && offered) yyjson_mut_obj_add_val(doc, root, "tools", offered);
    if (!rc && content) yyjson_mut_obj_add_val(doc, root, "content", content);
    if (!rc && (r->tools_doc = yyjson_mut_doc_imut_copy(doc, NULL)) == NULL) rc = bad(err, err_len, "out of memory");
    yyjson_mut_doc_free(doc);
    if (rc) return -1;
    yyjson_val *planned = yyjson_doc_get_root(r->tools_doc);
    r->tools = yyjson_obj_get(planned, "tools");
    if (content) r->last_content = yyjson_obj_get(planned, "content");
    return 0;
}

int engine_request_init(engine_request_t *r, const turn_request_t *req, const char *mode, char *err, size_t err_len) {
    memset(r, 0, sizeof *r);
    if (!yyjson_is_obj(req->body)) return bad(err, err_len, "the request body must be a JSON object");
    yyjson_mut_doc *copy = yyjson_mut_doc_new(NULL);
    if (copy) yyjson_mut_doc_set_root(copy, yyjson_val_mut_copy(copy, req->body));
    r->doc = copy ? yyjson_mut_doc_imut_copy(copy, NULL) : NULL;
    yyjson_mut_doc_free(copy);
    if (!r->doc) return bad(err, err_len, "out of memory");
    yyjson_val *body = yyjson_doc_get_root(r->doc);

    r->model = yyjson_get_str(yyjson_obj_get(body, "model"));
    if (!r->model || !*r->model) goto fail_msg_model;
    if (check_messages(r, yyjson_obj_get(body, "messages"), err, err_len)) goto fail;
    if (system_text(yyjson_obj_get(body, "system"), &r->system, err, err_len)) goto fail;
    yyjson_val *tools = yyjson_obj_get(body, "tools");
    if (tools && !yyjson_is_null(tools) && !yyjson_is_arr(tools)) {
        bad(err, err_len, "tools: must be an array");
        goto fail;
    }
    if (plan_tools(r, body, tools, err, err_len)) goto fail;
    if (check_stops(r, yyjson_obj_get(body, "stop_sequences"), err, err_len)) goto fail;
    yyjson_val *mt = yyjson_obj_get(body, "max_tokens");
    if (mt && !yyjson_is_null(mt)) {
        if (!yyjson_is_int(mt) || yyjson_get_sint(mt) < 1) {
            bad(err, err_len, "max_tokens: must be a positive integer");
            goto fail;
        }
        r->max_tokens = yyjson_get_sint(mt);
    }
    yyjson_val *thinking = yyjson_obj_get(body, "thinking");
    if (engine_request_thinking(thinking, &r->thinking_tokens, err, err_len)) goto fail;
    /* The Messages API does not think unless asked ("adaptive" asks for the CLI's own default);
     * agent mode keeps Claude Code's behaviour. */
    if ((!thinking || yyjson_is_null(thinking)) && !strcmp(mode, "api")) r->thinking_tokens = 0;
    if (req->json_schema) {
        r->json_schema = yyjson_read(req->json_schema, strlen(req->json_schema), 0);
        if (!yyjson_is_obj(yyjson_doc_get_root(r->json_schema))) {
            bad(err, err_len, "the JSON schema for structured output must be a JSON object");
            goto fail;
        }
        r->json_schema_text = strdup(req->json_schema);
    }
    r->effort = dup_or_null(req->effort);
    r->is_streamed = req->is_streamed;
    r->request_id = strdup(req->request_id ? req->request_id : "-");
    r->client = strdup(req->client ? req->client : "");
    r->endpoint = strdup(req->endpoint ? req->endpoint : "");

    fingerprint_header_t h = {.mode = mode, .model = r->model, .system = r->system, .tools = r->tools,
                              .json_schema = r->json_schema_text, .effort = r->effort};
    r->conversation = fingerprint_begin(&h);
    if (!r->conversation || !r->request_id || !r->client || !r->endpoint) {
        bad(err, err_len, "out of memory");
        goto fail;
    }
    size_t i, max;
    yyjson_val *m;
    yyjson_arr_foreach(r->messages, i, max, m) {
        if (i == max - 1 && fingerprint_peek(r->conversation, &r->history) != 0) {
            bad(err, err_len, "out of memory");
            goto fail;
        }
        fingerprint_add_message(r->conversation, yyjson_get_str(yyjson_obj_get(m, "role")), yyjson_obj_get(m, "content"));
    }
    return 0;
fail_msg_model:
    bad(err, err_len, "model: required");
fail:
    engine_request_free(r);
    return -1;
}

void engine_request_free(engine_request_t *r) {
    yyjson_doc_free(r->doc);
    yyjson_doc_free(r->json_schema);
    yyjson_doc_free(r->tools_doc);
    free(r->tool_reminder);
    free(r->json_schema_text);
    free(r->system);
    free(r->effort);
    free(r->request_id);
    free(r->client);
    free(r->endpoint);
    fingerprint_free(r->conversation);
    memset(r, 0, sizeof *r);
}
