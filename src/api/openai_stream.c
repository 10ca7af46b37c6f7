/*
 * The way back: engine events (Anthropic stream events) → chat.completion.chunk SSE frames, and a
 * finished message → chat.completion. Thinking goes to "reasoning_content" (what many OpenAI-compatible
 * clients read); a StructuredOutput call (response_format) becomes the answer's content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/openai.h"
#include "http/sse.h"
#include "util/utf8.h"

const char *openai_finish_reason(const char *stop_reason) {
    if (!stop_reason) return "stop";
    if (strcmp(stop_reason, "max_tokens") == 0 || strcmp(stop_reason, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(stop_reason, "tool_use") == 0) return "tool_calls";
    if (strcmp(stop_reason, "refusal") == 0) return "content_filter";
    return "stop"; /* end_turn, stop_sequence, pause_turn */
}

void openai_completion_id(const char *message_id, const char *fallback, char *out, size_t out_len) {
    const char *tail = fallback && *fallback ? fallback : "0";
    if (message_id && *message_id) tail = strncmp(message_id, "msg_", 4) == 0 ? message_id + 4 : message_id;
    snprintf(out, out_len, "chatcmpl-%s", tail);
}

static bool is_structured_call(yyjson_val *block, bool is_json_mode) {
    const char *name = yyjson_get_str(yyjson_obj_get(block, "name"));
    return is_json_mode && name && strcmp(name, OPENAI_STRUCTURED_TOOL) == 0;
}

static int64_t usage_int(yyjson_val *usage, const char *key) {
    yyjson_val *v = yyjson_obj_get(usage, key);
    return yyjson_is_int(v) ? yyjson_get_sint(v) : 0;
}

/* OpenAI's prompt_tokens count cached input too; cached_tokens says how much of it was read from cache. */
static bool add_usage(yyjson_mut_doc *doc, yyjson_mut_val *obj, int64_t input, int64_t cache_read,
                      int64_t cache_creation, int64_t output) {
    int64_t prompt = input + cache_read + cache_creation;
    yyjson_mut_val *u = yyjson_mut_obj_add_obj(doc, obj, "usage");
    yyjson_mut_val *details = u ? yyjson_mut_obj_add_obj(doc, u, "prompt_tokens_details") : NULL;
    return details && yyjson_mut_obj_add_int(doc, u, "prompt_tokens", prompt) &&
           yyjson_mut_obj_add_int(doc, u, "completion_tokens", output) &&
           yyjson_mut_obj_add_int(doc, u, "total_tokens", prompt + output) &&
           yyjson_mut_obj_add_int(doc, details, "cached_tokens", cache_read);
}

/* ---- chat.completion ---- */

typedef struct {
    buf_t text, reasoning;
    yyjson_mut_val *tool_calls;
    char *structured; /* the StructuredOutput call's input as JSON text */
} collected_t;

static int collect_block(yyjson_mut_doc *doc, yyjson_val *block, bool is_json_mode, collected_t *c) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type) return 0;
    if (strcmp(type, "text") == 0) {
        yyjson_val *t = yyjson_obj_get(block, "text");
        return buf_append(&c->text, yyjson_get_str(t) ? yyjson_get_str(t) : "", yyjson_get_len(t));
    }
    if (strcmp(type, "thinking") == 0) {
        yyjson_val *t = yyjson_obj_get(block, "thinking");
        return buf_append(&c->reasoning, yyjson_get_str(t) ? yyjson_get_str(t) : "", yyjson_get_len(t));
    }
    if (strcmp(type, "tool_use") != 0) return 0;
    yyjson_val *input = yyjson_obj_get(block, "input");
    char *args = input ? yyjson_val_write(input, 0, NULL) : NULL;
    if (!args) return -1;
    if (is_structured_call(block, is_json_mode)) {
        free(c->structured);
        c->structured = args;
        return 0;
    }
    yyjson_mut_val *call = yyjson_mut_arr_add_obj(doc, c->tool_calls);
    yyjson_mut_val *fn = call ? yyjson_mut_obj(doc) : NULL;
    bool ok = fn && yyjson_mut_obj_add_strcpy(doc, call, "id", yyjson_get_str(yyjson_obj_get(block, "id"))) &&
              yyjson_mut_obj_add_str(doc, call, "type", "function") &&
              yyjson_mut_obj_add_strcpy(doc, fn, "name", yyjson_get_str(yyjson_obj_get(block, "name"))) &&
              yyjson_mut_obj_add_strcpy(doc, fn, "arguments", args) && yyjson_mut_obj_add_val(doc, call, "function", fn);
    free(args);
    return ok ? 0 : -1;
}

static bool add_assistant_message(yyjson_mut_doc *doc, yyjson_mut_val *choice, collected_t *c) {
    yyjson_mut_val *msg = yyjson_mut_obj_add_obj(doc, choice, "message");
    if (!msg || !yyjson_mut_obj_add_str(doc, msg, "role", "assistant")) return false;
    bool has_calls = yyjson_mut_arr_size(c->tool_calls) > 0;
    bool ok;
    if (c->structured) ok = yyjson_mut_obj_add_strcpy(doc, msg, "content", c->structured);
    else if (c->text.len > 0 || !has_calls) ok = yyjson_mut_obj_add_strncpy(doc, msg, "content", c->text.data ? c->text.data : "", c->text.len);
    else ok = yyjson_mut_obj_add_null(doc, msg, "content");
    if (!ok || !yyjson_mut_obj_add_null(doc, msg, "refusal")) return false;
    if (c->reasoning.len > 0 &&
        !yyjson_mut_obj_add_strncpy(doc, msg, "reasoning_content", c->reasoning.data, c->reasoning.len))
        return false;
    return !has_calls || yyjson_mut_obj_add_val(doc, msg, "tool_calls", c->tool_calls);
}

yyjson_mut_doc *openai_completion_build(yyjson_val *message, const char *id, const char *model, int64_t created,
                                        bool is_json_mode) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    collected_t c = {.structured = NULL};
    buf_init(&c.text, 0);
    buf_init(&c.reasoning, 0);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL;
    if (!root) goto fail;
    yyjson_mut_doc_set_root(doc, root);
    c.tool_calls = yyjson_mut_arr(doc);
    if (!c.tool_calls) goto fail;
    size_t i, n;
    yyjson_val *block;
    yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, n, block) {
        if (collect_block(doc, block, is_json_mode, &c) < 0) goto fail;
    }
    const char *stop = yyjson_get_str(yyjson_obj_get(message, "stop_reason"));
    /* The structured answer is the whole answer: the CLI ends the turn on that call. */
    const char *finish = c.structured ? "stop" : openai_finish_reason(stop);
    yyjson_val *usage = yyjson_obj_get(message, "usage");
    yyjson_mut_val *choices = yyjson_mut_arr(doc);
    yyjson_mut_val *choice = yyjson_mut_arr_add_obj(doc, choices);
    if (!choice || !yyjson_mut_obj_add_strcpy(doc, root, "id", id) ||
        !yyjson_mut_obj_add_str(doc, root, "object", "chat.completion") ||
        !yyjson_mut_obj_add_int(doc, root, "created", created) || !yyjson_mut_obj_add_strcpy(doc, root, "model", model) ||
        !yyjson_mut_obj_add_int(doc, choice, "index", 0) || !add_assistant_message(doc, choice, &c) ||
        !yyjson_mut_obj_add_null(doc, choice, "logprobs") || !yyjson_mut_obj_add_str(doc, choice, "finish_reason", finish) ||
        !yyjson_mut_obj_add_val(doc, root, "choices", choices) ||
        !add_usage(doc, root, usage_int(usage, "input_tokens"), usage_int(usage, "cache_read_input_tokens"),
                   usage_int(usage, "cache_creation_input_tokens"), usage_int(usage, "output_tokens")) ||
        !yyjson_mut_obj_add_null(doc, root, "system_fingerprint"))
        goto fail;
    buf_free(&c.text);
    buf_free(&c.reasoning);
    free(c.structured);
    return doc;
fail:
    buf_free(&c.text);
    buf_free(&c.reasoning);
    free(c.structured);
    yyjson_mut_doc_free(doc);
    return NULL;
}

/* ---- chat.completion.chunk ---- */

void openai_stream_init(openai_stream_t *st, const char *fallback_id, const char *model, int64_t created,
                        bool include_usage, bool is_json_mode) {
    memset(st, 0, sizeof *st);
    openai_completion_id(NULL, fallback_id, st->id, sizeof st->id);
    st->model = model;
    st->created = created;
    st->include_usage = include_usage;
    st->is_json_mode = is_json_mode;
}

/* A chunk document with one choice; *delta is where the caller puts the change. choices is left empty
 * (the usage chunk) when delta is NULL. */
static yyjson_mut_doc *chunk_new(const openai_stream_t *st, yyjson_mut_val **delta, const char *finish_reason) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = doc ? yyjson_mut_obj(doc) : NULL;
    if (!root) goto fail;
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_val *choices;
    if (!yyjson_mut_obj_add_strcpy(doc, root, "id", st->id) ||
        !yyjson_mut_obj_add_str(doc, root, "object", "chat.completion.chunk") ||
        !yyjson_mut_obj_add_int(doc, root, "created", st->created) ||
        !yyjson_mut_obj_add_strcpy(doc, root, "model", st->model) ||
        !yyjson_mut_obj_add_null(doc, root, "system_fingerprint") ||
        !(choices = yyjson_mut_obj_add_arr(doc, root, "choices")))
        goto fail;
    if (!delta) return doc;
    yyjson_mut_val *choice = yyjson_mut_arr_add_obj(doc, choices);
    if (!choice || !yyjson_mut_obj_add_int(doc, choice, "index", 0) ||
        !(*delta = yyjson_mut_obj_add_obj(doc, choice, "delta")) || !yyjson_mut_obj_add_null(doc, choice, "logprobs") ||
        !(finish_reason ? yyjson_mut_obj_add_str(doc, choice, "finish_reason", finish_reason)
                        : yyjson_mut_obj_add_null(doc, choice, "finish_reason")))
        goto fail;
    /* With include_usage every chunk carries "usage": null but the last, as OpenAI's do. */
    if (st->include_usage && !yyjson_mut_obj_add_null(doc, root, "usage")) goto fail;
    return doc;
fail:
    yyjson_mut_doc_free(doc);
    return NULL;
}

/* Frame doc as one "data:" event into out and free it. */
static int emit(yyjson_mut_doc *doc, buf_t *out) {
    size_t len = 0;
    /* An error message cut to a fixed size may end mid-character: sent scrubbed, not nothing. */
    char *json = doc ? utf8_json_write(doc, &len) : NULL;
    int rc = json ? sse_format_event(out, NULL, json, len) : -1;
    free(json);
    yyjson_mut_doc_free(doc);
    return rc < 0 ? -1 : 0;
}

/* A chunk whose delta holds one string field. */
static int emit_text(const openai_stream_t *st, const char *field, const char *text, size_t len, buf_t *out) {
    yyjson_mut_val *delta;
    yyjson_mut_doc *doc = chunk_new(st, &delta, NULL);
    if (doc && !yyjson_mut_obj_add_strncpy(doc, delta, field, text ? text : "", len)) {
        yyjson_mut_doc_free(doc);
        doc = NULL;
    }
    return emit(doc, out);
}

static int begin(openai_stream_t *st, buf_t *out) {
    if (st->has_begun) return 0;
    st->has_begun = true;
    yyjson_mut_val *delta;
    yyjson_mut_doc *doc = chunk_new(st, &delta, NULL);
    if (doc && (!yyjson_mut_obj_add_str(doc, delta, "role", "assistant") || !yyjson_mut_obj_add_str(doc, delta, "content", ""))) {
        yyjson_mut_doc_free(doc);
        doc = NULL;
    }
    return emit(doc, out);
}

/* delta.tool_calls[0] for the current call: the opening one names it, later ones add arguments. */
static int emit_tool_call(const openai_stream_t *st, yyjson_val *block, const char *args, size_t args_len, buf_t *out) {
    yyjson_mut_val *delta;
    yyjson_mut_doc *doc = chunk_new(st, &delta, NULL);
    if (!doc) return -1;
    yyjson_mut_val *calls = yyjson_mut_obj_add_arr(doc, delta, "tool_calls");
    yyjson_mut_val *call = yyjson_mut_arr_add_obj(doc, calls);
    yyjson_mut_val *fn = yyjson_mut_obj(doc);
    bool ok = call && fn && yyjson_mut_obj_add_int(doc, call, "index", st->tool_index);
    if (ok && block) {
        ok = yyjson_mut_obj_add_strcpy(doc, call, "id", yyjson_get_str(yyjson_obj_get(block, "id"))) &&
             yyjson_mut_obj_add_str(doc, call, "type", "function") &&
             yyjson_mut_obj_add_strcpy(doc, fn, "name", yyjson_get_str(yyjson_obj_get(block, "name")));
    }
    ok = ok && yyjson_mut_obj_add_strncpy(doc, fn, "arguments", args, args_len) &&
         yyjson_mut_obj_add_val(doc, call, "function", fn);
    if (!ok) {
        yyjson_mut_doc_free(doc);
        return -1;
    }
    return emit(doc, out);
}

static int on_block_start(openai_stream_t *st, yyjson_val *block, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    st->block = OPENAI_BLOCK_OTHER;
    st->has_blocks = true;
    if (!type) return 0;
    if (strcmp(type, "text") == 0) {
        /* JSON mode: the structured answer is the content, so prose around it (the model's preamble, or
         * an older CLI's remark after the call) would make it unparseable. It is sent at the end only if
         * no structured answer came. */
        if (st->is_json_mode) return 0;
        st->block = OPENAI_BLOCK_TEXT;
        yyjson_val *t = yyjson_obj_get(block, "text");
        return yyjson_get_len(t) > 0 ? emit_text(st, "content", yyjson_get_str(t), yyjson_get_len(t), out) : 0;
    }
    if (strcmp(type, "thinking") == 0) {
        st->block = OPENAI_BLOCK_THINKING;
        return 0;
    }
    if (strcmp(type, "tool_use") != 0) return 0;
    if (is_structured_call(block, st->is_json_mode)) {
        st->block = OPENAI_BLOCK_STRUCTURED;
        st->has_structured = true;
        return 0;
    }
    st->block = OPENAI_BLOCK_TOOL;
    st->has_tool_calls = true;
    st->tool_index = st->tool_count++;
    return emit_tool_call(st, block, "", 0, out);
}

static int on_block_delta(openai_stream_t *st, yyjson_val *delta, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(delta, "type"));
    if (!type) return 0;
    yyjson_val *v;
    if (strcmp(type, "text_delta") == 0 && st->block == OPENAI_BLOCK_TEXT) {
        v = yyjson_obj_get(delta, "text");
        return emit_text(st, "content", yyjson_get_str(v), yyjson_get_len(v), out);
    }
    if (strcmp(type, "thinking_delta") == 0 && st->block == OPENAI_BLOCK_THINKING) {
        v = yyjson_obj_get(delta, "thinking");
        return emit_text(st, "reasoning_content", yyjson_get_str(v), yyjson_get_len(v), out);
    }
    if (strcmp(type, "input_json_delta") == 0) {
        v = yyjson_obj_get(delta, "partial_json");
        if (yyjson_get_len(v) == 0) return 0;
        if (st->block == OPENAI_BLOCK_STRUCTURED)
            return emit_text(st, "content", yyjson_get_str(v), yyjson_get_len(v), out);
        if (st->block == OPENAI_BLOCK_TOOL) return emit_tool_call(st, NULL, yyjson_get_str(v), yyjson_get_len(v), out);
    }
    return 0; /* signature_delta, citations, ... have no OpenAI form */
}

static void take_usage(openai_stream_t *st, yyjson_val *usage) {
    if (yyjson_obj_get(usage, "input_tokens")) st->input_tokens = usage_int(usage, "input_tokens");
    if (yyjson_obj_get(usage, "cache_read_input_tokens")) st->cache_read_tokens = usage_int(usage, "cache_read_input_tokens");
    if (yyjson_obj_get(usage, "cache_creation_input_tokens"))
        st->cache_creation_tokens = usage_int(usage, "cache_creation_input_tokens");
    if (yyjson_obj_get(usage, "output_tokens")) st->output_tokens = usage_int(usage, "output_tokens");
}

static void take_stop_reason(openai_stream_t *st, yyjson_val *v) {
    if (yyjson_is_str(v)) snprintf(st->stop_reason, sizeof st->stop_reason, "%s", yyjson_get_str(v));
}

int openai_stream_event(openai_stream_t *st, yyjson_val *event, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(event, "type"));
    if (!type) return 0;
    if (strcmp(type, "message_start") == 0) {
        yyjson_val *msg = yyjson_obj_get(event, "message");
        if (!st->has_begun) {
            char fallback[sizeof st->id];
            snprintf(fallback, sizeof fallback, "%s", st->id + strlen("chatcmpl-"));
            openai_completion_id(yyjson_get_str(yyjson_obj_get(msg, "id")), fallback, st->id, sizeof st->id);
        }
        take_usage(st, yyjson_obj_get(msg, "usage"));
        return begin(st, out);
    }
    if (begin(st, out) < 0) return -1;
    if (strcmp(type, "content_block_start") == 0) return on_block_start(st, yyjson_obj_get(event, "content_block"), out);
    if (strcmp(type, "content_block_delta") == 0) return on_block_delta(st, yyjson_obj_get(event, "delta"), out);
    if (strcmp(type, "content_block_stop") == 0) {
        st->block = OPENAI_BLOCK_NONE;
        return 0;
    }
    if (strcmp(type, "message_delta") == 0) {
        take_stop_reason(st, yyjson_obj_get(yyjson_obj_get(event, "delta"), "stop_reason"));
        take_usage(st, yyjson_obj_get(event, "usage"));
    }
    return 0;
}

static bool has_structured_call(yyjson_val *message, bool is_json_mode) {
    size_t i, n;
    yyjson_val *block;
    yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, n, block) {
        if (is_structured_call(block, is_json_mode)) return true;
    }
    return false;
}

/* The turn ended without streaming its blocks: send the finished message's content in whole deltas
 * (only its text when is_text_only: JSON mode's held-back prose). */
static int replay_content(openai_stream_t *st, yyjson_val *message, bool is_text_only, buf_t *out) {
    bool is_text_dropped = has_structured_call(message, st->is_json_mode);
    size_t i, n;
    yyjson_val *block;
    yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, n, block) {
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        yyjson_val *v;
        int rc = 0;
        if (!type) continue;
        if (strcmp(type, "text") == 0 && yyjson_get_len(v = yyjson_obj_get(block, "text")) > 0) {
            if (!is_text_dropped) rc = emit_text(st, "content", yyjson_get_str(v), yyjson_get_len(v), out);
        } else if (is_text_only) {
            continue;
        } else if (strcmp(type, "thinking") == 0 && yyjson_get_len(v = yyjson_obj_get(block, "thinking")) > 0) {
            rc = emit_text(st, "reasoning_content", yyjson_get_str(v), yyjson_get_len(v), out);
        } else if (strcmp(type, "tool_use") == 0) {
            size_t len = 0;
            char *args = yyjson_val_write(yyjson_obj_get(block, "input"), 0, &len);
            if (!args) return -1;
            if (is_structured_call(block, st->is_json_mode)) {
                st->has_structured = true;
                rc = emit_text(st, "content", args, len, out);
            } else {
                st->has_tool_calls = true;
                st->tool_index = st->tool_count++;
                rc = emit_tool_call(st, block, args, len, out);
            }
            free(args);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

int openai_stream_finish(openai_stream_t *st, yyjson_val *message, buf_t *out) {
    if (begin(st, out) < 0) return -1;
    if (message && !st->has_blocks && replay_content(st, message, false, out) < 0) return -1;
    else if (message && st->has_blocks && st->is_json_mode && !st->has_structured &&
             replay_content(st, message, true, out) < 0)
        return -1;
    if (message) {
        take_stop_reason(st, yyjson_obj_get(message, "stop_reason"));
        take_usage(st, yyjson_obj_get(message, "usage"));
    }
    const char *finish = st->has_structured && !st->has_tool_calls
                             ? "stop"
                             : openai_finish_reason(st->stop_reason[0] ? st->stop_reason : NULL);
    yyjson_mut_val *delta;
    if (emit(chunk_new(st, &delta, finish), out) < 0) return -1;
    if (st->include_usage) {
        yyjson_mut_doc *doc = chunk_new(st, NULL, NULL);
        if (doc && !add_usage(doc, yyjson_mut_doc_get_root(doc), st->input_tokens, st->cache_read_tokens,
                              st->cache_creation_tokens, st->output_tokens)) {
            yyjson_mut_doc_free(doc);
            doc = NULL;
        }
        if (emit(doc, out) < 0) return -1;
    }
    return sse_format_event(out, NULL, "[DONE]", 6) < 0 ? -1 : 0;
}

int openai_stream_fail(openai_stream_t *st, const api_error_t *err, buf_t *out) {
    (void)st;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *body = doc ? api_error_body(doc, DIALECT_OPENAI, err) : NULL;
    if (!body) {
        yyjson_mut_doc_free(doc);
        return -1;
    }
    yyjson_mut_doc_set_root(doc, body);
    return emit(doc, out);
}
