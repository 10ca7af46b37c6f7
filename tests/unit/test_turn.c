/* turn_stream: the CLI's events → the client's events (indexes, stop sequences, max_tokens, the message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/turn.h"

typedef struct {
    char *events[128];
    int count;
    bool is_gone_after_first;
} sink_t;

static bool on_emit(void *arg, yyjson_val *event) {
    sink_t *s = arg;
    s->events[s->count++] = yyjson_val_write(event, 0, NULL);
    return !(s->is_gone_after_first && s->count == 1);
}

static void sink_free(sink_t *s) {
    for (int i = 0; i < s->count; i++) free(s->events[i]);
}

static turn_stream_status_t feed(turn_stream_t *ts, const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    turn_stream_status_t st = turn_stream_feed(ts, yyjson_doc_get_root(doc));
    yyjson_doc_free(doc);
    return st;
}

static turn_stream_t *make(sink_t *s, const char *const *stops, size_t n, int64_t max_tokens) {
    turn_stream_options_t o = {.stop_sequences = stops, .stop_count = n, .max_tokens = max_tokens,
                               .model = "claude-test", .emit = on_emit, .arg = s};
    return turn_stream_new(&o);
}

#define START "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\"," \
              "\"model\":\"claude-test\",\"content\":[],\"usage\":{\"input_tokens\":11,\"output_tokens\":1,"          \
              "\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":2}}}"
#define TEXT_START(i) "{\"type\":\"content_block_start\",\"index\":" #i ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"
#define TEXT(i, t) "{\"type\":\"content_block_delta\",\"index\":" #i ",\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}"
#define STOP(i) "{\"type\":\"content_block_stop\",\"index\":" #i "}"
#define DELTA(reason, n) "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" reason "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" #n "}}"
#define MSG_STOP "{\"type\":\"message_stop\"}"

/* The text the client saw, from the emitted deltas. */
static char *streamed(sink_t *s) {
    static char out[4096];
    out[0] = '\0';
    for (int i = 0; i < s->count; i++) {
        yyjson_doc *d = yyjson_read(s->events[i], strlen(s->events[i]), 0);
        yyjson_val *delta = yyjson_obj_get(yyjson_doc_get_root(d), "delta");
        const char *t = yyjson_get_str(yyjson_obj_get(delta, "text"));
        if (t) strcat(out, t);
        yyjson_doc_free(d);
    }
    return out;
}

static int count_type(sink_t *s, const char *type) {
    char needle[64];
    snprintf(needle, sizeof needle, "{\"type\":\"%s\"", type);
    int n = 0;
    for (int i = 0; i < s->count; i++) n += strncmp(s->events[i], needle, strlen(needle)) == 0;
    return n;
}

static void indexes_continue_across_upstream_messages(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    const char *lines[] = {START, TEXT_START(0), TEXT(0, "Hi"), STOP(0), DELTA("tool_use", 2), MSG_STOP,
                           START, TEXT_START(0), TEXT(0, " there"), STOP(0), DELTA("end_turn", 3), MSG_STOP};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) assert_int_equal(feed(ts, lines[i]), TURN_STREAM_OK);
    const char *u_json = "{\"input_tokens\":22,\"output_tokens\":5,\"cache_read_input_tokens\":6,"
                         "\"cache_creation_input_tokens\":4}";
    yyjson_doc *usage = yyjson_read(u_json, strlen(u_json), 0);
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, yyjson_doc_get_root(usage), &st);
    assert_int_equal(st, TURN_STREAM_OK);
    assert_int_equal(count_type(&s, "message_start"), 1);
    assert_int_equal(count_type(&s, "message_delta"), 1);
    assert_int_equal(count_type(&s, "message_stop"), 1);
    assert_string_equal(s.events[1], TEXT_START(0));
    assert_string_equal(s.events[4], TEXT_START(1)); /* the second message's block 0 is the client's 1 */
    assert_string_equal(s.events[5], TEXT(1, " there"));
    assert_string_equal(s.events[6], STOP(1));
    assert_string_equal(s.events[7], "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
                                     "\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}");
    yyjson_val *m = yyjson_doc_get_root(msg);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "id")), "msg_1");
    assert_int_equal(yyjson_arr_size(yyjson_obj_get(m, "content")), 2);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(m, "content"), 1), "text")), " there");
    yyjson_val *u = yyjson_obj_get(m, "usage");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "input_tokens")), 22);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "output_tokens")), 5);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "cache_read_input_tokens")), 6);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "stop_reason")), "end_turn");
    yyjson_doc_free(msg);
    yyjson_doc_free(usage);
    turn_stream_free(ts);
    sink_free(&s);
}

static void cli_tools_are_dropped_and_client_tools_renamed(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    const char *lines[] = {
        START,
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t0\",\"name\":\"Bash\",\"input\":{}}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}",
        STOP(0), DELTA("tool_use", 1), MSG_STOP, START, TEXT_START(0), TEXT(0, "ok"), STOP(0),
        "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\","
        "\"name\":\"mcp__client__get_weather\",\"input\":{}}}",
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}",
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Oslo\\\"}\"}}",
        STOP(1), DELTA("tool_use", 4), MSG_STOP,
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) assert_int_equal(feed(ts, lines[i]), TURN_STREAM_OK);
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
    for (int i = 0; i < s.count; i++) assert_null(strstr(s.events[i], "Bash"));
    assert_string_equal(s.events[1], TEXT_START(0));
    assert_string_equal(s.events[4], "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
                                     "\"tool_use\",\"id\":\"t1\",\"name\":\"get_weather\",\"input\":{}}}");
    yyjson_val *content = yyjson_obj_get(yyjson_doc_get_root(msg), "content");
    assert_int_equal(yyjson_arr_size(content), 2);
    yyjson_val *tool = yyjson_arr_get(content, 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(tool, "name")), "get_weather");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(tool, "input"), "city")), "Oslo");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(msg), "stop_reason")), "tool_use");
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

static void structured_output_is_kept_only_for_a_json_schema_turn(void **state) {
    const char *lines[] = {
        START,
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t0\","
        "\"name\":\"StructuredOutput\",\"input\":{}}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}",
        STOP(0), DELTA("tool_use", 1), MSG_STOP,
    };
    for (int is_structured = 0; is_structured < 2; is_structured++) {
        sink_t s = {0};
        turn_stream_options_t o = {.model = "claude-test", .emit = on_emit, .arg = &s,
                                   .has_structured_output = is_structured};
        turn_stream_t *ts = turn_stream_new(&o);
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) assert_int_equal(feed(ts, lines[i]), TURN_STREAM_OK);
        turn_stream_status_t st;
        yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
        yyjson_val *content = yyjson_obj_get(yyjson_doc_get_root(msg), "content");
        if (is_structured) {
            assert_int_equal(yyjson_arr_size(content), 1);
            yyjson_val *block = yyjson_arr_get(content, 0);
            assert_string_equal(yyjson_get_str(yyjson_obj_get(block, "name")), "StructuredOutput");
            assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(block, "input"), "a")), 1);
        } else {
            assert_int_equal(yyjson_arr_size(content), 0);
            for (int i = 0; i < s.count; i++) assert_null(strstr(s.events[i], "StructuredOutput"));
        }
        yyjson_doc_free(msg);
        turn_stream_free(ts);
        sink_free(&s);
    }
}

static void stop_sequence_split_across_deltas_is_caught_before_sending(void **state) {
    sink_t s = {0};
    const char *stops[] = {"END", "NEVER"};
    turn_stream_t *ts = make(&s, stops, 2, 0);
    assert_int_equal(feed(ts, START), TURN_STREAM_OK);
    assert_int_equal(feed(ts, TEXT_START(0)), TURN_STREAM_OK);
    assert_int_equal(feed(ts, TEXT(0, "abc E")), TURN_STREAM_OK);
    /* "abc E" minus the hold-back (longest sequence 5 → 4 bytes): only "a" may go */
    assert_string_equal(streamed(&s), "a");
    assert_int_equal(feed(ts, TEXT(0, "ND more")), TURN_STREAM_CUT);
    assert_string_equal(streamed(&s), "abc ");
    assert_int_equal(feed(ts, TEXT(0, "ignored")), TURN_STREAM_CUT);
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
    assert_string_equal(streamed(&s), "abc ");
    assert_string_equal(s.events[s.count - 3], STOP(0));
    assert_non_null(strstr(s.events[s.count - 2], "\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\""));
    yyjson_val *m = yyjson_doc_get_root(msg);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "stop_reason")), "stop_sequence");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "stop_sequence")), "END");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(m, "content"), 0), "text")), "abc ");
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

static void held_back_text_is_released_at_block_stop(void **state) {
    sink_t s = {0};
    const char *stops[] = {"XYZ"};
    turn_stream_t *ts = make(&s, stops, 1, 0);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    feed(ts, TEXT(0, "hello"));
    feed(ts, TEXT(0, "wor"));
    assert_string_equal(streamed(&s), "hellow");
    feed(ts, STOP(0));
    assert_string_equal(streamed(&s), "hellowor");
    feed(ts, DELTA("end_turn", 2)); /* the block stop waits for what follows (a retry may continue it) */
    assert_string_equal(s.events[s.count - 1], STOP(0));
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(msg), "stop_reason")), "end_turn");
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

static void utf8_is_never_split_by_the_hold_back(void **state) {
    sink_t s = {0};
    const char *stops[] = {"zz"};
    turn_stream_t *ts = make(&s, stops, 1, 0);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    feed(ts, TEXT(0, "a\xC3\xA9")); /* hold back 1 byte would split é: 2 are held */
    assert_string_equal(streamed(&s), "a");
    feed(ts, TEXT(0, "b"));
    assert_string_equal(streamed(&s), "a\xC3\xA9");
    turn_stream_free(ts);
    sink_free(&s);
}

static void max_tokens_cuts_the_text_at_four_characters_per_token(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 2);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    assert_int_equal(feed(ts, TEXT(0, "abcdef")), TURN_STREAM_OK);
    assert_int_equal(feed(ts, TEXT(0, "ghijkl")), TURN_STREAM_CUT);
    assert_string_equal(streamed(&s), "abcdefgh");
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
    yyjson_val *m = yyjson_doc_get_root(msg);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "stop_reason")), "max_tokens");
    assert_true(yyjson_is_null(yyjson_obj_get(m, "stop_sequence")));
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(m, "usage"), "output_tokens")), 2);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(m, "usage"), "input_tokens")), 11);
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

/* 2^62 tokens is 2^64 characters: the budget must not wrap around to 0 and cut every block. */
static void huge_max_tokens_is_no_limit(void **state) {
    (void)state;
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, INT64_C(1) << 62);
    assert_int_equal(feed(ts, START), TURN_STREAM_OK);
    assert_int_equal(feed(ts, TEXT_START(0)), TURN_STREAM_OK);
    assert_int_equal(feed(ts, TEXT(0, "abcdef")), TURN_STREAM_OK);
    assert_string_equal(streamed(&s), "abcdef");
    turn_stream_free(ts);
    sink_free(&s);
}

static void a_consumer_that_left_stops_the_stream(void **state) {
    sink_t s = {.is_gone_after_first = true};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    assert_int_equal(feed(ts, START), TURN_STREAM_GONE);
    assert_int_equal(feed(ts, TEXT_START(0)), TURN_STREAM_GONE);
    assert_int_equal(s.count, 1);
    turn_stream_free(ts);
    sink_free(&s);
}

static void a_turn_without_stream_events_still_makes_a_whole_message(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, NULL, &st);
    assert_non_null(msg);
    assert_int_equal(count_type(&s, "message_start"), 1);
    assert_int_equal(count_type(&s, "message_stop"), 1);
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

/* ---- a message the CLI gives whole (its non-streaming retry after a broken stream) ---- */

#define WHOLE(id, blocks, reason)                                                                          \
    "{\"id\":\"" id "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\",\"content\":[" \
    blocks "],\"stop_reason\":" reason ",\"usage\":{\"input_tokens\":11,\"output_tokens\":14,"             \
    "\"cache_creation_input_tokens\":2,\"cache_read_input_tokens\":3}}"
#define TEXT_BLOCK(t) "{\"type\":\"text\",\"text\":\"" t "\"}"
#define ZERO_USAGE "{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}"

static turn_stream_status_t feed_message(turn_stream_t *ts, const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    turn_stream_status_t st = turn_stream_feed_message(ts, yyjson_doc_get_root(doc));
    yyjson_doc_free(doc);
    return st;
}

static yyjson_doc *finish_with(turn_stream_t *ts, const char *usage_json) {
    yyjson_doc *usage = yyjson_read(usage_json, strlen(usage_json), 0);
    turn_stream_status_t st;
    yyjson_doc *msg = turn_stream_finish(ts, yyjson_doc_get_root(usage), &st);
    yyjson_doc_free(usage);
    assert_int_equal(st, TURN_STREAM_OK);
    assert_non_null(msg);
    return msg;
}

static const char *block_text(yyjson_val *m, size_t i) {
    return yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(m, "content"), i), "text"));
}

static void a_retried_answer_continues_the_block_the_broken_stream_left_open(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    feed(ts, TEXT(0, "m1 m2 "));
    /* The broken stream's own assistant line would carry its id: its stream events already said it all. */
    assert_int_equal(feed_message(ts, WHOLE("msg_1", TEXT_BLOCK("m1 m2 m3 m4 "), "null")), TURN_STREAM_OK);
    assert_int_equal(s.count, 3);
    assert_false(turn_stream_at_message_end(ts));
    assert_int_equal(feed_message(ts, WHOLE("msg_2", TEXT_BLOCK("m1 m2 m3 m4 "), "\"end_turn\"")), TURN_STREAM_OK);
    assert_true(turn_stream_at_message_end(ts));
    assert_int_equal(s.count, 5);
    assert_string_equal(s.events[3], TEXT(0, "m3 m4 "));
    assert_string_equal(s.events[4], STOP(0));
    yyjson_doc *msg = finish_with(ts, ZERO_USAGE); /* the CLI's result line leaves the retry out */
    assert_string_equal(s.events[5], "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
                                     "\"stop_sequence\":null},\"usage\":{\"output_tokens\":14}}");
    assert_string_equal(streamed(&s), "m1 m2 m3 m4 ");
    yyjson_val *m = yyjson_doc_get_root(msg);
    assert_int_equal(yyjson_arr_size(yyjson_obj_get(m, "content")), 1);
    assert_string_equal(block_text(m, 0), "m1 m2 m3 m4 ");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "stop_reason")), "end_turn");
    yyjson_val *u = yyjson_obj_get(m, "usage");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "input_tokens")), 11);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "output_tokens")), 14);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "cache_creation_input_tokens")), 2);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "cache_read_input_tokens")), 3);
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

static void a_different_retried_answer_follows_as_new_blocks(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    feed(ts, TEXT(0, "abc"));
    /* One assistant line per block, all with the retried message's id. */
    assert_int_equal(feed_message(ts, WHOLE("msg_2", TEXT_BLOCK("xyz"), "\"tool_use\"")), TURN_STREAM_OK);
    const char *tool = "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"mcp__client__get_weather\",\"input\":{\"city\":\"Paris\"}}";
    char line[1024];
    snprintf(line, sizeof line, WHOLE("msg_2", "%s", "\"tool_use\""), tool);
    assert_int_equal(feed_message(ts, line), TURN_STREAM_OK);
    assert_int_equal(feed_message(ts, WHOLE("msg_2", "{\"type\":\"server_tool_use\",\"id\":\"s1\",\"name\":\"web_search\","
                                                     "\"input\":{}}", "\"tool_use\"")), TURN_STREAM_OK);
    assert_string_equal(s.events[3], STOP(0));
    assert_string_equal(s.events[4], TEXT_START(1));
    assert_string_equal(s.events[5], TEXT(1, "xyz"));
    assert_string_equal(s.events[6], STOP(1));
    assert_string_equal(s.events[7], "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
                                     "\"id\":\"t1\",\"name\":\"get_weather\",\"input\":{}}}");
    assert_string_equal(s.events[8], "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
                                     "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}");
    assert_string_equal(s.events[9], STOP(2));
    assert_int_equal(s.count, 10); /* the CLI's own server tool is dropped */
    assert_true(turn_stream_at_message_end(ts));
    yyjson_doc *msg = finish_with(ts, ZERO_USAGE);
    yyjson_val *m = yyjson_doc_get_root(msg);
    yyjson_val *content = yyjson_obj_get(m, "content");
    assert_int_equal(yyjson_arr_size(content), 3);
    assert_string_equal(block_text(m, 0), "abc");
    assert_string_equal(block_text(m, 1), "xyz");
    yyjson_val *input = yyjson_obj_get(yyjson_arr_get(content, 2), "input");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(input, "city")), "Paris");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "stop_reason")), "tool_use");
    /* Counted once, not per line. */
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(m, "usage"), "output_tokens")), 14);
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

static void retried_text_meets_the_same_stop_sequences_and_max_tokens(void **state) {
    const char *stops[] = {"m4"};
    sink_t s = {0};
    turn_stream_t *ts = make(&s, stops, 1, 0);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    feed(ts, TEXT(0, "m1 m2 m")); /* "m" is held back: it may begin "m4" */
    assert_string_equal(streamed(&s), "m1 m2 ");
    assert_int_equal(feed_message(ts, WHOLE("msg_2", TEXT_BLOCK("m1 m2 m3 m4 m5 "), "\"end_turn\"")), TURN_STREAM_CUT);
    assert_string_equal(streamed(&s), "m1 m2 m3 ");
    assert_string_equal(turn_stream_stop_reason(ts), "stop_sequence");
    turn_stream_free(ts);
    sink_free(&s);

    sink_t s2 = {0};
    ts = make(&s2, NULL, 0, 2);
    feed(ts, START);
    feed(ts, TEXT_START(0));
    feed(ts, TEXT(0, "m1 "));
    assert_int_equal(feed_message(ts, WHOLE("msg_2", TEXT_BLOCK("m1 m2 m3 m4 m5 "), "\"end_turn\"")), TURN_STREAM_CUT);
    assert_string_equal(streamed(&s2), "m1 m2 m3");
    assert_string_equal(turn_stream_stop_reason(ts), "max_tokens");
    turn_stream_free(ts);
    sink_free(&s2);
}

static void a_turn_given_whole_from_the_start_is_one_message(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    assert_int_equal(feed_message(ts, WHOLE("msg_2", TEXT_BLOCK("hello"), "\"end_turn\"")), TURN_STREAM_OK);
    assert_int_equal(count_type(&s, "message_start"), 1);
    assert_string_equal(s.events[1], TEXT_START(0));
    assert_string_equal(s.events[2], TEXT(0, "hello"));
    assert_string_equal(s.events[3], STOP(0));
    yyjson_doc *msg = finish_with(ts, ZERO_USAGE);
    yyjson_val *m = yyjson_doc_get_root(msg);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "id")), "msg_2");
    assert_string_equal(block_text(m, 0), "hello");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(m, "usage"), "input_tokens")), 11);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(m, "usage"), "output_tokens")), 14);
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

/* 2.1.332: the broken attempt ends with content_block_stop + message_stop (no message_delta), then the
 * retry comes as one assistant line with a new id; the result counts both attempts. */
static void a_broken_attempt_closed_without_message_delta_is_continued_by_the_retry(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    const char *lines[] = {START, TEXT_START(0), TEXT(0, "m1 m2 "), STOP(0), MSG_STOP};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) assert_int_equal(feed(ts, lines[i]), TURN_STREAM_OK);
    assert_int_equal(s.count, 3); /* the block stop waits: the retry may continue the block */
    assert_int_equal(feed_message(ts, WHOLE("msg_2", TEXT_BLOCK("m1 m2 m3 m4 "), "\"end_turn\"")), TURN_STREAM_OK);
    assert_string_equal(s.events[3], TEXT(0, "m3 m4 "));
    assert_string_equal(s.events[4], STOP(0));
    yyjson_doc *msg = finish_with(ts, "{\"input_tokens\":22,\"output_tokens\":15,\"cache_creation_input_tokens\":4,"
                                      "\"cache_read_input_tokens\":6}");
    assert_string_equal(streamed(&s), "m1 m2 m3 m4 ");
    assert_int_equal(count_type(&s, "content_block_start"), 1);
    assert_int_equal(count_type(&s, "content_block_stop"), 1);
    assert_int_equal(count_type(&s, "message_delta"), 1);
    assert_int_equal(count_type(&s, "message_stop"), 1);
    yyjson_val *m = yyjson_doc_get_root(msg);
    assert_int_equal(yyjson_arr_size(yyjson_obj_get(m, "content")), 1);
    assert_string_equal(block_text(m, 0), "m1 m2 m3 m4 ");
    yyjson_val *u = yyjson_obj_get(m, "usage"); /* the answer's usage, not the broken attempt's as well */
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "input_tokens")), 11);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "output_tokens")), 14);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "cache_creation_input_tokens")), 2);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(u, "cache_read_input_tokens")), 3);
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

/* A block stop is sent once the stream says it goes on: a next block, a message_delta. */
static void a_waiting_block_stop_is_sent_before_what_follows(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    const char *lines[] = {START, TEXT_START(0), TEXT(0, "a"), STOP(0), TEXT_START(1), TEXT(1, "b"), STOP(1),
                           DELTA("end_turn", 2), MSG_STOP};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) assert_int_equal(feed(ts, lines[i]), TURN_STREAM_OK);
    assert_int_equal(s.count, 7);
    assert_string_equal(s.events[3], STOP(0));
    assert_string_equal(s.events[4], TEXT_START(1));
    assert_string_equal(s.events[6], STOP(1));
    assert_true(turn_stream_at_message_end(ts));
    turn_stream_free(ts);
    sink_free(&s);
}

/* 2.1.332's interrupt tail: content_block_stop, message_delta with a null stop_reason, message_stop, then
 * the result. The client gets one stop per block and one end. */
static void the_interrupt_tail_ends_the_message_once(void **state) {
    sink_t s = {0};
    turn_stream_t *ts = make(&s, NULL, 0, 0);
    const char *lines[] = {START, TEXT_START(0), TEXT(0, "half"), STOP(0),
                           "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null,\"stop_sequence\":null},"
                           "\"usage\":{\"output_tokens\":1}}",
                           MSG_STOP};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) assert_int_equal(feed(ts, lines[i]), TURN_STREAM_OK);
    assert_string_equal(s.events[3], STOP(0));
    yyjson_doc *msg = finish_with(ts, ZERO_USAGE);
    assert_int_equal(count_type(&s, "content_block_stop"), 1);
    assert_int_equal(count_type(&s, "message_delta"), 1);
    assert_int_equal(count_type(&s, "message_stop"), 1);
    assert_string_equal(streamed(&s), "half");
    yyjson_doc_free(msg);
    turn_stream_free(ts);
    sink_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(indexes_continue_across_upstream_messages),
        cmocka_unit_test(cli_tools_are_dropped_and_client_tools_renamed),
        cmocka_unit_test(structured_output_is_kept_only_for_a_json_schema_turn),
        cmocka_unit_test(stop_sequence_split_across_deltas_is_caught_before_sending),
        cmocka_unit_test(held_back_text_is_released_at_block_stop),
        cmocka_unit_test(utf8_is_never_split_by_the_hold_back),
        cmocka_unit_test(max_tokens_cuts_the_text_at_four_characters_per_token),
        cmocka_unit_test(huge_max_tokens_is_no_limit),
        cmocka_unit_test(a_consumer_that_left_stops_the_stream),
        cmocka_unit_test(a_turn_without_stream_events_still_makes_a_whole_message),
        cmocka_unit_test(a_retried_answer_continues_the_block_the_broken_stream_left_open),
        cmocka_unit_test(a_different_retried_answer_follows_as_new_blocks),
        cmocka_unit_test(retried_text_meets_the_same_stop_sequences_and_max_tokens),
        cmocka_unit_test(a_turn_given_whole_from_the_start_is_one_message),
        cmocka_unit_test(a_broken_attempt_closed_without_message_delta_is_continued_by_the_retry),
        cmocka_unit_test(a_waiting_block_stop_is_sent_before_what_follows),
        cmocka_unit_test(the_interrupt_tail_ends_the_message_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
