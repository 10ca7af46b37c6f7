/* turn_stream's state, shared by turn.c (stream events) and turn_retry.c (messages that were never streamed). */
#ifndef CWP_ENGINE_TURN_INTERNAL_H
#define CWP_ENGINE_TURN_INTERNAL_H
#include "engine/turn.h"
#include "util/buf.h"

typedef enum { BLOCK_TEXT, BLOCK_THINKING, BLOCK_TOOL_USE, BLOCK_OTHER } block_kind_t;

typedef struct {
    block_kind_t kind;
    bool is_open;
    /* The CLI stopped it, but its content_block_stop waits for what comes next: a message_stop without a
     * message_delta (2.1.332's broken stream) leaves it open for the retried answer to continue. */
    bool is_stop_pending;
    buf_t text;  /* text or thinking, as sent to the client */
    buf_t extra; /* signature (thinking) or partial JSON (tool_use) */
    buf_t hold;  /* text held back while a stop sequence could still be forming */
    yyjson_mut_val *obj; /* the block in msg_doc, from its content_block_start */
} block_t;

/* A text or thinking delta going out in pieces (turn_pieces.c). */
typedef struct {
    const char *rest;  /* what is still to send: in the event the caller keeps, or in turn_stream's scratch */
    size_t rest_len;
    int index;         /* the client block */
    bool is_thinking;
    const char *cut_reason, *cut_sequence; /* a cut to make once the last piece is out (static / ts->stops) */
} pieces_t;

/* Usage of the messages the CLI gave whole (its result line does not count them). */
typedef struct {
    int64_t input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens;
} turn_usage_t;

struct turn_stream_s {
    char *stops[TURN_MAX_STOP_SEQUENCES];
    size_t stop_lens[TURN_MAX_STOP_SEQUENCES];
    size_t stop_count, stop_max_len;
    int64_t max_tokens;
    bool has_structured_output;
    bool is_streamed;
    bool (*is_paused)(void *arg);
    int64_t budget_chars; /* < 0: no limit */
    int64_t out_chars;
    char *model;
    bool (*emit)(void *arg, yyjson_val *event);
    void *arg;

    bool is_started, is_cut, is_gone, is_failed, is_finished;
    bool is_message_open; /* an upstream message started and has not said how it stopped */
    int *index_map; /* upstream index → client index, -1 = dropped */
    size_t map_len;
    block_t *blocks;
    size_t block_count, block_cap;
    size_t content_bytes;      /* kept for the final message */
    size_t kept_text_bytes;    /* of which text and thinking */
    size_t seen_bytes;         /* carried, kept or not */
    bool is_text_given_up;     /* a streamed turn's text and thinking are no longer kept */
    bool is_replaying;         /* turn_stream_feed_message runs: its events are ours, freed at once */
    pieces_t pieces;
    char *stop_reason, *stop_sequence;
    int64_t delta_output_tokens;
    yyjson_mut_doc *msg_doc;
    yyjson_mut_val *msg;
    buf_t scratch;

    char *streamed_id; /* the latest message_start's message id */
    char *whole_id;    /* the latest message fed whole by turn_stream_feed_message */
    turn_usage_t whole_usage;
};

/* turn.c: emit an event we built (takes doc); make a cut. */
bool turn__emit_built(turn_stream_t *ts, yyjson_mut_doc *doc);
void turn__cut(turn_stream_t *ts, const char *reason, const char *sequence);
/* turn_pieces.c: send s[0, n) as the text (or thinking) deltas of client block index, in pieces of at most
 * TURN_MAX_DELTA_BYTES; then cut (cut_reason, may be NULL). Stops between pieces when the consumer pauses
 * (s must then stay valid until the rest is sent: see turn_stream_has_pending). */
turn_stream_status_t turn__send_pieces(turn_stream_t *ts, int index, bool is_thinking, const char *s, size_t n,
                                       const char *cut_reason, const char *cut_sequence);
/* Send what is pending without stopping (before anything else happens to the stream). */
void turn__flush_pieces(turn_stream_t *ts);

static inline turn_stream_status_t turn__status(const turn_stream_t *ts) {
    if (ts->is_failed) return TURN_STREAM_FAILED;
    if (ts->is_gone) return TURN_STREAM_GONE;
    if (ts->is_cut) return TURN_STREAM_CUT;
    return TURN_STREAM_OK;
}

/* A new event {"type": type}; NULL when out of memory. */
static inline yyjson_mut_doc *turn__event_doc(const char *type, yyjson_mut_val **root) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, *root);
    yyjson_mut_obj_add_str(doc, *root, "type", type);
    return doc;
}

/* Make m (a copy of a message, in doc) the empty message a message_start event carries, and add it to root. */
static inline void turn__put_start_message(yyjson_mut_doc *doc, yyjson_mut_val *root, yyjson_mut_val *m) {
    yyjson_mut_obj_put(m, yyjson_mut_str(doc, "content"), yyjson_mut_arr(doc));
    yyjson_mut_obj_put(m, yyjson_mut_str(doc, "stop_reason"), yyjson_mut_null(doc));
    yyjson_mut_obj_put(m, yyjson_mut_str(doc, "stop_sequence"), yyjson_mut_null(doc));
    yyjson_mut_val *usage = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_int(doc, usage, "input_tokens", 0);
    yyjson_mut_obj_add_int(doc, usage, "output_tokens", 0);
    yyjson_mut_obj_put(m, yyjson_mut_str(doc, "usage"), usage);
    yyjson_mut_obj_add_val(doc, root, "message", m);
}

#endif
