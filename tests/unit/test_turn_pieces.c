/* turn_stream: a long text or thinking delta goes out in bounded pieces, waits for a paused consumer, and a
 * streamed turn gives its text up past TURN_STREAMED_KEEP_BYTES. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/turn.h"
#include "util/buf.h"
#include "util/utf8.h"

typedef struct {
    buf_t text;          /* every text/thinking delta the client got, in order */
    int deltas;          /* content_block_delta events */
    size_t largest;      /* the longest delta's text */
    bool is_pause_after_each; /* the consumer is paused after every event (a congested socket) */
    bool is_paused;
    int stops;           /* content_block_stop events */
} sink_t;

static bool on_emit(void *arg, yyjson_val *event) {
    sink_t *s = arg;
    const char *type = yyjson_get_str(yyjson_obj_get(event, "type"));
    if (type && !strcmp(type, "content_block_delta")) {
        yyjson_val *delta = yyjson_obj_get(event, "delta");
        yyjson_val *t = yyjson_obj_get(delta, "text");
        if (!t) t = yyjson_obj_get(delta, "thinking");
        assert_true(yyjson_is_str(t));
        assert_true(utf8_is_valid(yyjson_get_str(t), yyjson_get_len(t))); /* never a character cut in two */
        assert_int_equal(buf_append(&s->text, yyjson_get_str(t), yyjson_get_len(t)), 0);
        if (yyjson_get_len(t) > s->largest) s->largest = yyjson_get_len(t);
        s->deltas++;
    }
    if (type && !strcmp(type, "content_block_stop")) s->stops++;
    if (s->is_pause_after_each) s->is_paused = true;
    return true;
}

static bool is_paused(void *arg) { return ((sink_t *)arg)->is_paused; }

static turn_stream_t *make(sink_t *s, bool is_streamed, const char *stop, int64_t max_tokens) {
    buf_init(&s->text, 0);
    const char *stops[] = {stop};
    turn_stream_options_t o = {.stop_sequences = stops, .stop_count = stop ? 1 : 0, .max_tokens = max_tokens,
                               .model = "claude-test", .emit = on_emit, .is_paused = is_paused, .arg = s,
                               .is_streamed = is_streamed};
    return turn_stream_new(&o);
}

static turn_stream_status_t feed_json(turn_stream_t *ts, const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    turn_stream_status_t st = turn_stream_feed(ts, yyjson_doc_get_root(doc));
    yyjson_doc_free(doc);
    return st;
}

/* A delta event holding text (or thinking) as one string; the caller keeps the doc while it is pending. */
static yyjson_doc *delta_doc(const char *text, size_t len, bool is_thinking) {
    yyjson_mut_doc *m = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(m), *d = yyjson_mut_obj(m);
    yyjson_mut_doc_set_root(m, root);
    yyjson_mut_obj_add_str(m, root, "type", "content_block_delta");
    yyjson_mut_obj_add_int(m, root, "index", 0);
    yyjson_mut_obj_add_str(m, d, "type", is_thinking ? "thinking_delta" : "text_delta");
    yyjson_mut_obj_add_strn(m, d, is_thinking ? "thinking" : "text", text, len);
    yyjson_mut_obj_add_val(m, root, "delta", d);
    yyjson_doc *doc = yyjson_mut_doc_imut_copy(m, NULL);
    yyjson_mut_doc_free(m);
    return doc;
}

/* len bytes of text mixing 1-, 2-, 3- and 4-byte characters, so that piece ends fall inside characters. */
static char *mixed_text(size_t len) {
    static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80", "b"};
    char *t = malloc(len + 1);
    size_t at = 0;
    for (int i = 0; at < len; i++) {
        const char *c = chars[i % 5];
        size_t n = strlen(c);
        if (at + n > len) c = "z", n = 1;
        memcpy(t + at, c, n);
        at += n;
    }
    t[len] = '\0';
    return t;
}

#define START "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\"," \
              "\"model\":\"claude-test\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}"
#define TEXT_START "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"
#define THINKING_START "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\"," \
                       "\"thinking\":\"\",\"signature\":\"\"}}"
#define STOP "{\"type\":\"content_block_stop\",\"index\":0}"

/* The message's first block's text (or thinking), from the finished message. */
static size_t message_text_len(turn_stream_t *ts, const char *key) {
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
    assert_non_null(msg);
    size_t n = yyjson_get_len(yyjson_obj_get(yyjson_arr_get_first(yyjson_obj_get(yyjson_doc_get_root(msg), "content")), key));
    yyjson_doc_free(msg);
    return n;
}

/* Without stop sequences or max_tokens (the pass-through path) and with them (the held-back path). */
static void a_long_delta_goes_out_in_pieces_cut_between_characters(void **state) {
    size_t len = 2 * TURN_MAX_DELTA_BYTES + 12345;
    char *text = mixed_text(len);
    for (int with_limits = 0; with_limits < 2; with_limits++) {
        sink_t s = {0};
        turn_stream_t *ts = make(&s, false, with_limits ? "NEVER" : NULL, with_limits ? 100000000 : 0);
        assert_int_equal(feed_json(ts, START), TURN_STREAM_OK);
        assert_int_equal(feed_json(ts, TEXT_START), TURN_STREAM_OK);
        yyjson_doc *d = delta_doc(text, len, false);
        assert_int_equal(turn_stream_feed(ts, yyjson_doc_get_root(d)), TURN_STREAM_OK);
        assert_false(turn_stream_has_pending(ts));
        yyjson_doc_free(d);
        assert_int_equal(feed_json(ts, STOP), TURN_STREAM_OK);
        /* the held-back tail of the stop-sequence path goes at the block's stop */
        assert_int_equal(s.text.len, len);
        assert_memory_equal(s.text.data, text, len);
        assert_true(s.deltas >= 3);
        assert_true(s.largest <= TURN_MAX_DELTA_BYTES);
        assert_true(turn_stream_kept_all(ts));
        assert_int_equal(message_text_len(ts, "text"), len); /* not streamed: kept whole */
        turn_stream_free(ts);
        buf_free(&s.text);
    }
    free(text);
}

static void thinking_goes_out_in_pieces_too(void **state) {
    size_t len = TURN_MAX_DELTA_BYTES + 7;
    char *text = mixed_text(len);
    sink_t s = {0};
    turn_stream_t *ts = make(&s, false, NULL, 0);
    feed_json(ts, START);
    feed_json(ts, THINKING_START);
    yyjson_doc *d = delta_doc(text, len, true);
    assert_int_equal(turn_stream_feed(ts, yyjson_doc_get_root(d)), TURN_STREAM_OK);
    yyjson_doc_free(d);
    assert_int_equal(s.deltas, 2);
    assert_int_equal(s.text.len, len);
    assert_memory_equal(s.text.data, text, len);
    assert_int_equal(message_text_len(ts, "thinking"), len);
    turn_stream_free(ts);
    buf_free(&s.text);
    free(text);
}

/* A congested consumer gets one piece per resume; nothing else is sent in between. */
static void pieces_wait_for_a_paused_consumer(void **state) {
    size_t len = 3 * TURN_MAX_DELTA_BYTES + 1;
    char *text = mixed_text(len);
    sink_t s = {.is_pause_after_each = true};
    turn_stream_t *ts = make(&s, true, NULL, 0);
    feed_json(ts, START);
    feed_json(ts, TEXT_START);
    s.is_paused = false;
    yyjson_doc *d = delta_doc(text, len, false);
    assert_int_equal(turn_stream_feed(ts, yyjson_doc_get_root(d)), TURN_STREAM_OK);
    assert_int_equal(s.deltas, 1);
    int resumes = 0;
    while (turn_stream_has_pending(ts)) {
        assert_int_equal(turn_stream_resume(ts), TURN_STREAM_OK); /* still paused: nothing goes */
        assert_int_equal(s.deltas, resumes + 1);
        s.is_paused = false;
        assert_int_equal(turn_stream_resume(ts), TURN_STREAM_OK);
        resumes++;
        assert_int_equal(s.deltas, resumes + 1);
    }
    yyjson_doc_free(d);
    assert_int_equal(resumes, 3);
    assert_int_equal(s.text.len, len);
    assert_memory_equal(s.text.data, text, len);
    turn_stream_free(ts);
    buf_free(&s.text);
    free(text);
}

/* A stop sequence inside a long delta: the text before it goes in pieces, and the cut comes after the last. */
static void a_cut_inside_a_long_delta_waits_for_its_last_piece(void **state) {
    size_t len = 2 * TURN_MAX_DELTA_BYTES + 100;
    char *text = mixed_text(len);
    size_t at = 2 * TURN_MAX_DELTA_BYTES - 10;
    while (((unsigned char)text[at] & 0xc0) == 0x80) at--; /* the sequence starts a character */
    memcpy(text + at, "STOP", 4);
    sink_t s = {.is_pause_after_each = true};
    turn_stream_t *ts = make(&s, true, "STOP", 0);
    feed_json(ts, START);
    feed_json(ts, TEXT_START);
    s.is_paused = false;
    yyjson_doc *d = delta_doc(text, len, false);
    assert_int_equal(turn_stream_feed(ts, yyjson_doc_get_root(d)), TURN_STREAM_OK);
    assert_true(turn_stream_has_pending(ts));
    assert_false(turn_stream_is_cut(ts));
    s.is_paused = false;
    assert_int_equal(turn_stream_resume(ts), TURN_STREAM_CUT);
    assert_false(turn_stream_has_pending(ts));
    yyjson_doc_free(d);
    assert_string_equal(turn_stream_stop_reason(ts), "stop_sequence");
    assert_int_equal(s.text.len, at); /* everything before the sequence, nothing of it */
    assert_memory_equal(s.text.data, text, s.text.len);
    turn_stream_free(ts);
    buf_free(&s.text);
    free(text);
}

/* A streamed turn keeps its text while it is short (the session fingerprints it), and gives all of it up
 * once it passes TURN_STREAMED_KEEP_BYTES: the client still gets every byte. */
static void a_streamed_turn_gives_its_text_up_past_the_keep_bound(void **state) {
    size_t small = 1000, big = TURN_STREAMED_KEEP_BYTES;
    char *text = mixed_text(big);
    for (int is_long = 0; is_long < 2; is_long++) {
        sink_t s = {0};
        turn_stream_t *ts = make(&s, true, NULL, 0);
        feed_json(ts, START);
        feed_json(ts, TEXT_START);
        yyjson_doc *d = delta_doc(text, small, false);
        turn_stream_feed(ts, yyjson_doc_get_root(d));
        yyjson_doc_free(d);
        if (is_long) {
            d = delta_doc(text, big, false); /* small + big > the bound */
            turn_stream_feed(ts, yyjson_doc_get_root(d));
            yyjson_doc_free(d);
        }
        feed_json(ts, STOP);
        assert_int_equal(s.text.len, small + (is_long ? big : 0));
        assert_int_equal(turn_stream_kept_all(ts), !is_long);
        assert_int_equal(turn_stream_content_bytes(ts), small + (is_long ? big : 0));
        assert_true(turn_stream_kept_bytes(ts) == (is_long ? 0 : small));
        assert_int_equal(message_text_len(ts, "text"), is_long ? 0 : small);
        turn_stream_free(ts);
        buf_free(&s.text);
    }
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_long_delta_goes_out_in_pieces_cut_between_characters),
        cmocka_unit_test(thinking_goes_out_in_pieces_too),
        cmocka_unit_test(pieces_wait_for_a_paused_consumer),
        cmocka_unit_test(a_cut_inside_a_long_delta_waits_for_its_last_piece),
        cmocka_unit_test(a_streamed_turn_gives_its_text_up_past_the_keep_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
