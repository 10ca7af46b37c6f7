/*
 * A text or thinking delta too long for one client event goes out as several, each at most
 * TURN_MAX_DELTA_BYTES and cut between characters. The client's SSE writer queues what its socket does not
 * take at once and drops a client whose queue passes the HTTP server's write limit, so the pieces must not
 * all go at once either: between two pieces the stream stops as soon as the consumer says it is paused
 * (its socket is congested), and turn_stream_resume sends the rest once it drains.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/turn_internal.h"
#include "util/utf8.h"

static bool emit_piece(turn_stream_t *ts, const pieces_t *p, const char *s, size_t n) {
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = turn__event_doc("content_block_delta", &root);
    if (!doc) {
        ts->is_failed = true;
        return false;
    }
    yyjson_mut_obj_add_int(doc, root, "index", p->index);
    yyjson_mut_val *delta = yyjson_mut_obj_add_obj(doc, root, "delta");
    yyjson_mut_obj_add_str(doc, delta, "type", p->is_thinking ? "thinking_delta" : "text_delta");
    yyjson_mut_obj_add_strn(doc, delta, p->is_thinking ? "thinking" : "text", s, n); /* copied by emit_built */
    return turn__emit_built(ts, doc);
}

static bool is_consumer_paused(const turn_stream_t *ts) {
    return ts->is_paused && !ts->is_replaying && ts->is_paused(ts->arg);
}

/* Send pieces until none is left, the consumer left, or (may_stop) it paused. */
static turn_stream_status_t send_rest(turn_stream_t *ts, bool may_stop) {
    pieces_t *p = &ts->pieces;
    while (p->rest_len > 0 && !ts->is_gone && !ts->is_failed) {
        if (may_stop && is_consumer_paused(ts)) return turn__status(ts);
        size_t n = utf8_piece_len(p->rest, p->rest_len, TURN_MAX_DELTA_BYTES);
        const char *s = p->rest;
        p->rest += n;
        p->rest_len -= n;
        emit_piece(ts, p, s, n);
    }
    const char *reason = p->cut_reason, *sequence = p->cut_sequence;
    *p = (pieces_t){0};
    if (reason && !ts->is_gone && !ts->is_failed) turn__cut(ts, reason, sequence);
    return turn__status(ts);
}

turn_stream_status_t turn__send_pieces(turn_stream_t *ts, int index, bool is_thinking, const char *s, size_t n,
                                       const char *cut_reason, const char *cut_sequence) {
    turn__flush_pieces(ts); /* never two at once; the caller feeds nothing while one is pending */
    ts->pieces = (pieces_t){.rest = s, .rest_len = n, .index = index, .is_thinking = is_thinking,
                            .cut_reason = cut_reason, .cut_sequence = cut_sequence};
    /* The first piece always goes: the event that brought the delta asked for it. */
    size_t first = utf8_piece_len(s, n, TURN_MAX_DELTA_BYTES);
    ts->pieces.rest += first;
    ts->pieces.rest_len -= first;
    if (!emit_piece(ts, &ts->pieces, s, first)) {
        ts->pieces = (pieces_t){0};
        return turn__status(ts);
    }
    return send_rest(ts, true);
}

void turn__flush_pieces(turn_stream_t *ts) {
    if (ts->pieces.rest_len || ts->pieces.cut_reason) send_rest(ts, false);
}

turn_stream_status_t turn_stream_resume(turn_stream_t *ts) {
    if (!ts->pieces.rest_len && !ts->pieces.cut_reason) return turn__status(ts);
    return send_rest(ts, true);
}

bool turn_stream_has_pending(const turn_stream_t *ts) { return ts && ts->pieces.rest_len > 0; }

void turn_stream_drop_pending(turn_stream_t *ts) {
    if (ts) ts->pieces = (pieces_t){0};
}
