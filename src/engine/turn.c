#include "engine/turn.h"

#include <stdlib.h>
#include <string.h>

#include "engine/turn_internal.h"
#include "util/buf.h"
#include "util/json_depth.h"
#include "engine/tool_choice.h" /* CLIENT_TOOL_PREFIX */

#define TURN_MAX_BLOCK_INDEX 4096 /* upstream block indexes beyond this are treated as garbage */

/* ---- small helpers ---- */

static size_t utf8_chars(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

/* Bytes of s[0, n) holding the first `chars` code points. */
static size_t utf8_prefix(const char *s, size_t n, int64_t chars) {
    size_t i = 0;
    int64_t seen = 0;
    for (; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (seen == chars) break;
            seen++;
        }
    }
    return i;
}

/* Largest boundary <= at that does not split a UTF-8 sequence. */
static size_t utf8_floor(const char *s, size_t at) {
    while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80) at--;
    return at;
}

static char *dup_str(const char *s) { return s ? strdup(s) : NULL; }

static void set_str(char **dst, const char *s) {
    free(*dst);
    *dst = dup_str(s);
}

static bool emit_val(turn_stream_t *ts, yyjson_val *event) {
    if (ts->is_gone) return false;
    if (!ts->emit(ts->arg, event)) ts->is_gone = true;
    return !ts->is_gone;
}

/* Emit an event we built; takes doc. */
bool turn__emit_built(turn_stream_t *ts, yyjson_mut_doc *doc) {
    yyjson_doc *d = doc ? yyjson_mut_doc_imut_copy(doc, NULL) : NULL;
    yyjson_mut_doc_free(doc);
    if (!d) {
        ts->is_failed = true;
        return false;
    }
    bool ok = emit_val(ts, yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    return ok;
}

static int keep_content(turn_stream_t *ts, buf_t *b, const char *s, size_t n) {
    ts->seen_bytes += n;
    if (ts->content_bytes + n > TURN_MAX_CONTENT_BYTES || buf_append(b, s, n) != 0) {
        ts->is_failed = true;
        return -1;
    }
    ts->content_bytes += n;
    return 0;
}

/* A streamed turn's text past TURN_STREAMED_KEEP_BYTES: what was kept goes, nothing more is kept. */
static void give_up_text(turn_stream_t *ts) {
    ts->is_text_given_up = true;
    for (size_t i = 0; i < ts->block_count; i++) {
        block_t *b = &ts->blocks[i];
        if (b->kind != BLOCK_TEXT && b->kind != BLOCK_THINKING) continue;
        ts->content_bytes -= b->text.len;
        buf_free(&b->text);
    }
    ts->kept_text_bytes = 0;
}

/* Text or thinking the client got, into b->text for the final message (a streamed turn keeps only so much). */
static int keep_text(turn_stream_t *ts, block_t *b, const char *s, size_t n) {
    if (ts->is_streamed && !ts->is_text_given_up && ts->kept_text_bytes + n > TURN_STREAMED_KEEP_BYTES) give_up_text(ts);
    if (ts->is_text_given_up) {
        ts->seen_bytes += n;
        return 0;
    }
    if (keep_content(ts, &b->text, s, n) != 0) return -1;
    ts->kept_text_bytes += n;
    return 0;
}

void turn__cut(turn_stream_t *ts, const char *reason, const char *sequence) {
    ts->is_cut = true;
    set_str(&ts->stop_reason, reason);
    set_str(&ts->stop_sequence, sequence);
}

/* ---- lifecycle ---- */

turn_stream_t *turn_stream_new(const turn_stream_options_t *opts) {
    turn_stream_t *ts = calloc(1, sizeof *ts);
    if (!ts) return NULL;
    for (size_t i = 0; i < opts->stop_count && ts->stop_count < TURN_MAX_STOP_SEQUENCES; i++) {
        const char *s = opts->stop_sequences[i];
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > TURN_MAX_STOP_SEQUENCE_LEN) continue;
        ts->stops[ts->stop_count] = strdup(s);
        ts->stop_lens[ts->stop_count] = n;
        if (n > ts->stop_max_len) ts->stop_max_len = n;
        ts->stop_count++;
    }
    ts->max_tokens = opts->max_tokens;
    ts->has_structured_output = opts->has_structured_output;
    ts->is_streamed = opts->is_streamed;
    ts->is_paused = opts->is_paused;
    /* A max_tokens too big to count in characters is no limit (and must not overflow into a small one). */
    ts->budget_chars = opts->max_tokens > 0 && opts->max_tokens <= INT64_MAX / TURN_CHARS_PER_TOKEN
                           ? opts->max_tokens * TURN_CHARS_PER_TOKEN : -1;
    ts->model = dup_str(opts->model ? opts->model : "");
    ts->emit = opts->emit;
    ts->arg = opts->arg;
    ts->msg_doc = yyjson_mut_doc_new(NULL);
    buf_init(&ts->scratch, 0);
    if (!ts->msg_doc || !ts->model) {
        turn_stream_free(ts);
        return NULL;
    }
    return ts;
}

void turn_stream_free(turn_stream_t *ts) {
    if (!ts) return;
    for (size_t i = 0; i < ts->stop_count; i++) free(ts->stops[i]);
    for (size_t i = 0; i < ts->block_count; i++) {
        buf_free(&ts->blocks[i].text);
        buf_free(&ts->blocks[i].extra);
        buf_free(&ts->blocks[i].hold);
    }
    free(ts->blocks);
    free(ts->index_map);
    free(ts->model);
    free(ts->stop_reason);
    free(ts->stop_sequence);
    free(ts->streamed_id);
    free(ts->whole_id);
    yyjson_mut_doc_free(ts->msg_doc);
    buf_free(&ts->scratch);
    free(ts);
}

bool turn_stream_has_started(const turn_stream_t *ts) { return ts->is_started; }
size_t turn_stream_kept_bytes(const turn_stream_t *ts) { return ts ? ts->content_bytes : 0; }
size_t turn_stream_content_bytes(const turn_stream_t *ts) { return ts ? ts->seen_bytes : 0; }
bool turn_stream_kept_all(const turn_stream_t *ts) { return !ts->is_text_given_up; }
bool turn_stream_is_cut(const turn_stream_t *ts) { return ts->is_cut; }
bool turn_stream_at_message_end(const turn_stream_t *ts) { return ts->is_started && !ts->is_message_open; }
const char *turn_stream_stop_reason(const turn_stream_t *ts) { return ts->stop_reason; }
int64_t turn_stream_output_estimate(const turn_stream_t *ts) {
    int64_t est = (ts->out_chars + TURN_CHARS_PER_TOKEN - 1) / TURN_CHARS_PER_TOKEN;
    if (ts->max_tokens > 0 && est > ts->max_tokens) est = ts->max_tokens;
    return est;
}

/* ---- message_start ---- */

static bool start_message(turn_stream_t *ts, yyjson_val *message) {
    ts->is_started = true;
    ts->msg = message ? yyjson_val_mut_copy(ts->msg_doc, message) : NULL;
    if (!yyjson_mut_is_obj(ts->msg)) {
        ts->msg = yyjson_mut_obj(ts->msg_doc);
        yyjson_mut_obj_add_str(ts->msg_doc, ts->msg, "id", "msg_proxy");
        yyjson_mut_obj_add_str(ts->msg_doc, ts->msg, "type", "message");
        yyjson_mut_obj_add_str(ts->msg_doc, ts->msg, "role", "assistant");
        yyjson_mut_obj_add_strcpy(ts->msg_doc, ts->msg, "model", ts->model);
    }
    if (message) return true;
    /* The CLI gave no message_start (nothing streamed): make one so the client sees a whole message. */
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("message_start", &root);
    if (!doc) return false;
    yyjson_mut_val *m = yyjson_mut_val_mut_copy(doc, ts->msg);
    turn__put_start_message(doc, root, m);
    return turn__emit_built(ts, doc);
}

/* ---- blocks ---- */

static block_t *client_block(turn_stream_t *ts, yyjson_val *event, int *client_index) {
    yyjson_val *idx = yyjson_obj_get(event, "index");
    if (!yyjson_is_uint(idx) && !yyjson_is_sint(idx)) return NULL;
    int64_t up = yyjson_get_sint(idx);
    if (up < 0 || (size_t)up >= ts->map_len || ts->index_map[up] < 0) return NULL;
    *client_index = ts->index_map[up];
    yyjson_set_uint(idx, (uint64_t)*client_index);
    return &ts->blocks[*client_index];
}

static bool is_structured_block(const turn_stream_t *ts, yyjson_val *cb) {
    const char *name = yyjson_get_str(yyjson_obj_get(cb, "name"));
    return ts->has_structured_output && name && !strcmp(name, TURN_STRUCTURED_TOOL);
}

static bool is_internal_block(const turn_stream_t *ts, yyjson_val *cb, const char *type) {
    if (!strcmp(type, "tool_use")) {
        const char *name = yyjson_get_str(yyjson_obj_get(cb, "name"));
        if (is_structured_block(ts, cb)) return false;
        return !name || strncmp(name, CLIENT_TOOL_PREFIX, strlen(CLIENT_TOOL_PREFIX)) != 0;
    }
    /* server_tool_use, web_search_tool_result, ...: the CLI's own tools */
    return !strcmp(type, "server_tool_use") || strstr(type, "_tool_result") != NULL;
}

static turn_stream_status_t on_block_start(turn_stream_t *ts, yyjson_val *event) {
    yyjson_val *idx = yyjson_obj_get(event, "index");
    yyjson_val *cb = yyjson_obj_get(event, "content_block");
    const char *type = yyjson_get_str(yyjson_obj_get(cb, "type"));
    if (!yyjson_is_uint(idx) || !type || yyjson_get_uint(idx) >= TURN_MAX_BLOCK_INDEX) return turn__status(ts);
    size_t up = (size_t)yyjson_get_uint(idx);
    if (up >= ts->map_len) {
        int *m = realloc(ts->index_map, (up + 1) * sizeof *m);
        if (!m) return ts->is_failed = true, TURN_STREAM_FAILED;
        for (size_t i = ts->map_len; i <= up; i++) m[i] = -1;
        ts->index_map = m;
        ts->map_len = up + 1;
    }
    ts->index_map[up] = -1;
    if (is_internal_block(ts, cb, type)) return turn__status(ts);
    if (ts->budget_chars >= 0 && ts->out_chars >= ts->budget_chars) {
        turn__cut(ts, "max_tokens", NULL);
        return turn__status(ts);
    }
    if (ts->block_count == ts->block_cap) {
        size_t cap = ts->block_cap ? ts->block_cap * 2 : 4;
        block_t *b = realloc(ts->blocks, cap * sizeof *b);
        if (!b) return ts->is_failed = true, TURN_STREAM_FAILED;
        ts->blocks = b;
        ts->block_cap = cap;
    }
    block_t *b = &ts->blocks[ts->block_count];
    memset(b, 0, sizeof *b);
    buf_init(&b->text, 0);
    buf_init(&b->extra, 0);
    buf_init(&b->hold, 0);
    b->kind = !strcmp(type, "text") ? BLOCK_TEXT : !strcmp(type, "thinking") ? BLOCK_THINKING
            : !strcmp(type, "tool_use") ? BLOCK_TOOL_USE : BLOCK_OTHER;
    if (b->kind == BLOCK_TOOL_USE && !is_structured_block(ts, cb)) {
        /* The client knows its tool by its own name. */
        yyjson_val *name = yyjson_obj_get(cb, "name");
        const char *s = yyjson_get_str(name);
        size_t plen = strlen(CLIENT_TOOL_PREFIX);
        yyjson_set_strn(name, s + plen, yyjson_get_len(name) - plen);
    }
    b->obj = yyjson_val_mut_copy(ts->msg_doc, cb);
    b->is_open = true;
    int client_index = (int)ts->block_count++;
    ts->index_map[up] = client_index;
    yyjson_set_uint(idx, (uint64_t)client_index);
    emit_val(ts, event);
    return turn__status(ts);
}

/* A long delta with only max_tokens to watch: nothing is held back, so it goes out in pieces from the
 * event itself (no copy of it), cut where the budget ends. */
static turn_stream_status_t release_long(turn_stream_t *ts, block_t *b, int index, const char *t, size_t n) {
    size_t send = n;
    const char *reason = NULL;
    size_t chars = utf8_chars(t, n);
    if (ts->budget_chars >= 0 && ts->out_chars + (int64_t)chars > ts->budget_chars) {
        send = utf8_prefix(t, n, ts->budget_chars - ts->out_chars);
        chars = utf8_chars(t, send);
        reason = "max_tokens";
    }
    ts->out_chars += (int64_t)chars;
    if (keep_text(ts, b, t, send) != 0) return TURN_STREAM_FAILED;
    if (send == 0) {
        turn__cut(ts, reason, NULL);
        return turn__status(ts);
    }
    return turn__send_pieces(ts, index, false, t, send, reason, NULL);
}

/* Send what may go of a text block's held text plus t (in event, when given, else in an event we make);
 * cut at the first stop sequence or where the token budget runs out. */
static turn_stream_status_t text_release(turn_stream_t *ts, block_t *b, int index, yyjson_val *event,
                                         const char *t, size_t n, bool is_final) {
    if (!ts->stop_count && !b->hold.len && n > TURN_MAX_DELTA_BYTES) return release_long(ts, b, index, t, n);
    if (buf_append(&b->hold, t, n) != 0) return ts->is_failed = true, TURN_STREAM_FAILED;
    const char *hold = b->hold.data ? b->hold.data : "";
    size_t send = b->hold.len;
    const char *reason = NULL, *matched = NULL;
    if (ts->stop_count) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < ts->stop_count; i++) {
            const char *p = memmem(hold, b->hold.len, ts->stops[i], ts->stop_lens[i]);
            if (p && (size_t)(p - hold) < best) best = (size_t)(p - hold), matched = ts->stops[i];
        }
        if (matched) {
            send = best;
            reason = "stop_sequence";
        } else if (!is_final) {
            size_t keep = ts->stop_max_len - 1;
            send = b->hold.len > keep ? utf8_floor(hold, b->hold.len - keep) : 0;
        }
    }
    size_t chars = utf8_chars(hold, send);
    if (ts->budget_chars >= 0 && ts->out_chars + (int64_t)chars > ts->budget_chars) {
        send = utf8_prefix(hold, send, ts->budget_chars - ts->out_chars);
        chars = utf8_chars(hold, send);
        reason = "max_tokens";
        matched = NULL;
    }
    ts->out_chars += (int64_t)chars;
    if (send > TURN_MAX_DELTA_BYTES) {
        if (keep_text(ts, b, hold, send) != 0) return TURN_STREAM_FAILED;
        /* The held buffer itself goes out in pieces (the cut, if any, after the last); what stays held (less
         * than a stop sequence) moves to a buffer of its own: the long text is not copied again. */
        buf_t rest;
        buf_init(&rest, b->hold.limit);
        if (!reason && buf_append(&rest, hold + send, b->hold.len - send) != 0)
            return ts->is_failed = true, TURN_STREAM_FAILED;
        buf_free(&ts->scratch);
        ts->scratch = b->hold;
        b->hold = rest;
        return turn__send_pieces(ts, index, false, ts->scratch.data, send, reason, matched);
    }
    if (send > 0) {
        if (keep_text(ts, b, hold, send) != 0) return TURN_STREAM_FAILED;
        if (ts->scratch.cap > TURN_MAX_DELTA_BYTES) buf_free(&ts->scratch); /* a long delta's: give it back */
        buf_reset(&ts->scratch);
        if (buf_append(&ts->scratch, hold, send) != 0) return ts->is_failed = true, TURN_STREAM_FAILED;
        buf_consume(&b->hold, send);
        if (event) {
            yyjson_set_strn(yyjson_obj_get(yyjson_obj_get(event, "delta"), "text"), ts->scratch.data, send);
            emit_val(ts, event);
        } else {
            yyjson_mut_val *root;
            yyjson_mut_doc *doc = turn__event_doc("content_block_delta", &root);
            if (!doc) return ts->is_failed = true, TURN_STREAM_FAILED;
            yyjson_mut_obj_add_int(doc, root, "index", index);
            yyjson_mut_val *d = yyjson_mut_obj(doc);
            yyjson_mut_obj_add_str(doc, d, "type", "text_delta");
            yyjson_mut_obj_add_strncpy(doc, d, "text", ts->scratch.data, send);
            yyjson_mut_obj_add_val(doc, root, "delta", d);
            turn__emit_built(ts, doc);
        }
    }
    if (reason) {
        buf_reset(&b->hold);
        turn__cut(ts, reason, matched);
    }
    return turn__status(ts);
}

static turn_stream_status_t on_block_delta(turn_stream_t *ts, yyjson_val *event) {
    int index;
    block_t *b = client_block(ts, event, &index);
    yyjson_val *delta = yyjson_obj_get(event, "delta");
    const char *type = yyjson_get_str(yyjson_obj_get(delta, "type"));
    if (!b || !b->is_open || b->is_stop_pending || !type) return turn__status(ts);
    if (!strcmp(type, "text_delta")) {
        yyjson_val *text = yyjson_obj_get(delta, "text");
        if (!yyjson_is_str(text)) return turn__status(ts);
        if (!ts->stop_count && ts->budget_chars < 0) {
            const char *t = yyjson_get_str(text);
            size_t n = yyjson_get_len(text);
            if (keep_text(ts, b, t, n) != 0) return TURN_STREAM_FAILED;
            if (n > TURN_MAX_DELTA_BYTES) return turn__send_pieces(ts, index, false, t, n, NULL, NULL);
            emit_val(ts, event);
            return turn__status(ts);
        }
        return text_release(ts, b, index, event, yyjson_get_str(text), yyjson_get_len(text), false);
    }
    if (!strcmp(type, "input_json_delta")) {
        yyjson_val *pj = yyjson_obj_get(delta, "partial_json");
        size_t n = yyjson_get_len(pj);
        int64_t chars = (int64_t)utf8_chars(yyjson_get_str(pj) ? yyjson_get_str(pj) : "", n);
        if (ts->budget_chars >= 0 && ts->out_chars + chars > ts->budget_chars) {
            turn__cut(ts, "max_tokens", NULL); /* half a JSON document is of no use: stop before it */
            return turn__status(ts);
        }
        ts->out_chars += chars;
        if (n && keep_content(ts, &b->extra, yyjson_get_str(pj), n) != 0) return TURN_STREAM_FAILED;
    } else if (!strcmp(type, "thinking_delta")) {
        yyjson_val *th = yyjson_obj_get(delta, "thinking");
        size_t n = yyjson_get_len(th);
        if (n && keep_text(ts, b, yyjson_get_str(th), n) != 0) return TURN_STREAM_FAILED;
        if (n > TURN_MAX_DELTA_BYTES) return turn__send_pieces(ts, index, true, yyjson_get_str(th), n, NULL, NULL);
    } else if (!strcmp(type, "signature_delta")) {
        yyjson_val *sig = yyjson_obj_get(delta, "signature");
        if (yyjson_get_len(sig) && keep_content(ts, &b->extra, yyjson_get_str(sig), yyjson_get_len(sig)) != 0)
            return TURN_STREAM_FAILED;
    }
    emit_val(ts, event);
    return turn__status(ts);
}

static bool emit_block_stop(turn_stream_t *ts, int index) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("content_block_stop", &root);
    if (!doc) return ts->is_failed = true, false;
    yyjson_mut_obj_add_int(doc, root, "index", index);
    return turn__emit_built(ts, doc);
}

static turn_stream_status_t on_block_stop(turn_stream_t *ts, yyjson_val *event) {
    int index;
    block_t *b = client_block(ts, event, &index);
    if (!b || !b->is_open || b->is_stop_pending) return turn__status(ts);
    if (b->kind == BLOCK_TEXT && b->hold.len) {
        text_release(ts, b, index, NULL, "", 0, true);
        if (ts->is_cut || ts->is_gone || ts->is_failed) return turn__status(ts);
    }
    b->is_stop_pending = true;
    return turn__status(ts);
}

/* Send the block stops that waited (on_block_stop): the message goes on, or ends as it should. */
static void flush_pending_stops(turn_stream_t *ts) {
    for (size_t i = 0; i < ts->block_count && !ts->is_gone && !ts->is_failed; i++) {
        block_t *b = &ts->blocks[i];
        if (!b->is_stop_pending) continue;
        b->is_stop_pending = false;
        b->is_open = false;
        emit_block_stop(ts, (int)i);
    }
}

/* A message_stop with no message_delta before it: the stream broke (2.1.332 ends the broken attempt so,
 * then gives the retry whole). The blocks it stopped stay open: the retried answer continues or ends them. */
static void reopen_pending_stops(turn_stream_t *ts) {
    for (size_t i = 0; i < ts->block_count; i++) ts->blocks[i].is_stop_pending = false;
}

static void on_message_delta(turn_stream_t *ts, yyjson_val *event) {
    yyjson_val *delta = yyjson_obj_get(event, "delta");
    const char *reason = yyjson_get_str(yyjson_obj_get(delta, "stop_reason"));
    if (reason) {
        ts->is_message_open = false;
        set_str(&ts->stop_reason, reason);
        set_str(&ts->stop_sequence, yyjson_get_str(yyjson_obj_get(delta, "stop_sequence")));
    }
    yyjson_val *out = yyjson_obj_get(yyjson_obj_get(event, "usage"), "output_tokens");
    if (yyjson_is_int(out)) ts->delta_output_tokens += yyjson_get_sint(out);
}

turn_stream_status_t turn_stream_feed(turn_stream_t *ts, yyjson_val *event) {
    turn__flush_pieces(ts); /* only if the caller did not wait for turn_stream_resume */
    if (ts->is_cut || ts->is_gone || ts->is_failed || ts->is_finished) return turn__status(ts);
    const char *type = yyjson_get_str(yyjson_obj_get(event, "type"));
    if (!type) return turn__status(ts);
    if (!strcmp(type, "message_start")) {
        flush_pending_stops(ts);
        /* Each upstream message numbers its blocks from 0 again. */
        for (size_t i = 0; i < ts->map_len; i++) ts->index_map[i] = -1;
        ts->is_message_open = true;
        set_str(&ts->streamed_id, yyjson_get_str(yyjson_obj_get(yyjson_obj_get(event, "message"), "id")));
        if (ts->is_started) return turn__status(ts);
        ts->is_started = true;
        if (!start_message(ts, yyjson_obj_get(event, "message"))) return turn__status(ts);
        emit_val(ts, event);
    } else if (!strcmp(type, "content_block_start")) {
        if (!ts->is_started && !start_message(ts, NULL)) return turn__status(ts);
        flush_pending_stops(ts);
        return on_block_start(ts, event);
    } else if (!strcmp(type, "content_block_delta")) {
        flush_pending_stops(ts); /* the stream goes on: blocks stopped before this one are done */
        return on_block_delta(ts, event);
    } else if (!strcmp(type, "content_block_stop")) {
        return on_block_stop(ts, event);
    } else if (!strcmp(type, "message_delta")) {
        flush_pending_stops(ts); /* also 2.1.332's interrupt tail, whose stop_reason is null */
        on_message_delta(ts, event);
    } else if (!strcmp(type, "message_stop")) {
        if (ts->is_message_open) reopen_pending_stops(ts);
        else flush_pending_stops(ts);
        ts->is_message_open = false;
    }
    /* message_stop, ping, and anything new: ours to send at the end, or nothing for the client */
    return turn__status(ts);
}

/* ---- the end ---- */

static int64_t usage_int(yyjson_val *usage, const char *key, int64_t fallback) {
    yyjson_val *v = yyjson_obj_get(usage, key);
    return yyjson_is_int(v) ? yyjson_get_sint(v) : fallback;
}

static void fill_block(turn_stream_t *ts, block_t *b) {
    yyjson_mut_doc *doc = ts->msg_doc;
    yyjson_mut_val *obj = b->obj;
    if (!obj) return;
    if (b->kind == BLOCK_TEXT) {
        yyjson_mut_obj_put(obj, yyjson_mut_str(doc, "text"),
                           yyjson_mut_strncpy(doc, b->text.data ? b->text.data : "", b->text.len));
    } else if (b->kind == BLOCK_THINKING) {
        yyjson_mut_obj_put(obj, yyjson_mut_str(doc, "thinking"),
                           yyjson_mut_strncpy(doc, b->text.data ? b->text.data : "", b->text.len));
        yyjson_mut_obj_put(obj, yyjson_mut_str(doc, "signature"),
                           yyjson_mut_strncpy(doc, b->extra.data ? b->extra.data : "", b->extra.len));
    } else if (b->kind == BLOCK_TOOL_USE) {
        yyjson_doc *input = b->extra.len ? yyjson_read(b->extra.data, b->extra.len, 0) : NULL;
        if (input && !json_depth_ok(yyjson_doc_get_root(input), JSON_MAX_DEPTH_CLI, NULL, 0)) {
            yyjson_doc_free(input); /* copying it would recurse once per level */
            input = NULL;
            ts->is_failed = true;
        }
        yyjson_mut_val *v = input ? yyjson_val_mut_copy(doc, yyjson_doc_get_root(input)) : yyjson_mut_obj(doc);
        yyjson_doc_free(input);
        yyjson_mut_obj_put(obj, yyjson_mut_str(doc, "input"), v);
    }
}

yyjson_doc *turn_stream_finish(turn_stream_t *ts, yyjson_val *result_usage, turn_stream_status_t *status) {
    *status = TURN_STREAM_OK;
    if (ts->is_finished || ts->is_failed) {
        *status = turn__status(ts);
        return NULL;
    }
    turn__flush_pieces(ts);
    if (ts->is_failed) goto out;
    ts->is_finished = true;
    if (!ts->is_started && !start_message(ts, NULL)) goto out;
    /* Close what is open (a cut block, or a stream that ended early); held text goes first. */
    for (size_t i = 0; i < ts->block_count && !ts->is_gone; i++) {
        block_t *b = &ts->blocks[i];
        if (!b->is_open) continue;
        if (b->kind == BLOCK_TEXT && b->hold.len && !ts->is_cut) text_release(ts, b, (int)i, NULL, "", 0, true);
        b->is_open = false;
        b->is_stop_pending = false;
        emit_block_stop(ts, (int)i);
    }
    const char *reason = ts->stop_reason ? ts->stop_reason : "end_turn";
    /* After a retry the answer is the message given whole (turn_retry.c), and so is its usage: 2.1.197's
     * result counts nothing then, 2.1.332's counts the broken attempt too. */
    const turn_usage_t *whole = &ts->whole_usage;
    if (ts->whole_id) result_usage = NULL;
    int64_t output_tokens = ts->is_cut ? turn_stream_output_estimate(ts)
                            : ts->whole_id ? whole->output_tokens
                            : result_usage ? usage_int(result_usage, "output_tokens", ts->delta_output_tokens)
                                           : turn_stream_output_estimate(ts);
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("message_delta", &root);
    if (!doc) goto oom;
    yyjson_mut_val *delta = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_strcpy(doc, delta, "stop_reason", reason);
    if (ts->stop_sequence) yyjson_mut_obj_add_strcpy(doc, delta, "stop_sequence", ts->stop_sequence);
    else yyjson_mut_obj_add_null(doc, delta, "stop_sequence");
    yyjson_mut_obj_add_val(doc, root, "delta", delta);
    yyjson_mut_val *u = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_int(doc, u, "output_tokens", output_tokens);
    yyjson_mut_obj_add_val(doc, root, "usage", u);
    turn__emit_built(ts, doc);
    doc = turn__event_doc("message_stop", &root);
    if (!doc) goto oom;
    turn__emit_built(ts, doc);

    /* The assembled message. */
    yyjson_mut_doc *md = ts->msg_doc;
    yyjson_mut_val *msg = ts->msg;
    yyjson_mut_val *start_usage = ts->whole_id ? NULL : yyjson_mut_obj_get(msg, "usage");
    int64_t in0 = yyjson_mut_is_int(yyjson_mut_obj_get(start_usage, "input_tokens"))
                      ? yyjson_mut_get_sint(yyjson_mut_obj_get(start_usage, "input_tokens")) : 0;
    int64_t cc0 = yyjson_mut_is_int(yyjson_mut_obj_get(start_usage, "cache_creation_input_tokens"))
                      ? yyjson_mut_get_sint(yyjson_mut_obj_get(start_usage, "cache_creation_input_tokens")) : 0;
    int64_t cr0 = yyjson_mut_is_int(yyjson_mut_obj_get(start_usage, "cache_read_input_tokens"))
                      ? yyjson_mut_get_sint(yyjson_mut_obj_get(start_usage, "cache_read_input_tokens")) : 0;
    yyjson_mut_val *content = yyjson_mut_arr(md);
    for (size_t i = 0; i < ts->block_count; i++) {
        fill_block(ts, &ts->blocks[i]);
        if (ts->blocks[i].obj) yyjson_mut_arr_append(content, ts->blocks[i].obj);
    }
    if (ts->is_failed) goto out; /* a tool input too deep to copy */
    yyjson_mut_obj_put(msg, yyjson_mut_str(md, "content"), content);
    yyjson_mut_obj_put(msg, yyjson_mut_str(md, "stop_reason"), yyjson_mut_strcpy(md, reason));
    yyjson_mut_obj_put(msg, yyjson_mut_str(md, "stop_sequence"),
                       ts->stop_sequence ? yyjson_mut_strcpy(md, ts->stop_sequence) : yyjson_mut_null(md));
    yyjson_mut_val *usage = yyjson_mut_obj(md);
    yyjson_mut_obj_add_int(md, usage, "input_tokens", usage_int(result_usage, "input_tokens", in0) + whole->input_tokens);
    yyjson_mut_obj_add_int(md, usage, "output_tokens", output_tokens);
    yyjson_mut_obj_add_int(md, usage, "cache_creation_input_tokens",
                           usage_int(result_usage, "cache_creation_input_tokens", cc0) + whole->cache_creation_input_tokens);
    yyjson_mut_obj_add_int(md, usage, "cache_read_input_tokens",
                           usage_int(result_usage, "cache_read_input_tokens", cr0) + whole->cache_read_input_tokens);
    yyjson_mut_obj_put(msg, yyjson_mut_str(md, "usage"), usage);
    yyjson_mut_obj_remove_key(msg, "context_management");
    yyjson_mut_doc_set_root(md, msg);
    yyjson_doc *out = yyjson_mut_doc_imut_copy(md, NULL);
    if (!out) goto oom;
    *status = ts->is_gone ? TURN_STREAM_GONE : TURN_STREAM_OK;
    return out;
oom:
    ts->is_failed = true;
out:
    *status = turn__status(ts);
    return NULL;
}
