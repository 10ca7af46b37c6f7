/* Engine events → chat.completion.chunk frames, finished message → chat.completion (src/api/openai_stream.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/openai.h"

#define MAX_FRAMES 64
#define WHOLE_MESSAGE "{\"id\":\"msg_w\",\"content\":[{\"type\":\"text\",\"text\":\"whole\"}],\"stop_reason\":\"end_turn\",\"usage\":{}}"
#define DONE_MESSAGE "{\"stop_reason\":\"end_turn\",\"usage\":{\"output_tokens\":1}}"

typedef struct {
    buf_t out;
    yyjson_doc *frames[MAX_FRAMES]; /* parsed "data:" payloads; NULL for [DONE] */
    bool is_done[MAX_FRAMES];
    size_t count;
} frames_t;

static void feed(openai_stream_t *st, frames_t *fr, const char *event_json) {
    yyjson_doc *ev = yyjson_read(event_json, strlen(event_json), 0);
    assert_non_null(ev);
    assert_int_equal(openai_stream_event(st, yyjson_doc_get_root(ev), &fr->out), 0);
    yyjson_doc_free(ev);
}

/* Split what was written into frames; every frame must be exactly "data: <payload>\n\n". */
static void parse_frames(frames_t *fr) {
    const char *p = buf_cstr(&fr->out);
    while (*p) {
        assert_true(strncmp(p, "data: ", 6) == 0);
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        assert_true(fr->count < MAX_FRAMES);
        size_t len = (size_t)(end - p - 6);
        if (len == 6 && strncmp(p + 6, "[DONE]", 6) == 0) {
            fr->is_done[fr->count++] = true;
        } else {
            fr->frames[fr->count] = yyjson_read(p + 6, len, 0);
            assert_non_null(fr->frames[fr->count]);
            fr->count++;
        }
        p = end + 2;
    }
}

static void frames_free(frames_t *fr) {
    for (size_t i = 0; i < fr->count; i++) yyjson_doc_free(fr->frames[i]);
    buf_free(&fr->out);
}

static yyjson_val *at(frames_t *fr, size_t i, const char *ptr) {
    assert_true(i < fr->count);
    return yyjson_ptr_get(yyjson_doc_get_root(fr->frames[i]), ptr);
}

static const char *str(frames_t *fr, size_t i, const char *ptr) { return yyjson_get_str(at(fr, i, ptr)); }

#define MESSAGE_START                                                                                              \
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_abc\",\"type\":\"message\",\"role\":\"assistant\","   \
    "\"content\":[],\"usage\":{\"input_tokens\":11,\"output_tokens\":1,\"cache_read_input_tokens\":3,"           \
    "\"cache_creation_input_tokens\":2}}}"

static void finish_reasons_map(void **state) {
    (void)state;
    assert_string_equal(openai_finish_reason("end_turn"), "stop");
    assert_string_equal(openai_finish_reason("stop_sequence"), "stop");
    assert_string_equal(openai_finish_reason("max_tokens"), "length");
    assert_string_equal(openai_finish_reason("tool_use"), "tool_calls");
    assert_string_equal(openai_finish_reason(NULL), "stop");
}

static void completion_id_comes_from_message_id(void **state) {
    (void)state;
    char id[64];
    openai_completion_id("msg_01XYZ", "req1", id, sizeof id);
    assert_string_equal(id, "chatcmpl-01XYZ");
    openai_completion_id(NULL, "req1", id, sizeof id);
    assert_string_equal(id, "chatcmpl-req1");
}

static void text_stream_has_role_content_finish_usage_done(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "gpt-4o", 1700000000, true, false);
    feed(&st, &fr, MESSAGE_START);
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_stop\",\"index\":0}");
    feed(&st, &fr, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":2}}");
    feed(&st, &fr, "{\"type\":\"message_stop\"}");
    assert_int_equal(openai_stream_finish(&st, NULL, &fr.out), 0);
    parse_frames(&fr);
    assert_int_equal(fr.count, 6); /* role, 2 content, finish, usage, [DONE] */
    assert_string_equal(str(&fr, 0, "/id"), "chatcmpl-abc");
    assert_string_equal(str(&fr, 0, "/object"), "chat.completion.chunk");
    assert_string_equal(str(&fr, 0, "/model"), "gpt-4o");
    assert_int_equal(yyjson_get_sint(at(&fr, 0, "/created")), 1700000000);
    assert_string_equal(str(&fr, 0, "/choices/0/delta/role"), "assistant");
    assert_string_equal(str(&fr, 0, "/choices/0/delta/content"), "");
    assert_true(yyjson_is_null(at(&fr, 0, "/choices/0/finish_reason")));
    assert_true(yyjson_is_null(at(&fr, 0, "/usage")));
    assert_string_equal(str(&fr, 1, "/choices/0/delta/content"), "Hel");
    assert_string_equal(str(&fr, 2, "/choices/0/delta/content"), "lo");
    assert_string_equal(str(&fr, 2, "/id"), "chatcmpl-abc");
    assert_string_equal(str(&fr, 3, "/choices/0/finish_reason"), "length");
    assert_int_equal(yyjson_obj_size(at(&fr, 3, "/choices/0/delta")), 0);
    assert_int_equal(yyjson_arr_size(at(&fr, 4, "/choices")), 0);
    assert_int_equal(yyjson_get_sint(at(&fr, 4, "/usage/prompt_tokens")), 16);
    assert_int_equal(yyjson_get_sint(at(&fr, 4, "/usage/completion_tokens")), 2);
    assert_int_equal(yyjson_get_sint(at(&fr, 4, "/usage/total_tokens")), 18);
    assert_int_equal(yyjson_get_sint(at(&fr, 4, "/usage/prompt_tokens_details/cached_tokens")), 3);
    assert_true(fr.is_done[5]);
    frames_free(&fr);
}

static void without_include_usage_there_is_no_usage_chunk(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, false);
    feed(&st, &fr, MESSAGE_START);
    yyjson_doc *done = yyjson_read(DONE_MESSAGE, strlen(DONE_MESSAGE), 0);
    assert_int_equal(openai_stream_finish(&st, yyjson_doc_get_root(done), &fr.out), 0);
    yyjson_doc_free(done);
    parse_frames(&fr);
    assert_int_equal(fr.count, 3);
    assert_null(at(&fr, 0, "/usage"));
    assert_string_equal(str(&fr, 1, "/choices/0/finish_reason"), "stop");
    assert_true(fr.is_done[2]);
    frames_free(&fr);
}

static void thinking_streams_as_reasoning_content(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, false);
    feed(&st, &fr, MESSAGE_START);
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_stop\",\"index\":0}");
    parse_frames(&fr);
    assert_int_equal(fr.count, 2);
    assert_string_equal(str(&fr, 1, "/choices/0/delta/reasoning_content"), "hmm");
    assert_null(at(&fr, 1, "/choices/0/delta/content"));
    frames_free(&fr);
}

static void tool_use_streams_as_tool_calls(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, false);
    feed(&st, &fr, MESSAGE_START);
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_stop\",\"index\":0}");
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"t2\",\"input\":{}}}");
    feed(&st, &fr, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}");
    assert_int_equal(openai_stream_finish(&st, NULL, &fr.out), 0);
    parse_frames(&fr);
    assert_int_equal(fr.count, 6);
    assert_int_equal(yyjson_get_sint(at(&fr, 1, "/choices/0/delta/tool_calls/0/index")), 0);
    assert_string_equal(str(&fr, 1, "/choices/0/delta/tool_calls/0/id"), "toolu_1");
    assert_string_equal(str(&fr, 1, "/choices/0/delta/tool_calls/0/type"), "function");
    assert_string_equal(str(&fr, 1, "/choices/0/delta/tool_calls/0/function/name"), "get_weather");
    assert_string_equal(str(&fr, 1, "/choices/0/delta/tool_calls/0/function/arguments"), "");
    assert_string_equal(str(&fr, 2, "/choices/0/delta/tool_calls/0/function/arguments"), "{\"city\":");
    assert_null(at(&fr, 2, "/choices/0/delta/tool_calls/0/id"));
    assert_int_equal(yyjson_get_sint(at(&fr, 3, "/choices/0/delta/tool_calls/0/index")), 1);
    assert_string_equal(str(&fr, 4, "/choices/0/finish_reason"), "tool_calls");
    frames_free(&fr);
}

static void structured_output_call_streams_as_content(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, true);
    feed(&st, &fr, MESSAGE_START);
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"StructuredOutput\",\"input\":{}}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}");
    feed(&st, &fr, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}");
    assert_int_equal(openai_stream_finish(&st, NULL, &fr.out), 0);
    parse_frames(&fr);
    assert_int_equal(fr.count, 4);
    assert_string_equal(str(&fr, 1, "/choices/0/delta/content"), "{\"a\":1}");
    assert_string_equal(str(&fr, 2, "/choices/0/finish_reason"), "stop");
    frames_free(&fr);
}

/* 2.1.100 answers the StructuredOutput tool_result with a remark: prose must not spoil the JSON. */
static void json_mode_holds_prose_back_when_structured_output_comes(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, true);
    feed(&st, &fr, MESSAGE_START);
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"StructuredOutput\",\"input\":{}}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_stop\",\"index\":0}");
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Done!\"}}");
    const char *msg = "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"StructuredOutput\",\"input\":{\"a\":1}},"
                      "{\"type\":\"text\",\"text\":\"Done!\"}],\"stop_reason\":\"end_turn\",\"usage\":{}}";
    yyjson_doc *done = yyjson_read(msg, strlen(msg), 0);
    assert_int_equal(openai_stream_finish(&st, yyjson_doc_get_root(done), &fr.out), 0);
    yyjson_doc_free(done);
    parse_frames(&fr);
    assert_int_equal(fr.count, 4); /* role, the JSON, finish, [DONE] */
    assert_string_equal(str(&fr, 1, "/choices/0/delta/content"), "{\"a\":1}");
    assert_string_equal(str(&fr, 2, "/choices/0/finish_reason"), "stop");
    frames_free(&fr);
}

static void json_mode_sends_prose_at_the_end_when_no_structured_output_came(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, true);
    feed(&st, &fr, MESSAGE_START);
    feed(&st, &fr, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    feed(&st, &fr, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"{}\"}}");
    yyjson_doc *done = yyjson_read(WHOLE_MESSAGE, strlen(WHOLE_MESSAGE), 0);
    assert_int_equal(openai_stream_finish(&st, yyjson_doc_get_root(done), &fr.out), 0);
    yyjson_doc_free(done);
    parse_frames(&fr);
    assert_int_equal(fr.count, 4); /* role, the text once (from the message), finish, [DONE] */
    assert_string_equal(str(&fr, 1, "/choices/0/delta/content"), "whole");
    frames_free(&fr);
}

static void failure_chunk_carries_error_key(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, false);
    feed(&st, &fr, MESSAGE_START);
    api_error_t err = {.status = 500, .kind = API_ERR_API, .message = "the CLI exited"};
    assert_int_equal(openai_stream_fail(&st, &err, &fr.out), 0);
    parse_frames(&fr);
    assert_int_equal(fr.count, 2);
    assert_string_equal(str(&fr, 1, "/error/message"), "the CLI exited");
    assert_non_null(str(&fr, 1, "/error/type"));
    frames_free(&fr);
}

/* An error text cut to a fixed size may end mid-character; the client still gets the error chunk. */
static void failure_chunk_with_invalid_utf8_is_scrubbed(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, false);
    api_error_t err = {.status = 500, .kind = API_ERR_API, .message = "cut \xE2\x80"};
    assert_int_equal(openai_stream_fail(&st, &err, &fr.out), 0);
    parse_frames(&fr);
    assert_int_equal(fr.count, 1);
    assert_string_equal(str(&fr, 0, "/error/message"), "cut ??");
    frames_free(&fr);
}

static void finish_without_events_replays_the_message(void **state) {
    (void)state;
    openai_stream_t st;
    frames_t fr = {.count = 0};
    buf_init(&fr.out, 0);
    openai_stream_init(&st, "req1", "m", 1, false, false);
    yyjson_doc *done = yyjson_read(WHOLE_MESSAGE, strlen(WHOLE_MESSAGE), 0);
    assert_int_equal(openai_stream_finish(&st, yyjson_doc_get_root(done), &fr.out), 0);
    yyjson_doc_free(done);
    parse_frames(&fr);
    assert_int_equal(fr.count, 4); /* role, content, finish, [DONE] */
    assert_string_equal(str(&fr, 0, "/choices/0/delta/role"), "assistant");
    assert_string_equal(str(&fr, 1, "/choices/0/delta/content"), "whole");
    assert_string_equal(str(&fr, 2, "/choices/0/finish_reason"), "stop");
    frames_free(&fr);
}

static yyjson_doc *completion(const char *message_json, bool is_json_mode) {
    yyjson_doc *msg = yyjson_read(message_json, strlen(message_json), 0);
    assert_non_null(msg);
    yyjson_mut_doc *out = openai_completion_build(yyjson_doc_get_root(msg), "chatcmpl-1", "gpt-4o", 1700000000, is_json_mode);
    assert_non_null(out);
    yyjson_doc *doc = yyjson_mut_doc_imut_copy(out, NULL);
    yyjson_mut_doc_free(out);
    yyjson_doc_free(msg);
    return doc;
}

static const char *cstr(yyjson_doc *d, const char *ptr) { return yyjson_get_str(yyjson_ptr_get(yyjson_doc_get_root(d), ptr)); }
static int64_t cint(yyjson_doc *d, const char *ptr) { return yyjson_get_sint(yyjson_ptr_get(yyjson_doc_get_root(d), ptr)); }

static void completion_has_openai_shape(void **state) {
    (void)state;
    yyjson_doc *d = completion("{\"id\":\"msg_1\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"s\"},"
                               "{\"type\":\"text\",\"text\":\"Hello\"}],\"stop_reason\":\"end_turn\","
                               "\"usage\":{\"input_tokens\":11,\"output_tokens\":5,\"cache_read_input_tokens\":3,"
                               "\"cache_creation_input_tokens\":2}}",
                               false);
    assert_string_equal(cstr(d, "/id"), "chatcmpl-1");
    assert_string_equal(cstr(d, "/object"), "chat.completion");
    assert_string_equal(cstr(d, "/model"), "gpt-4o");
    assert_int_equal(cint(d, "/created"), 1700000000);
    assert_int_equal(cint(d, "/choices/0/index"), 0);
    assert_string_equal(cstr(d, "/choices/0/message/role"), "assistant");
    assert_string_equal(cstr(d, "/choices/0/message/content"), "Hello");
    assert_string_equal(cstr(d, "/choices/0/message/reasoning_content"), "hm");
    assert_true(yyjson_is_null(yyjson_ptr_get(yyjson_doc_get_root(d), "/choices/0/message/refusal")));
    assert_true(yyjson_is_null(yyjson_ptr_get(yyjson_doc_get_root(d), "/choices/0/logprobs")));
    assert_null(yyjson_ptr_get(yyjson_doc_get_root(d), "/choices/0/message/tool_calls"));
    assert_string_equal(cstr(d, "/choices/0/finish_reason"), "stop");
    assert_int_equal(cint(d, "/usage/prompt_tokens"), 16);
    assert_int_equal(cint(d, "/usage/completion_tokens"), 5);
    assert_int_equal(cint(d, "/usage/total_tokens"), 21);
    assert_true(yyjson_is_null(yyjson_ptr_get(yyjson_doc_get_root(d), "/system_fingerprint")));
    yyjson_doc_free(d);
}

static void completion_with_tool_use_has_tool_calls(void **state) {
    (void)state;
    yyjson_doc *d = completion("{\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_weather\","
                               "\"input\":{\"city\":\"Paris\"}}],\"stop_reason\":\"tool_use\",\"usage\":{}}",
                               false);
    assert_true(yyjson_is_null(yyjson_ptr_get(yyjson_doc_get_root(d), "/choices/0/message/content")));
    assert_string_equal(cstr(d, "/choices/0/message/tool_calls/0/id"), "toolu_9");
    assert_string_equal(cstr(d, "/choices/0/message/tool_calls/0/function/name"), "get_weather");
    assert_string_equal(cstr(d, "/choices/0/message/tool_calls/0/function/arguments"), "{\"city\":\"Paris\"}");
    assert_string_equal(cstr(d, "/choices/0/finish_reason"), "tool_calls");
    yyjson_doc_free(d);
}

static void completion_structured_output_is_the_content(void **state) {
    (void)state;
    yyjson_doc *d = completion("{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"StructuredOutput\","
                               "\"input\":{\"name\":\"Ann\"}}],\"stop_reason\":\"tool_use\",\"usage\":{}}",
                               true);
    assert_string_equal(cstr(d, "/choices/0/message/content"), "{\"name\":\"Ann\"}");
    assert_null(yyjson_ptr_get(yyjson_doc_get_root(d), "/choices/0/message/tool_calls"));
    assert_string_equal(cstr(d, "/choices/0/finish_reason"), "stop");
    yyjson_doc_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finish_reasons_map),
        cmocka_unit_test(completion_id_comes_from_message_id),
        cmocka_unit_test(text_stream_has_role_content_finish_usage_done),
        cmocka_unit_test(without_include_usage_there_is_no_usage_chunk),
        cmocka_unit_test(thinking_streams_as_reasoning_content),
        cmocka_unit_test(tool_use_streams_as_tool_calls),
        cmocka_unit_test(structured_output_call_streams_as_content),
        cmocka_unit_test(json_mode_holds_prose_back_when_structured_output_comes),
        cmocka_unit_test(json_mode_sends_prose_at_the_end_when_no_structured_output_came),
        cmocka_unit_test(failure_chunk_carries_error_key),
        cmocka_unit_test(failure_chunk_with_invalid_utf8_is_scrubbed),
        cmocka_unit_test(finish_without_events_replays_the_message),
        cmocka_unit_test(completion_has_openai_shape),
        cmocka_unit_test(completion_with_tool_use_has_tool_calls),
        cmocka_unit_test(completion_structured_output_is_the_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
