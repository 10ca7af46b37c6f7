/*
 * Engine events → the Messages API's SSE stream, and the finished message → the non-streaming body.
 *
 * The engine already speaks this dialect, so events pass through byte-for-byte in meaning (re-serialised
 * by yyjson, never rebuilt): tool input, thinking signatures and cache token counts reach the client as
 * the upstream sent them. What this file adds is the framing ("event: <type>" always equal to data.type)
 * and a guarantee that the stream is well formed: message_start first, every started block stopped,
 * message_delta and message_stop last, nothing after message_stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/anthropic.h"
#include "http/sse.h"
#include "util/utf8.h"

void anthropic_stream_init(anthropic_stream_t *st, const char *request_id, const char *model) {
    memset(st, 0, sizeof *st);
    snprintf(st->fallback_id, sizeof st->fallback_id, "msg_%s", request_id && request_id[0] ? request_id : "proxy");
    st->model = model;
    st->open_block = -1;
}

/* Frame one event held in a mutable doc. */
static int frame_mut(buf_t *out, const char *type, yyjson_mut_doc *doc) {
    size_t len = 0;
    /* An error message cut to a fixed size may end mid-character: sent scrubbed, not nothing. */
    char *json = doc ? utf8_json_write(doc, &len) : NULL;
    if (!json) return -1;
    int rc = sse_format_event(out, type, json, len);
    free(json);
    return rc;
}

static int frame_val(buf_t *out, const char *type, yyjson_val *event) {
    size_t len = 0;
    char *json = yyjson_val_write(event, 0, &len);
    if (!json) return -1;
    int rc = sse_format_event(out, type, json, len);
    free(json);
    return rc;
}

/* A new {"type": type} event document; its root in *root. */
static yyjson_mut_doc *event_doc(const char *type, yyjson_mut_val **root) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    *root = yyjson_mut_obj(doc);
    if (!*root || !yyjson_mut_obj_add_str(doc, *root, "type", type)) {
        yyjson_mut_doc_free(doc);
        return NULL;
    }
    yyjson_mut_doc_set_root(doc, *root);
    return doc;
}

/* Copy of usage with the four counts the SDKs read always present. */
static yyjson_mut_val *usage_copy(yyjson_mut_doc *doc, yyjson_val *usage) {
    static const char *const keys[] = {"input_tokens", "output_tokens", "cache_creation_input_tokens",
                                       "cache_read_input_tokens"};
    yyjson_mut_val *u = yyjson_is_obj(usage) ? yyjson_val_mut_copy(doc, usage) : yyjson_mut_obj(doc);
    if (!u) return NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!yyjson_mut_obj_get(u, keys[i]) && !yyjson_mut_obj_add_int(doc, u, keys[i], 0)) return NULL;
    return u;
}

static yyjson_mut_val *copy_or_null(yyjson_mut_doc *doc, yyjson_val *v) {
    return v ? yyjson_val_mut_copy(doc, v) : yyjson_mut_null(doc);
}

/* The message object shared by message_start (empty content) and the non-streaming body. */
static yyjson_mut_val *message_obj(yyjson_mut_doc *doc, yyjson_val *message, const char *fallback_id,
                                   const char *model, bool with_content) {
    yyjson_mut_val *m = yyjson_mut_obj(doc);
    const char *id = yyjson_get_str(yyjson_obj_get(message, "id"));
    const char *mdl = yyjson_get_str(yyjson_obj_get(message, "model"));
    yyjson_val *content = yyjson_obj_get(message, "content");
    yyjson_mut_val *c = with_content && yyjson_is_arr(content) ? yyjson_val_mut_copy(doc, content) : yyjson_mut_arr(doc);
    if (!m || !c || !yyjson_mut_obj_add_strcpy(doc, m, "id", id ? id : fallback_id) ||
        !yyjson_mut_obj_add_str(doc, m, "type", "message") || !yyjson_mut_obj_add_str(doc, m, "role", "assistant") ||
        !yyjson_mut_obj_add_strcpy(doc, m, "model", mdl && mdl[0] ? mdl : (model ? model : "")) ||
        !yyjson_mut_obj_add_val(doc, m, "content", c))
        return NULL;
    yyjson_mut_val *stop = with_content ? copy_or_null(doc, yyjson_obj_get(message, "stop_reason")) : yyjson_mut_null(doc);
    yyjson_mut_val *seq = with_content ? copy_or_null(doc, yyjson_obj_get(message, "stop_sequence")) : yyjson_mut_null(doc);
    yyjson_mut_val *usage = usage_copy(doc, yyjson_obj_get(message, "usage"));
    if (!with_content && usage) yyjson_mut_obj_put(usage, yyjson_mut_str(doc, "output_tokens"), yyjson_mut_int(doc, 1));
    if (!yyjson_mut_obj_add_val(doc, m, "stop_reason", stop) || !yyjson_mut_obj_add_val(doc, m, "stop_sequence", seq) ||
        !yyjson_mut_obj_add_val(doc, m, "usage", usage))
        return NULL;
    return m;
}

yyjson_mut_doc *anthropic_message_build(yyjson_val *message, const char *fallback_id, const char *model) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *m = doc ? message_obj(doc, message, fallback_id, model, true) : NULL;
    if (!m) {
        yyjson_mut_doc_free(doc);
        return NULL;
    }
    yyjson_mut_doc_set_root(doc, m);
    return doc;
}

static int emit_message_start(anthropic_stream_t *st, yyjson_val *message, buf_t *out) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_doc("message_start", &root);
    yyjson_mut_val *m = doc ? message_obj(doc, message, st->fallback_id, st->model, false) : NULL;
    int rc = m && yyjson_mut_obj_add_val(doc, root, "message", m) ? frame_mut(out, "message_start", doc) : -1;
    yyjson_mut_doc_free(doc);
    st->has_started = true;
    return rc;
}

static int emit_block_stop(anthropic_stream_t *st, buf_t *out) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_doc("content_block_stop", &root);
    int rc = doc && yyjson_mut_obj_add_int(doc, root, "index", st->open_block) ? frame_mut(out, "content_block_stop", doc)
                                                                                : -1;
    yyjson_mut_doc_free(doc);
    st->open_block = -1;
    return rc;
}

int anthropic_stream_event(anthropic_stream_t *st, yyjson_val *event, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(event, "type"));
    if (!type || st->has_stopped) return 0;
    if (strcmp(type, "message_start") == 0) {
        if (st->has_started) return 0;
        st->has_started = true;
        return frame_val(out, type, event);
    }
    if (!st->has_started && emit_message_start(st, NULL, out) < 0) return -1;
    if (strcmp(type, "content_block_start") == 0) {
        if (st->open_block >= 0 && emit_block_stop(st, out) < 0) return -1;
        yyjson_val *index = yyjson_obj_get(event, "index");
        st->open_block = yyjson_is_int(index) ? (int)yyjson_get_sint(index) : st->next_index;
        st->next_index = st->open_block + 1;
    } else if (strcmp(type, "content_block_stop") == 0) {
        if (st->open_block < 0) return 0;
        st->open_block = -1;
    } else if (strcmp(type, "message_delta") == 0) {
        if (st->open_block >= 0 && emit_block_stop(st, out) < 0) return -1;
        st->has_delta = true;
    } else if (strcmp(type, "message_stop") == 0) {
        if (st->open_block >= 0 && emit_block_stop(st, out) < 0) return -1;
        st->has_stopped = true;
    }
    return frame_val(out, type, event);
}

/* One content_block_delta whose delta is {"type": delta_type, key: value}, value copied from a yyjson
 * value, or from text when value is NULL. */
static int emit_delta(buf_t *out, int index, const char *delta_type, const char *key, yyjson_val *value,
                      const char *text) {
    yyjson_mut_val *root, *delta;
    yyjson_mut_doc *doc = event_doc("content_block_delta", &root);
    delta = doc ? yyjson_mut_obj(doc) : NULL;
    bool ok = delta && yyjson_mut_obj_add_int(doc, root, "index", index) &&
              yyjson_mut_obj_add_val(doc, root, "delta", delta) && yyjson_mut_obj_add_str(doc, delta, "type", delta_type) &&
              (value ? yyjson_mut_obj_add_val(doc, delta, key, yyjson_val_mut_copy(doc, value))
                     : yyjson_mut_obj_add_strcpy(doc, delta, key, text));
    int rc = ok ? frame_mut(out, "content_block_delta", doc) : -1;
    yyjson_mut_doc_free(doc);
    return rc;
}

/* content_block_start + delta(s) + stop for one finished block, when no event carried it. */
static int emit_whole_block(anthropic_stream_t *st, yyjson_val *block, buf_t *out) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type) return 0;
    bool is_text = strcmp(type, "text") == 0, is_thinking = strcmp(type, "thinking") == 0;
    bool is_tool = strcmp(type, "tool_use") == 0;
    int index = st->next_index++;
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_doc("content_block_start", &root);
    yyjson_mut_val *cb = doc ? yyjson_val_mut_copy(doc, block) : NULL;
    if (!cb) {
        yyjson_mut_doc_free(doc);
        return -1;
    }
    /* The start carries the block with its streamed parts emptied; the deltas carry them. */
    if (is_text) yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "text"), yyjson_mut_str(doc, ""));
    if (is_thinking) {
        yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "thinking"), yyjson_mut_str(doc, ""));
        yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "signature"), yyjson_mut_str(doc, ""));
    }
    if (is_tool) yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "input"), yyjson_mut_obj(doc));
    int rc = yyjson_mut_obj_add_int(doc, root, "index", index) && yyjson_mut_obj_add_val(doc, root, "content_block", cb)
                 ? frame_mut(out, "content_block_start", doc) : -1;
    yyjson_mut_doc_free(doc);
    st->open_block = index;

    yyjson_val *text = yyjson_obj_get(block, "text"), *thinking = yyjson_obj_get(block, "thinking");
    yyjson_val *signature = yyjson_obj_get(block, "signature");
    if (rc == 0 && is_text && yyjson_get_len(text) > 0) rc = emit_delta(out, index, "text_delta", "text", text, NULL);
    if (rc == 0 && is_thinking && yyjson_get_len(thinking) > 0)
        rc = emit_delta(out, index, "thinking_delta", "thinking", thinking, NULL);
    if (rc == 0 && is_thinking && yyjson_is_str(signature))
        rc = emit_delta(out, index, "signature_delta", "signature", signature, NULL);
    if (rc == 0 && is_tool) {
        char *input = yyjson_val_write(yyjson_obj_get(block, "input"), 0, NULL);
        rc = emit_delta(out, index, "input_json_delta", "partial_json", NULL, input ? input : "{}");
        free(input);
    }
    return rc == 0 ? emit_block_stop(st, out) : rc;
}

int anthropic_stream_finish(anthropic_stream_t *st, yyjson_val *message, buf_t *out) {
    if (st->has_stopped) return 0;
    if (!st->has_started) {
        if (emit_message_start(st, message, out) < 0) return -1;
        size_t i, n;
        yyjson_val *block;
        yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, n, block) {
            if (emit_whole_block(st, block, out) < 0) return -1;
        }
    }
    if (st->open_block >= 0 && emit_block_stop(st, out) < 0) return -1;
    yyjson_mut_val *root, *delta, *usage;
    yyjson_mut_doc *doc;
    int rc = 0;
    if (!st->has_delta) {
        doc = event_doc("message_delta", &root);
        delta = doc ? yyjson_mut_obj(doc) : NULL;
        usage = doc ? yyjson_mut_obj(doc) : NULL;
        yyjson_val *out_tokens = yyjson_obj_get(yyjson_obj_get(message, "usage"), "output_tokens");
        bool ok = delta && usage && yyjson_mut_obj_add_val(doc, root, "delta", delta) &&
                  yyjson_mut_obj_add_val(doc, delta, "stop_reason", copy_or_null(doc, yyjson_obj_get(message, "stop_reason"))) &&
                  yyjson_mut_obj_add_val(doc, delta, "stop_sequence", copy_or_null(doc, yyjson_obj_get(message, "stop_sequence"))) &&
                  yyjson_mut_obj_add_val(doc, root, "usage", usage) &&
                  yyjson_mut_obj_add_int(doc, usage, "output_tokens", yyjson_get_sint(out_tokens));
        rc = ok ? frame_mut(out, "message_delta", doc) : -1;
        yyjson_mut_doc_free(doc);
        st->has_delta = true;
    }
    if (rc == 0) {
        doc = event_doc("message_stop", &root);
        rc = doc ? frame_mut(out, "message_stop", doc) : -1;
        yyjson_mut_doc_free(doc);
    }
    st->has_stopped = true;
    return rc;
}

int anthropic_stream_error(const api_error_t *err, buf_t *out) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *body = doc ? api_error_body(doc, DIALECT_ANTHROPIC, err) : NULL;
    int rc = -1;
    if (body) {
        yyjson_mut_doc_set_root(doc, body);
        rc = frame_mut(out, "error", doc);
    }
    yyjson_mut_doc_free(doc);
    return rc;
}

int anthropic_stream_ping(buf_t *out) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_doc("ping", &root);
    int rc = frame_mut(out, "ping", doc);
    yyjson_mut_doc_free(doc);
    return rc;
}

static bool str_eq(yyjson_val *v, const char *s) { return yyjson_is_str(v) && strcmp(yyjson_get_str(v), s) == 0; }

/* One header value from a string or number; false when v is neither. */
static bool header_value(yyjson_val *v, char *out, size_t len) {
    if (yyjson_is_str(v)) snprintf(out, len, "%s", yyjson_get_str(v));
    else if (yyjson_is_int(v)) snprintf(out, len, "%lld", (long long)yyjson_get_sint(v));
    else if (yyjson_is_real(v)) snprintf(out, len, "%.15g", yyjson_get_real(v));
    else if (yyjson_is_bool(v)) snprintf(out, len, "%s", yyjson_get_bool(v) ? "true" : "false");
    else return false;
    return true;
}

/* The claim's abbreviation in the per-window headers ("anthropic-ratelimit-unified-5h-utilization"). */
static const char *claim_abbrev(yyjson_val *type) {
    static const struct {
        const char *type, *abbrev;
    } claims[] = {{"five_hour", "5h"}, {"seven_day", "7d"}, {"seven_day_opus", "7d_opus"},
                  {"seven_day_sonnet", "7d_sonnet"}, {"overage", "overage"}};
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++)
        if (str_eq(type, claims[i].type)) return claims[i].abbrev;
    return NULL;
}

int anthropic_ratelimit_headers(yyjson_val *info, void (*set)(const char *name, const char *value, void *arg),
                                void *arg) {
    yyjson_val *inner = yyjson_obj_get(info, "rate_limit_info");
    if (yyjson_is_obj(inner)) info = inner;
    if (!yyjson_is_obj(info)) return 0;
    /* The CLI's rate_limit_info is what it parsed from these very headers; this puts them back. */
    static const struct {
        const char *key, *header;
    } map[] = {
        {"status", "anthropic-ratelimit-unified-status"},
        {"resetsAt", "anthropic-ratelimit-unified-reset"},
        {"rateLimitType", "anthropic-ratelimit-unified-representative-claim"},
        {"overageStatus", "anthropic-ratelimit-unified-overage-status"},
        {"overageResetsAt", "anthropic-ratelimit-unified-overage-reset"},
        {"overageDisabledReason", "anthropic-ratelimit-unified-overage-disabled-reason"},
    };
    int count = 0;
    char value[64], name[96];
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!header_value(yyjson_obj_get(info, map[i].key), value, sizeof value)) continue;
        set(map[i].header, value, arg);
        count++;
    }
    /* Utilization and the threshold crossed belong to the representative claim's window. */
    const char *abbrev = claim_abbrev(yyjson_obj_get(info, "rateLimitType"));
    static const struct {
        const char *key, *suffix;
    } window[] = {{"utilization", "utilization"}, {"resetsAt", "reset"}, {"surpassedThreshold", "surpassed-threshold"}};
    for (size_t i = 0; abbrev && i < sizeof window / sizeof window[0]; i++) {
        if (!header_value(yyjson_obj_get(info, window[i].key), value, sizeof value)) continue;
        snprintf(name, sizeof name, "anthropic-ratelimit-unified-%s-%s", abbrev, window[i].suffix);
        set(name, value, arg);
        count++;
    }
    return count;
}
