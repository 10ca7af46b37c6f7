/*
 * turn_stream_feed_message: a message the CLI gives whole, without stream events.
 *
 * When the upstream stream breaks mid-answer, the CLI asks once more without streaming (2.1.100,
 * 2.1.197); a good answer then comes only as assistant lines (a new message id, one line per content
 * block) and a result line whose usage leaves it out. Such a message is replayed as the stream events
 * it would have had, through turn_stream_feed, so stop_sequences, max_tokens, the renaming of client
 * tools and the dropping of the CLI's own tools apply to it exactly as to a streamed one.
 *
 * The client may already hold the broken stream's first words. When the block left open is of the same
 * kind and the retried block starts with everything that block got, the retried block continues it with
 * the rest (the usual case: the model says the same again). Otherwise the open block ends as it is and
 * the retried blocks follow as new blocks, indexes continuing: the client's message then holds the
 * broken words and the whole retried answer, and loses nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/turn_internal.h"

static turn_stream_status_t out_of_memory(turn_stream_t *ts) {
    ts->is_failed = true;
    return TURN_STREAM_FAILED;
}

/* Feed an event we built; takes doc. */
static turn_stream_status_t feed_built(turn_stream_t *ts, yyjson_mut_doc *doc) {
    yyjson_doc *d = doc ? yyjson_mut_doc_imut_copy(doc, NULL) : NULL;
    yyjson_mut_doc_free(doc);
    if (!d) return out_of_memory(ts);
    turn_stream_status_t st = turn_stream_feed(ts, yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    return st;
}

/* Every block event below uses upstream index 0, mapped afresh for each block. */
static void map_index0(turn_stream_t *ts, int client_index) {
    for (size_t i = 0; i < ts->map_len; i++) ts->index_map[i] = -1;
    if (ts->map_len) ts->index_map[0] = client_index;
}

static turn_stream_status_t feed_block_stop(turn_stream_t *ts) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("content_block_stop", &root);
    if (!doc) return out_of_memory(ts);
    yyjson_mut_obj_add_uint(doc, root, "index", 0);
    return feed_built(ts, doc);
}

static turn_stream_status_t feed_delta(turn_stream_t *ts, const char *type, const char *key, const char *s, size_t n) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("content_block_delta", &root);
    if (!doc) return out_of_memory(ts);
    yyjson_mut_obj_add_uint(doc, root, "index", 0);
    yyjson_mut_val *delta = yyjson_mut_obj_add_obj(doc, root, "delta");
    yyjson_mut_obj_add_str(doc, delta, "type", type);
    yyjson_mut_obj_add_strncpy(doc, delta, key, s, n);
    return feed_built(ts, doc);
}

/* content_block_start: the block as a stream starts it, its content left for the deltas. */
static turn_stream_status_t feed_block_start(turn_stream_t *ts, yyjson_val *block, const char *type) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("content_block_start", &root);
    if (!doc) return out_of_memory(ts);
    yyjson_mut_obj_add_uint(doc, root, "index", 0);
    yyjson_mut_val *cb = yyjson_val_mut_copy(doc, block);
    if (!cb) {
        yyjson_mut_doc_free(doc);
        return out_of_memory(ts);
    }
    if (!strcmp(type, "text")) {
        yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "text"), yyjson_mut_str(doc, ""));
    } else if (!strcmp(type, "thinking")) {
        yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "thinking"), yyjson_mut_str(doc, ""));
        yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "signature"), yyjson_mut_str(doc, ""));
    } else if (!strcmp(type, "tool_use")) {
        yyjson_mut_obj_put(cb, yyjson_mut_str(doc, "input"), yyjson_mut_obj(doc));
    }
    yyjson_mut_obj_add_val(doc, root, "content_block", cb);
    return feed_built(ts, doc);
}

/* The block's deltas, past the first `skip` bytes of its text or thinking, then its stop. */
static turn_stream_status_t feed_block_rest(turn_stream_t *ts, yyjson_val *block, const char *type, size_t skip) {
    turn_stream_status_t st = TURN_STREAM_OK;
    bool is_text = !strcmp(type, "text");
    if (is_text || !strcmp(type, "thinking")) {
        yyjson_val *v = yyjson_obj_get(block, is_text ? "text" : "thinking");
        size_t n = yyjson_get_len(v);
        if (yyjson_is_str(v) && n > skip)
            st = feed_delta(ts, is_text ? "text_delta" : "thinking_delta", is_text ? "text" : "thinking",
                            yyjson_get_str(v) + skip, n - skip);
        yyjson_val *sig = yyjson_obj_get(block, "signature");
        if (st == TURN_STREAM_OK && !is_text && yyjson_is_str(sig) && yyjson_get_len(sig))
            st = feed_delta(ts, "signature_delta", "signature", yyjson_get_str(sig), yyjson_get_len(sig));
    } else if (!strcmp(type, "tool_use")) {
        yyjson_val *input = yyjson_obj_get(block, "input");
        size_t n = 0;
        char *json = input ? yyjson_val_write(input, 0, &n) : NULL;
        if (input && !json) return out_of_memory(ts);
        if (json) st = feed_delta(ts, "input_json_delta", "partial_json", json, n);
        free(json);
    }
    if (st != TURN_STREAM_OK) return st;
    return feed_block_stop(ts);
}

static bool has_prefix(const char *s, size_t n, const buf_t *a, const buf_t *b) {
    if (a->len + b->len > n) return false;
    if (a->len && memcmp(s, a->data, a->len) != 0) return false;
    return !b->len || memcmp(s + a->len, b->data, b->len) == 0;
}

/* Whether the retried block continues the block the broken stream left open: its client index, and how
 * many bytes of the retried block that one already got (sent or held back). */
static bool continues_open_block(const turn_stream_t *ts, yyjson_val *block, const char *type, int *index,
                                 size_t *skip) {
    size_t i = ts->block_count;
    while (i > 0 && !ts->blocks[i - 1].is_open) i--;
    if (i == 0 || !type || ts->is_text_given_up) return false; /* what the client got is no longer known */
    const block_t *b = &ts->blocks[i - 1];
    yyjson_val *v;
    if (b->kind == BLOCK_TEXT && !strcmp(type, "text")) v = yyjson_obj_get(block, "text");
    else if (b->kind == BLOCK_THINKING && !strcmp(type, "thinking") && !b->extra.len) v = yyjson_obj_get(block, "thinking");
    else return false;
    if (!yyjson_is_str(v) || !has_prefix(yyjson_get_str(v), yyjson_get_len(v), &b->text, &b->hold)) return false;
    *index = (int)(i - 1);
    *skip = b->text.len + b->hold.len;
    return true;
}

static int64_t usage_int(yyjson_val *usage, const char *key) {
    yyjson_val *v = yyjson_obj_get(usage, key);
    return yyjson_is_int(v) ? yyjson_get_sint(v) : 0;
}

/* A message_start for a turn whose first words come whole. Its usage is counted with the message's
 * blocks (whole_usage), so this one says 0. */
static turn_stream_status_t feed_message_start(turn_stream_t *ts, yyjson_val *message) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("message_start", &root);
    if (!doc) return out_of_memory(ts);
    yyjson_mut_val *m = yyjson_val_mut_copy(doc, message);
    if (!m) {
        yyjson_mut_doc_free(doc);
        return out_of_memory(ts);
    }
    turn__put_start_message(doc, root, m);
    return feed_built(ts, doc);
}

/* The first line of a message given whole: its usage, its start, and the end of the broken stream's
 * open blocks (but the one its first block continues). */
static turn_stream_status_t begin_message(turn_stream_t *ts, yyjson_val *message, const char *id, yyjson_val *first,
                                          int *continued, size_t *skip) {
    char *copy = strdup(id);
    if (!copy) return out_of_memory(ts);
    free(ts->whole_id);
    ts->whole_id = copy;
    yyjson_val *usage = yyjson_obj_get(message, "usage");
    ts->whole_usage.input_tokens += usage_int(usage, "input_tokens");
    ts->whole_usage.output_tokens += usage_int(usage, "output_tokens");
    ts->whole_usage.cache_creation_input_tokens += usage_int(usage, "cache_creation_input_tokens");
    ts->whole_usage.cache_read_input_tokens += usage_int(usage, "cache_read_input_tokens");
    if (!ts->is_started) return feed_message_start(ts, message);
    ts->is_message_open = true;
    *continued = -1;
    int index;
    if (first && continues_open_block(ts, first, yyjson_get_str(yyjson_obj_get(first, "type")), &index, skip))
        *continued = index;
    for (size_t i = 0; i < ts->block_count; i++) {
        if (!ts->blocks[i].is_open || (int)i == *continued) continue;
        map_index0(ts, (int)i);
        turn_stream_status_t st = feed_block_stop(ts); /* releases its held-back text, as at any block stop */
        if (st != TURN_STREAM_OK) return st;
    }
    return TURN_STREAM_OK;
}

static turn_stream_status_t feed_message_end(turn_stream_t *ts, yyjson_val *message) {
    yyjson_val *reason = yyjson_obj_get(message, "stop_reason");
    if (yyjson_is_str(reason)) {
        yyjson_mut_val *root;
        yyjson_mut_doc *doc = turn__event_doc("message_delta", &root);
        if (!doc) return out_of_memory(ts);
        yyjson_mut_val *delta = yyjson_mut_obj_add_obj(doc, root, "delta");
        yyjson_mut_obj_add_val(doc, delta, "stop_reason", yyjson_val_mut_copy(doc, reason));
        yyjson_val *seq = yyjson_obj_get(message, "stop_sequence");
        yyjson_mut_obj_add_val(doc, delta, "stop_sequence", yyjson_is_str(seq) ? yyjson_val_mut_copy(doc, seq)
                                                                                : yyjson_mut_null(doc));
        turn_stream_status_t st = feed_built(ts, doc);
        if (st != TURN_STREAM_OK) return st;
    }
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("message_stop", &root);
    return doc ? feed_built(ts, doc) : out_of_memory(ts);
}

static turn_stream_status_t feed_message(turn_stream_t *ts, yyjson_val *message);

/* The events fed here are built and freed at once, so a long delta's pieces all go now. */
turn_stream_status_t turn_stream_feed_message(turn_stream_t *ts, yyjson_val *message) {
    turn__flush_pieces(ts);
    ts->is_replaying = true;
    turn_stream_status_t st = feed_message(ts, message);
    ts->is_replaying = false;
    return st;
}

static turn_stream_status_t feed_message(turn_stream_t *ts, yyjson_val *message) {
    if (ts->is_cut || ts->is_gone || ts->is_failed || ts->is_finished) return turn__status(ts);
    const char *id = yyjson_get_str(yyjson_obj_get(message, "id"));
    yyjson_val *content = yyjson_obj_get(message, "content");
    if (!id || !yyjson_is_arr(content)) return turn__status(ts);
    bool is_more = ts->whole_id && !strcmp(id, ts->whole_id); /* the next block of a message given whole */
    if (!is_more && ts->streamed_id && !strcmp(id, ts->streamed_id)) return turn__status(ts); /* streamed */
    int continued = -1;
    size_t skip = 0;
    turn_stream_status_t st = TURN_STREAM_OK;
    if (!is_more) st = begin_message(ts, message, id, yyjson_arr_get_first(content), &continued, &skip);
    size_t i, max;
    yyjson_val *block;
    yyjson_arr_foreach(content, i, max, block) {
        if (st != TURN_STREAM_OK) return st;
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        if (!type) continue;
        if (i == 0 && continued >= 0) {
            map_index0(ts, continued);
        } else {
            skip = 0;
            map_index0(ts, -1);
            st = feed_block_start(ts, block, type);
            if (st != TURN_STREAM_OK) return st;
        }
        st = feed_block_rest(ts, block, type, skip);
    }
    if (st != TURN_STREAM_OK) return st;
    return feed_message_end(ts, message);
}
