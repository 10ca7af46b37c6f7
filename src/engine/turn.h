/*
 * turn_stream: turns the CLI's stream events for one turn into the client's stream events.
 *
 * - exactly one message_start (the first upstream message's, usage included); later upstream messages
 *   of the same CLI turn (one per model call) continue the same client message;
 * - content block indexes renumbered from 0 across upstream messages; the CLI's own tools' blocks
 *   (built-in tool_use, server tools) are dropped: the client did not define them and cannot act on
 *   them; "mcp__client__<name>" tool_use blocks become "<name>";
 * - every delta kind passed through (text, thinking, signature, input_json);
 * - stop_sequences: text is held back by (longest sequence - 1) bytes so a sequence split across deltas
 *   is caught before any of it is sent; the text is cut at the first match;
 * - max_tokens: output is estimated at 4 characters (code points) per token, counting text and tool
 *   input JSON (thinking is the CLI's own choice, so it does not use the client's budget); the text is
 *   cut where the estimate reaches max_tokens;
 * - message_delta / message_stop are ours, sent by turn_stream_finish with the final stop_reason and
 *   output_tokens (the CLI's result usage, or the estimate when we cut);
 * - a text or thinking delta longer than TURN_MAX_DELTA_BYTES goes out as several deltas of at most that
 *   (cut between characters), so no single client event is huge. Between two pieces the stream stops when
 *   the consumer is paused (options.is_paused): the rest is pending (turn_stream_has_pending) and goes
 *   out with turn_stream_resume, so a slow client holds at most one piece in its socket queue;
 * - a streamed turn (options.is_streamed) keeps its text and thinking for the final message only up to
 *   TURN_STREAMED_KEEP_BYTES: past that it is given up (the message then carries none, and
 *   turn_stream_kept_all says so) and the rest is streamed through without being kept.
 *
 * Pure (no loop, no I/O): events go to emit(), synchronously. emit() returns false when the consumer
 * went away; the stream then stops emitting (TURN_STREAM_GONE).
 */
#ifndef CWP_ENGINE_TURN_H
#define CWP_ENGINE_TURN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#define TURN_MAX_STOP_SEQUENCES 16
#define TURN_MAX_STOP_SEQUENCE_LEN 1024
#define TURN_MAX_CONTENT_BYTES ((size_t)64 << 20) /* text + tool input kept for the final message */
#define TURN_MAX_DELTA_BYTES ((size_t)1 << 20)     /* text or thinking in one client event (far below the
                                                    * HTTP server's 8 MB write limit, even JSON-escaped) */
#define TURN_STREAMED_KEEP_BYTES ((size_t)4 << 20) /* text + thinking a streamed turn keeps for its message */
#define TURN_CHARS_PER_TOKEN 4
#define TURN_STRUCTURED_TOOL "StructuredOutput" /* the CLI's tool for --json-schema answers */

typedef struct turn_stream_s turn_stream_t;

typedef enum {
    TURN_STREAM_OK,
    TURN_STREAM_CUT,    /* stop sequence or max_tokens reached: interrupt the CLI, then turn_stream_finish */
    TURN_STREAM_GONE,   /* emit() said the consumer went away */
    TURN_STREAM_FAILED, /* more content than TURN_MAX_CONTENT_BYTES, or out of memory */
} turn_stream_status_t;

typedef struct {
    const char *const *stop_sequences; /* copied */
    size_t stop_count;
    int64_t max_tokens;                /* <= 0: no limit */
    const char *model;                 /* for a message_start we have to make up; copied */
    /* A json_schema turn: the CLI's StructuredOutput tool_use is the answer, so it is passed on (under
     * TURN_STRUCTURED_TOOL) instead of dropped with the CLI's other tools. */
    bool has_structured_output;
    /* The consumer took every delta as it came and needs no text or thinking in the final message (it still
     * gets them up to TURN_STREAMED_KEEP_BYTES, for the conversation's fingerprint). */
    bool is_streamed;
    bool (*emit)(void *arg, yyjson_val *event);
    /* Optional: true when the consumer wants no more events for now (back-pressure): a delta being sent in
     * pieces stops there until turn_stream_resume. */
    bool (*is_paused)(void *arg);
    void *arg;
} turn_stream_options_t;

turn_stream_t *turn_stream_new(const turn_stream_options_t *opts);
void turn_stream_free(turn_stream_t *ts);

/* One CLI stream event (the "event" of a stream_event line). It may be modified in place. When it returns
 * with turn_stream_has_pending, part of the event's text is still to go: the caller keeps the event's
 * document alive and feeds nothing more until turn_stream_resume has sent the rest. */
turn_stream_status_t turn_stream_feed(turn_stream_t *ts, yyjson_val *event);
/* The rest of a delta cut in pieces, once the consumer is ready again (may stop again when it pauses).
 * The status is the one the feed would have returned (CUT when a cut waited for the last piece). */
turn_stream_status_t turn_stream_resume(turn_stream_t *ts);
bool turn_stream_has_pending(const turn_stream_t *ts);
/* The caller frees what the pending rest is in (the turn is abandoned): forget it, send nothing more of it. */
void turn_stream_drop_pending(turn_stream_t *ts);

/*
 * One assistant line's message (parent_tool_use_id null). A message that came as stream events is
 * ignored; one that never did (the CLI's non-streaming retry after a broken stream: same turn, new id,
 * one line per content block) is fed as if streamed: see turn_retry.c.
 */
turn_stream_status_t turn_stream_feed_message(turn_stream_t *ts, yyjson_val *message);

/*
 * End the client's message: close open blocks, message_delta, message_stop. result_usage is the CLI's
 * result line "usage" (NULL when we cut the turn: estimates are used). Returns the assembled message
 * (the caller frees the doc), NULL when out of memory. *status is GONE if the consumer left meanwhile.
 */
yyjson_doc *turn_stream_finish(turn_stream_t *ts, yyjson_val *result_usage, turn_stream_status_t *status);

bool turn_stream_has_started(const turn_stream_t *ts); /* message_start sent */
bool turn_stream_is_cut(const turn_stream_t *ts);
/* The latest upstream message has ended (its stop_reason or message_stop came): every block it holds,
 * tool_use input included, is complete. */
bool turn_stream_at_message_end(const turn_stream_t *ts);
const char *turn_stream_stop_reason(const turn_stream_t *ts); /* NULL until known */
int64_t turn_stream_output_estimate(const turn_stream_t *ts);
/* Bytes of text and tool input kept for the final message (at most TURN_MAX_CONTENT_BYTES). */
size_t turn_stream_kept_bytes(const turn_stream_t *ts);
/* Bytes of text, thinking and tool input the turn carried, kept or streamed through. */
size_t turn_stream_content_bytes(const turn_stream_t *ts);
/* The final message holds all the text the client got (false once a streamed turn gave its text up). */
bool turn_stream_kept_all(const turn_stream_t *ts);

#endif
