/*
 * Engine blocks → Responses output items, streamed as "response.*" events or collected whole.
 *
 * One path for both: a streamed turn feeds the engine's events as they come; a whole one (and a streamed
 * turn whose blocks never streamed) replays the finished message's blocks through the same functions.
 * Each block becomes one item: text → message (one output_text part), thinking → reasoning (one
 * summary_text), tool_use → function_call or custom_tool_call, the StructuredOutput call of text.format →
 * a message whose text is its JSON. Every event's data carries its type and a sequence_number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/responses.h"
#include "http/sse.h"
#include "util/utf8.h"

static bool is_json_mode(const responses_output_t *o) { return o->req->chat.json_schema != NULL; }

int responses_output_init(responses_output_t *o, const responses_request_t *req, const char *fallback_id,
                          int64_t created_at, bool is_stream) {
    memset(o, 0, sizeof *o);
    o->req = req;
    o->created_at = created_at;
    o->is_stream = is_stream;
    snprintf(o->id, sizeof o->id, "resp_%s", fallback_id && *fallback_id ? fallback_id : "0");
    buf_init(&o->text, 0);
    o->doc = yyjson_mut_doc_new(NULL);
    o->output = o->doc ? yyjson_mut_arr(o->doc) : NULL;
    return o->output ? 0 : -1;
}

void responses_output_free(responses_output_t *o) {
    buf_free(&o->text);
    yyjson_mut_doc_free(o->doc);
    memset(o, 0, sizeof *o);
}

/* ---- events ---- */

typedef struct {
    yyjson_mut_doc *doc;
    yyjson_mut_val *root;
} event_t;

static bool event_new(responses_output_t *o, event_t *ev, const char *type) {
    ev->doc = yyjson_mut_doc_new(NULL);
    ev->root = ev->doc ? yyjson_mut_obj(ev->doc) : NULL;
    if (!ev->root) return false;
    yyjson_mut_doc_set_root(ev->doc, ev->root);
    return yyjson_mut_obj_add_str(ev->doc, ev->root, "type", type) &&
           yyjson_mut_obj_add_int(ev->doc, ev->root, "sequence_number", o->sequence++);
}

/* Frame the event (only when streaming) and free it. */
static int event_emit(responses_output_t *o, event_t *ev, bool is_ok, buf_t *out) {
    int rc = -1;
    if (is_ok && o->is_stream && out) {
        size_t len = 0;
        char *json = yyjson_mut_write(ev->doc, 0, &len);
        if (!json) { /* text cut mid-character (an error message): send it scrubbed, not nothing */
            json = yyjson_mut_write(ev->doc, YYJSON_WRITE_ALLOW_INVALID_UNICODE, &len);
            if (json) utf8_scrub(json, len);
        }
        const char *type = yyjson_mut_get_str(yyjson_mut_obj_get(ev->root, "type"));
        rc = json && sse_format_event(out, type, json, len) >= 0 ? 0 : -1;
        free(json);
    } else if (is_ok) {
        rc = 0;
    }
    yyjson_mut_doc_free(ev->doc);
    return rc;
}

/* An event about the current item: item_id and output_index (+ content_index / summary_index). */
static bool event_item(responses_output_t *o, event_t *ev, const char *type, const char *index_key) {
    return event_new(o, ev, type) && yyjson_mut_obj_add_strcpy(ev->doc, ev->root, "item_id", o->item_id) &&
           yyjson_mut_obj_add_int(ev->doc, ev->root, "output_index", (int64_t)yyjson_mut_arr_size(o->output)) &&
           (!index_key || yyjson_mut_obj_add_int(ev->doc, ev->root, index_key, 0));
}

static int emit_text_event(responses_output_t *o, const char *type, const char *index_key, const char *key,
                           const char *text, size_t len, buf_t *out) {
    event_t ev;
    bool ok = event_item(o, &ev, type, index_key) && yyjson_mut_obj_add_strncpy(ev.doc, ev.root, key, text ? text : "", len);
    if (ok && !strncmp(type, "response.output_text.", 21)) ok = yyjson_mut_obj_add_arr(ev.doc, ev.root, "logprobs") != NULL;
    return event_emit(o, &ev, ok, out);
}

/* ---- items ---- */

static bool is_message_kind(responses_item_kind_t k) { return k == RESPONSES_ITEM_MESSAGE || k == RESPONSES_ITEM_STRUCTURED; }

static yyjson_mut_val *text_part(yyjson_mut_doc *doc, const char *type, const char *text, size_t len) {
    yyjson_mut_val *p = yyjson_mut_obj(doc);
    if (!p || !yyjson_mut_obj_add_str(doc, p, "type", type) || !yyjson_mut_obj_add_strncpy(doc, p, "text", text ? text : "", len))
        return NULL;
    if (!strcmp(type, "output_text") && (!yyjson_mut_obj_add_arr(doc, p, "annotations") || !yyjson_mut_obj_add_arr(doc, p, "logprobs")))
        return NULL;
    return p;
}

/* The current item as it stands (in_progress, or completed with its whole text), into doc. */
static yyjson_mut_val *item_build(const responses_output_t *o, yyjson_mut_doc *doc, bool is_done) {
    yyjson_mut_val *it = yyjson_mut_obj(doc);
    const char *text = o->text.data ? o->text.data : "";
    size_t len = o->text.len;
    if (!it || !yyjson_mut_obj_add_strcpy(doc, it, "id", o->item_id)) return NULL;
    bool ok = true;
    const char *status = is_done ? "completed" : "in_progress";
    if (is_message_kind(o->kind)) {
        yyjson_mut_val *content = yyjson_mut_obj_add_arr(doc, it, "content");
        ok = content && yyjson_mut_obj_add_str(doc, it, "type", "message") && yyjson_mut_obj_add_str(doc, it, "status", status) &&
             yyjson_mut_obj_add_str(doc, it, "role", "assistant") &&
             (!is_done || yyjson_mut_arr_append(content, text_part(doc, "output_text", text, len)));
    } else if (o->kind == RESPONSES_ITEM_REASONING) {
        yyjson_mut_val *summary = yyjson_mut_obj_add_arr(doc, it, "summary");
        ok = summary && yyjson_mut_obj_add_str(doc, it, "type", "reasoning") &&
             (!is_done || yyjson_mut_arr_append(summary, text_part(doc, "summary_text", text, len)));
    } else {
        bool is_custom = o->kind == RESPONSES_ITEM_CUSTOM;
        const responses_tool_t *tool = responses_request_tool(o->req, o->name);
        ok = yyjson_mut_obj_add_str(doc, it, "type", is_custom ? "custom_tool_call" : "function_call") &&
             yyjson_mut_obj_add_str(doc, it, "status", status) && yyjson_mut_obj_add_strcpy(doc, it, "call_id", o->call_id) &&
             yyjson_mut_obj_add_strcpy(doc, it, "name", o->name) &&
             (!tool || !tool->namespace_ || yyjson_mut_obj_add_strcpy(doc, it, "namespace", tool->namespace_)) &&
             yyjson_mut_obj_add_strncpy(doc, it, is_custom ? "input" : "arguments", is_done ? text : "", is_done ? len : 0);
    }
    return ok ? it : NULL;
}

static int emit_item_event(responses_output_t *o, const char *type, bool is_done, buf_t *out) {
    event_t ev;
    bool ok = event_new(o, &ev, type) &&
              yyjson_mut_obj_add_int(ev.doc, ev.root, "output_index", (int64_t)yyjson_mut_arr_size(o->output)) &&
              yyjson_mut_obj_add_val(ev.doc, ev.root, "item", item_build(o, ev.doc, is_done));
    return event_emit(o, &ev, ok, out);
}

static int emit_part_event(responses_output_t *o, const char *type, bool is_done, buf_t *out) {
    bool is_reasoning = o->kind == RESPONSES_ITEM_REASONING;
    event_t ev;
    const char *text = is_done && o->text.data ? o->text.data : "";
    size_t len = is_done ? o->text.len : 0;
    bool ok = event_item(o, &ev, type, is_reasoning ? "summary_index" : "content_index") &&
              yyjson_mut_obj_add_val(ev.doc, ev.root, "part",
                                     text_part(ev.doc, is_reasoning ? "summary_text" : "output_text", text, len));
    return event_emit(o, &ev, ok, out);
}

static int item_begin(responses_output_t *o, responses_item_kind_t kind, yyjson_val *block, buf_t *out) {
    o->kind = kind;
    buf_reset(&o->text);
    o->name[0] = o->call_id[0] = '\0';
    size_t index = yyjson_mut_arr_size(o->output);
    const char *base = o->id + strlen("resp_");
    if (kind == RESPONSES_ITEM_FUNCTION || kind == RESPONSES_ITEM_CUSTOM) {
        const char *id = yyjson_get_str(yyjson_obj_get(block, "id"));
        snprintf(o->call_id, sizeof o->call_id, "%s", id ? id : "call_0");
        snprintf(o->name, sizeof o->name, "%s", yyjson_get_str(yyjson_obj_get(block, "name")) ?: "");
        snprintf(o->item_id, sizeof o->item_id, "%s_%s", kind == RESPONSES_ITEM_CUSTOM ? "ctc" : "fc", o->call_id);
    } else {
        snprintf(o->item_id, sizeof o->item_id, "%s_%s_%zu", kind == RESPONSES_ITEM_REASONING ? "rs" : "msg", base, index);
    }
    if (emit_item_event(o, "response.output_item.added", false, out) < 0) return -1;
    if (is_message_kind(kind)) return emit_part_event(o, "response.content_part.added", false, out);
    if (kind == RESPONSES_ITEM_REASONING) return emit_part_event(o, "response.reasoning_summary_part.added", false, out);
    return 0;
}

/* A piece of the current item's text (output text, summary, or arguments). */
static int item_delta(responses_output_t *o, const char *text, size_t len, buf_t *out) {
    if (len == 0 || o->kind == RESPONSES_ITEM_NONE || o->kind == RESPONSES_ITEM_SKIPPED) return 0;
    if (buf_append(&o->text, text, len) < 0) return -1;
    if (is_message_kind(o->kind))
        return emit_text_event(o, "response.output_text.delta", "content_index", "delta", text, len, out);
    if (o->kind == RESPONSES_ITEM_REASONING)
        return emit_text_event(o, "response.reasoning_summary_text.delta", "summary_index", "delta", text, len, out);
    if (o->kind == RESPONSES_ITEM_FUNCTION)
        return emit_text_event(o, "response.function_call_arguments.delta", NULL, "delta", text, len, out);
    return 0; /* custom: its {"input": ...} JSON is unwrapped when complete */
}

/* A custom tool's arguments {"input": "<text>"} → the text (other shapes are passed on as JSON). */
static int unwrap_custom_input(responses_output_t *o) {
    yyjson_doc *args = yyjson_read(o->text.data ? o->text.data : "", o->text.len, 0);
    yyjson_val *input = yyjson_obj_get(yyjson_doc_get_root(args), "input");
    int rc = 0;
    if (yyjson_is_str(input)) {
        buf_t text;
        buf_init(&text, 0);
        rc = buf_append(&text, yyjson_get_str(input), yyjson_get_len(input));
        buf_free(&o->text);
        o->text = text;
    }
    yyjson_doc_free(args);
    return rc;
}

static int item_end(responses_output_t *o, buf_t *out) {
    responses_item_kind_t kind = o->kind;
    if (kind == RESPONSES_ITEM_NONE || kind == RESPONSES_ITEM_SKIPPED) {
        o->kind = RESPONSES_ITEM_NONE;
        return 0;
    }
    const char *text = o->text.data ? o->text.data : "";
    int rc = 0;
    if (is_message_kind(kind)) {
        rc = emit_text_event(o, "response.output_text.done", "content_index", "text", text, o->text.len, out);
        if (rc == 0) rc = emit_part_event(o, "response.content_part.done", true, out);
    } else if (kind == RESPONSES_ITEM_REASONING) {
        rc = emit_text_event(o, "response.reasoning_summary_text.done", "summary_index", "text", text, o->text.len, out);
        if (rc == 0) rc = emit_part_event(o, "response.reasoning_summary_part.done", true, out);
    } else if (kind == RESPONSES_ITEM_FUNCTION) {
        if (o->text.len == 0 && buf_append_str(&o->text, "{}") < 0) return -1;
        event_t ev;
        bool ok = event_item(o, &ev, "response.function_call_arguments.done", NULL) &&
                  yyjson_mut_obj_add_strcpy(ev.doc, ev.root, "name", o->name) &&
                  yyjson_mut_obj_add_strncpy(ev.doc, ev.root, "arguments", o->text.data, o->text.len);
        rc = event_emit(o, &ev, ok, out);
    } else if (kind == RESPONSES_ITEM_CUSTOM) {
        rc = unwrap_custom_input(o);
        text = o->text.data ? o->text.data : "";
        if (rc == 0) rc = emit_text_event(o, "response.custom_tool_call_input.delta", NULL, "delta", text, o->text.len, out);
        if (rc == 0) rc = emit_text_event(o, "response.custom_tool_call_input.done", NULL, "input", text, o->text.len, out);
    }
    if (rc == 0) rc = emit_item_event(o, "response.output_item.done", true, out);
    if (rc == 0 && !yyjson_mut_arr_append(o->output, item_build(o, o->doc, true))) rc = -1;
    o->kind = RESPONSES_ITEM_NONE;
    return rc;
}

static responses_item_kind_t kind_of(const responses_output_t *o, yyjson_val *block) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type) return RESPONSES_ITEM_SKIPPED;
    if (!strcmp(type, "text")) return is_json_mode(o) ? RESPONSES_ITEM_SKIPPED : RESPONSES_ITEM_MESSAGE;
    if (!strcmp(type, "thinking")) return RESPONSES_ITEM_REASONING;
    if (strcmp(type, "tool_use")) return RESPONSES_ITEM_SKIPPED; /* redacted thinking, server tools */
    const char *name = yyjson_get_str(yyjson_obj_get(block, "name"));
    if (is_json_mode(o) && name && !strcmp(name, OPENAI_STRUCTURED_TOOL)) return RESPONSES_ITEM_STRUCTURED;
    const responses_tool_t *tool = responses_request_tool(o->req, name);
    return tool && tool->is_custom ? RESPONSES_ITEM_CUSTOM : RESPONSES_ITEM_FUNCTION;
}

/* ---- the response object ---- */

static int64_t usage_int(yyjson_val *usage, const char *key) {
    yyjson_val *v = yyjson_obj_get(usage, key);
    return yyjson_is_int(v) ? yyjson_get_sint(v) : 0;
}

static void take_usage(responses_output_t *o, yyjson_val *usage) {
    if (yyjson_obj_get(usage, "input_tokens")) o->input_tokens = usage_int(usage, "input_tokens");
    if (yyjson_obj_get(usage, "cache_read_input_tokens")) o->cache_read_tokens = usage_int(usage, "cache_read_input_tokens");
    if (yyjson_obj_get(usage, "cache_creation_input_tokens")) o->cache_creation_tokens = usage_int(usage, "cache_creation_input_tokens");
    if (yyjson_obj_get(usage, "output_tokens")) o->output_tokens = usage_int(usage, "output_tokens");
}

const char *responses_output_status(const responses_output_t *o) {
    bool is_cut = !strcmp(o->stop_reason, "max_tokens") || !strcmp(o->stop_reason, "model_context_window_exceeded");
    return is_cut && !o->has_structured ? "incomplete" : "completed";
}

/* OpenAI's input_tokens count cached input too; cached_tokens says how much of it was read from cache. */
static yyjson_mut_val *usage_build(const responses_output_t *o, yyjson_mut_doc *doc) {
    int64_t input = o->input_tokens + o->cache_read_tokens + o->cache_creation_tokens;
    yyjson_mut_val *u = yyjson_mut_obj(doc);
    yyjson_mut_val *in = u ? yyjson_mut_obj(doc) : NULL, *outd = in ? yyjson_mut_obj(doc) : NULL;
    if (!outd || !yyjson_mut_obj_add_int(doc, u, "input_tokens", input) ||
        !yyjson_mut_obj_add_int(doc, in, "cached_tokens", o->cache_read_tokens) ||
        !yyjson_mut_obj_add_val(doc, u, "input_tokens_details", in) ||
        !yyjson_mut_obj_add_int(doc, u, "output_tokens", o->output_tokens) ||
        !yyjson_mut_obj_add_int(doc, outd, "reasoning_tokens", 0) ||
        !yyjson_mut_obj_add_val(doc, u, "output_tokens_details", outd) ||
        !yyjson_mut_obj_add_int(doc, u, "total_tokens", input + o->output_tokens))
        return NULL;
    return u;
}

yyjson_mut_val *responses_output_object(responses_output_t *o, yyjson_mut_doc *doc, const char *status) {
    yyjson_mut_val *r = yyjson_mut_obj(doc);
    bool is_final = strcmp(status, "in_progress") != 0;
    bool is_incomplete = !strcmp(status, "incomplete");
    yyjson_mut_val *details = is_incomplete ? yyjson_mut_obj(doc) : yyjson_mut_null(doc);
    if (!r || !details || !yyjson_mut_obj_add_strcpy(doc, r, "id", o->id) || !yyjson_mut_obj_add_str(doc, r, "object", "response") ||
        !yyjson_mut_obj_add_int(doc, r, "created_at", o->created_at) || !yyjson_mut_obj_add_str(doc, r, "status", status) ||
        !yyjson_mut_obj_add_bool(doc, r, "background", false) || !yyjson_mut_obj_add_null(doc, r, "error") ||
        (is_incomplete && !yyjson_mut_obj_add_str(doc, details, "reason", "max_output_tokens")) ||
        !yyjson_mut_obj_add_val(doc, r, "incomplete_details", details) ||
        !yyjson_mut_obj_add_strcpy(doc, r, "model", o->req->chat.model ? o->req->chat.model : "") ||
        !yyjson_mut_obj_add_val(doc, r, "output", is_final ? yyjson_mut_val_mut_copy(doc, o->output) : yyjson_mut_arr(doc)) ||
        !yyjson_mut_obj_add_val(doc, r, "usage", is_final ? usage_build(o, doc) : yyjson_mut_null(doc)))
        return NULL;
    yyjson_mut_val *echo = yyjson_mut_doc_get_root(o->req->echo_doc);
    yyjson_mut_obj_iter it = yyjson_mut_obj_iter_with(echo);
    yyjson_mut_val *key;
    while ((key = yyjson_mut_obj_iter_next(&it)))
        if (!yyjson_mut_obj_add_val(doc, r, yyjson_mut_get_str(key),
                                    yyjson_mut_val_mut_copy(doc, yyjson_mut_obj_iter_get_val(key))))
            return NULL;
    return r;
}

static int emit_response_event(responses_output_t *o, const char *type, const char *status, buf_t *out) {
    event_t ev;
    bool ok = event_new(o, &ev, type) && yyjson_mut_obj_add_val(ev.doc, ev.root, "response", responses_output_object(o, ev.doc, status));
    return event_emit(o, &ev, ok, out);
}

static int begin(responses_output_t *o, yyjson_val *message, buf_t *out) {
    if (o->has_begun) return 0;
    o->has_begun = true;
    const char *id = yyjson_get_str(yyjson_obj_get(message, "id"));
    if (id && *id) snprintf(o->id, sizeof o->id, "resp_%s", !strncmp(id, "msg_", 4) ? id + 4 : id);
    if (emit_response_event(o, "response.created", "in_progress", out) < 0) return -1;
    return emit_response_event(o, "response.in_progress", "in_progress", out);
}

/* ---- engine events ---- */

static int on_block_start(responses_output_t *o, yyjson_val *block, buf_t *out) {
    if (item_end(o, out) < 0) return -1; /* a block the engine never closed */
    o->has_blocks = true;
    responses_item_kind_t kind = kind_of(o, block);
    if (kind == RESPONSES_ITEM_SKIPPED) {
        o->kind = kind;
        return 0;
    }
    if (kind == RESPONSES_ITEM_STRUCTURED) o->has_structured = true;
    if (item_begin(o, kind, block, out) < 0) return -1;
    yyjson_val *t = yyjson_obj_get(block, kind == RESPONSES_ITEM_REASONING ? "thinking" : "text");
    return is_message_kind(kind) || kind == RESPONSES_ITEM_REASONING ? item_delta(o, yyjson_get_str(t), yyjson_get_len(t), out) : 0;
}

static int on_block_delta(responses_output_t *o, yyjson_val *delta, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(delta, "type"));
    yyjson_val *v = NULL;
    if (!type) return 0;
    if (!strcmp(type, "text_delta") && o->kind == RESPONSES_ITEM_MESSAGE) v = yyjson_obj_get(delta, "text");
    else if (!strcmp(type, "thinking_delta") && o->kind == RESPONSES_ITEM_REASONING) v = yyjson_obj_get(delta, "thinking");
    else if (!strcmp(type, "input_json_delta")) v = yyjson_obj_get(delta, "partial_json");
    return v ? item_delta(o, yyjson_get_str(v), yyjson_get_len(v), out) : 0;
}

int responses_output_event(responses_output_t *o, yyjson_val *event, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(event, "type"));
    if (!type) return 0;
    if (!strcmp(type, "message_start")) {
        yyjson_val *msg = yyjson_obj_get(event, "message");
        take_usage(o, yyjson_obj_get(msg, "usage"));
        return begin(o, msg, out);
    }
    if (begin(o, NULL, out) < 0) return -1;
    if (!strcmp(type, "content_block_start")) return on_block_start(o, yyjson_obj_get(event, "content_block"), out);
    if (!strcmp(type, "content_block_delta")) return on_block_delta(o, yyjson_obj_get(event, "delta"), out);
    if (!strcmp(type, "content_block_stop")) return item_end(o, out);
    if (!strcmp(type, "message_delta")) {
        yyjson_val *stop = yyjson_obj_get(yyjson_obj_get(event, "delta"), "stop_reason");
        if (yyjson_is_str(stop)) snprintf(o->stop_reason, sizeof o->stop_reason, "%s", yyjson_get_str(stop));
        take_usage(o, yyjson_obj_get(event, "usage"));
    }
    return 0;
}

/* Feed a finished block through start/delta/stop (is_text_only: JSON mode's held-back prose). */
static int replay_block(responses_output_t *o, yyjson_val *block, bool is_text_only, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type || (is_text_only && strcmp(type, "text"))) return 0;
    responses_item_kind_t kind = is_text_only ? RESPONSES_ITEM_MESSAGE : kind_of(o, block);
    if (kind == RESPONSES_ITEM_SKIPPED) return 0;
    if (kind == RESPONSES_ITEM_STRUCTURED) o->has_structured = true;
    if (item_begin(o, kind, block, out) < 0) return -1;
    int rc = 0;
    if (kind == RESPONSES_ITEM_FUNCTION || kind == RESPONSES_ITEM_CUSTOM || kind == RESPONSES_ITEM_STRUCTURED) {
        size_t len = 0;
        char *args = yyjson_val_write(yyjson_obj_get(block, "input"), 0, &len);
        rc = args ? item_delta(o, args, len, out) : -1;
        free(args);
    } else {
        yyjson_val *t = yyjson_obj_get(block, kind == RESPONSES_ITEM_REASONING ? "thinking" : "text");
        rc = item_delta(o, yyjson_get_str(t), yyjson_get_len(t), out);
    }
    return rc < 0 ? -1 : item_end(o, out);
}

int responses_output_finish(responses_output_t *o, yyjson_val *message, buf_t *out) {
    if (begin(o, message, out) < 0 || item_end(o, out) < 0) return -1;
    if (message) {
        bool is_replay = !o->has_blocks;
        bool is_prose_only = o->has_blocks && is_json_mode(o) && !o->has_structured;
        size_t i, n;
        yyjson_val *block;
        yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, n, block) {
            if ((is_replay || is_prose_only) && replay_block(o, block, is_prose_only, out) < 0) return -1;
        }
        /* JSON mode without a structured answer: the prose is the answer after all. */
        if (is_replay && is_json_mode(o) && !o->has_structured) {
            yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, n, block) {
                if (replay_block(o, block, true, out) < 0) return -1;
            }
        }
        yyjson_val *stop = yyjson_obj_get(message, "stop_reason");
        if (yyjson_is_str(stop)) snprintf(o->stop_reason, sizeof o->stop_reason, "%s", yyjson_get_str(stop));
        take_usage(o, yyjson_obj_get(message, "usage"));
    }
    const char *status = responses_output_status(o);
    return emit_response_event(o, !strcmp(status, "incomplete") ? "response.incomplete" : "response.completed", status, out);
}

int responses_output_fail(responses_output_t *o, const api_error_t *err, buf_t *out) {
    if (begin(o, NULL, out) < 0) return -1;
    /* The error's code and message in OpenAI's words, as its "error" body would carry them. */
    yyjson_mut_doc *tmp = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *body = tmp ? api_error_body(tmp, DIALECT_OPENAI, err) : NULL;
    yyjson_mut_val *inner = yyjson_mut_obj_get(body, "error");
    yyjson_mut_val *code = yyjson_mut_obj_get(inner, "code"), *message = yyjson_mut_obj_get(inner, "message");
    event_t ev;
    bool ok = inner && event_new(o, &ev, "error") &&
              yyjson_mut_obj_add_val(ev.doc, ev.root, "code", yyjson_mut_val_mut_copy(ev.doc, code)) &&
              yyjson_mut_obj_add_val(ev.doc, ev.root, "message", yyjson_mut_val_mut_copy(ev.doc, message)) &&
              yyjson_mut_obj_add_val(ev.doc, ev.root, "param", yyjson_mut_val_mut_copy(ev.doc, yyjson_mut_obj_get(inner, "param")));
    int rc = inner ? event_emit(o, &ev, ok, out) : -1;
    if (rc == 0) {
        ok = event_new(o, &ev, "response.failed");
        yyjson_mut_val *r = ok ? responses_output_object(o, ev.doc, "failed") : NULL;
        yyjson_mut_val *e = r ? yyjson_mut_obj(ev.doc) : NULL;
        ok = e && yyjson_mut_obj_add_val(ev.doc, e, "code", yyjson_mut_val_mut_copy(ev.doc, code)) &&
             yyjson_mut_obj_add_val(ev.doc, e, "message", yyjson_mut_val_mut_copy(ev.doc, message)) &&
             yyjson_mut_obj_put(r, yyjson_mut_str(ev.doc, "error"), e) && yyjson_mut_obj_add_val(ev.doc, ev.root, "response", r);
        rc = event_emit(o, &ev, ok, out);
    }
    yyjson_mut_doc_free(tmp);
    return rc;
}
