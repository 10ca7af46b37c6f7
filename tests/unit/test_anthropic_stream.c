/* Engine events → Messages API SSE frames and the non-streaming body (src/api/anthropic_stream.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/anthropic.h"

#define MAX_FRAMES 32

typedef struct {
    int count;
    char names[MAX_FRAMES][32];
    yyjson_doc *data[MAX_FRAMES];
} frames_t;

/* Split "event: X\ndata: Y\n\n" frames; every frame must have both lines and data.type == X. */
static void frames_parse(frames_t *f, buf_t *b) {
    memset(f, 0, sizeof *f);
    const char *p = buf_cstr(b), *end = p + b->len;
    while (p < end) {
        const char *stop = strstr(p, "\n\n");
        assert_non_null(stop);
        assert_true(f->count < MAX_FRAMES);
        assert_memory_equal(p, "event: ", 7);
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        assert_non_null(nl);
        snprintf(f->names[f->count], sizeof f->names[0], "%.*s", (int)(nl - p - 7), p + 7);
        assert_memory_equal(nl + 1, "data: ", 6);
        const char *data = nl + 7;
        f->data[f->count] = yyjson_read(data, (size_t)(stop - data), 0);
        assert_non_null(f->data[f->count]);
        assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(f->data[f->count]), "type")),
                            f->names[f->count]);
        f->count++;
        p = stop + 2;
    }
}

static void frames_free(frames_t *f) {
    for (int i = 0; i < f->count; i++) yyjson_doc_free(f->data[i]);
}

static yyjson_val *frame(frames_t *f, int i) { return yyjson_doc_get_root(f->data[i]); }

static void feed(anthropic_stream_t *st, buf_t *out, const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    assert_int_equal(anthropic_stream_event(st, yyjson_doc_get_root(doc), out), 0);
    yyjson_doc_free(doc);
}

static void finish(anthropic_stream_t *st, buf_t *out, const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    assert_int_equal(anthropic_stream_finish(st, yyjson_doc_get_root(doc), out), 0);
    yyjson_doc_free(doc);
}

static const char *MESSAGE =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
    "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"sig_1\"},{\"type\":\"text\",\"text\":\"Hi!\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get\",\"input\":{\"a\":[1,2]}}],"
    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":11,\"output_tokens\":3,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":2}}";

static void events_pass_through_in_order(void **state) {
    (void)state;
    anthropic_stream_t st;
    buf_t out;
    buf_init(&out, 0);
    anthropic_stream_init(&st, "req1", "claude-x");
    feed(&st, &out, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                    "\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
                    "\"usage\":{\"input_tokens\":11,\"output_tokens\":1,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":2}}}");
    feed(&st, &out, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}");
    feed(&st, &out, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig_1\"}}");
    feed(&st, &out, "{\"type\":\"content_block_stop\",\"index\":0}");
    feed(&st, &out, "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    feed(&st, &out, "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi!\"}}");
    feed(&st, &out, "{\"type\":\"content_block_stop\",\"index\":1}");
    feed(&st, &out, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}");
    feed(&st, &out, "{\"type\":\"message_stop\"}");
    feed(&st, &out, "{\"type\":\"message_stop\"}"); /* nothing after the end */
    finish(&st, &out, MESSAGE);

    frames_t f;
    frames_parse(&f, &out);
    const char *want[] = {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                          "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
                          "message_stop"};
    assert_int_equal(f.count, 9);
    for (int i = 0; i < 9; i++) assert_string_equal(f.names[i], want[i]);
    yyjson_val *usage = yyjson_obj_get(yyjson_obj_get(frame(&f, 0), "message"), "usage");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(usage, "cache_read_input_tokens")), 3);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(usage, "cache_creation_input_tokens")), 2);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(frame(&f, 2), "delta"), "signature")), "sig_1");
    frames_free(&f);
    buf_free(&out);
}

static void short_stream_is_completed(void **state) {
    (void)state;
    anthropic_stream_t st;
    buf_t out;
    buf_init(&out, 0);
    anthropic_stream_init(&st, "req2", "claude-x");
    /* No message_start, and the block is left open. */
    feed(&st, &out, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    feed(&st, &out, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}");
    finish(&st, &out, MESSAGE);
    frames_t f;
    frames_parse(&f, &out);
    const char *want[] = {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                          "message_delta", "message_stop"};
    assert_int_equal(f.count, 6);
    for (int i = 0; i < 6; i++) assert_string_equal(f.names[i], want[i]);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(frame(&f, 0), "message"), "id")), "msg_req2");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(frame(&f, 3), "index")), 0);
    yyjson_val *delta = yyjson_obj_get(frame(&f, 4), "delta");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(delta, "stop_reason")), "end_turn");
    assert_true(yyjson_is_null(yyjson_obj_get(delta, "stop_sequence")));
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(frame(&f, 4), "usage"), "output_tokens")), 3);
    frames_free(&f);
    buf_free(&out);
}

static void whole_stream_from_message_alone(void **state) {
    (void)state;
    anthropic_stream_t st;
    buf_t out;
    buf_init(&out, 0);
    anthropic_stream_init(&st, "req3", "claude-x");
    finish(&st, &out, MESSAGE);
    frames_t f;
    frames_parse(&f, &out);
    /* start, [thinking: start, thinking_delta, signature_delta, stop], [text: start, delta, stop],
     * [tool: start, input_json_delta, stop], message_delta, message_stop */
    assert_int_equal(f.count, 1 + 4 + 3 + 3 + 2);
    assert_string_equal(f.names[0], "message_start");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(frame(&f, 0), "message"), "id")), "msg_1");
    yyjson_val *cb = yyjson_obj_get(frame(&f, 1), "content_block");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(cb, "type")), "thinking");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(frame(&f, 3), "delta"), "signature")), "sig_1");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(frame(&f, 5), "index")), 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(frame(&f, 6), "delta"), "text")), "Hi!");
    yyjson_val *tool_delta = yyjson_obj_get(frame(&f, 9), "delta");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(tool_delta, "type")), "input_json_delta");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(tool_delta, "partial_json")), "{\"a\":[1,2]}");
    assert_string_equal(f.names[f.count - 1], "message_stop");
    frames_free(&f);
    buf_free(&out);
}

static void message_body_keeps_counts_and_content(void **state) {
    (void)state;
    yyjson_doc *in = yyjson_read(MESSAGE, strlen(MESSAGE), 0);
    yyjson_mut_doc *doc = anthropic_message_build(yyjson_doc_get_root(in), "msg_fallback", "claude-x");
    assert_non_null(doc);
    yyjson_mut_val *m = yyjson_mut_doc_get_root(doc);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(m, "id")), "msg_1");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(m, "type")), "message");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(m, "stop_reason")), "end_turn");
    assert_true(yyjson_mut_is_null(yyjson_mut_obj_get(m, "stop_sequence")));
    yyjson_mut_val *content = yyjson_mut_obj_get(m, "content");
    assert_int_equal(yyjson_mut_arr_size(content), 3);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(content, 0), "signature")), "sig_1");
    yyjson_mut_val *usage = yyjson_mut_obj_get(m, "usage");
    assert_int_equal(yyjson_mut_get_int(yyjson_mut_obj_get(usage, "cache_read_input_tokens")), 3);
    yyjson_mut_doc_free(doc);
    yyjson_doc_free(in);

    /* A bare message still gets every field the SDKs read. */
    in = yyjson_read("{\"content\":[]}", 14, 0);
    doc = anthropic_message_build(yyjson_doc_get_root(in), "msg_fallback", "claude-x");
    m = yyjson_mut_doc_get_root(doc);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(m, "id")), "msg_fallback");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(m, "model")), "claude-x");
    usage = yyjson_mut_obj_get(m, "usage");
    assert_int_equal(yyjson_mut_get_int(yyjson_mut_obj_get(usage, "cache_creation_input_tokens")), 0);
    assert_true(yyjson_mut_is_null(yyjson_mut_obj_get(m, "stop_reason")));
    yyjson_mut_doc_free(doc);
    yyjson_doc_free(in);
}

static void ping_and_error_frames(void **state) {
    (void)state;
    buf_t out;
    buf_init(&out, 0);
    assert_int_equal(anthropic_stream_ping(&out), 0);
    api_error_t err = {.status = 529, .kind = API_ERR_OVERLOADED, .message = "Overloaded"};
    assert_int_equal(anthropic_stream_error(&err, &out), 0);
    frames_t f;
    frames_parse(&f, &out);
    assert_int_equal(f.count, 2);
    assert_string_equal(f.names[0], "ping");
    assert_string_equal(f.names[1], "error");
    yyjson_val *e = yyjson_obj_get(frame(&f, 1), "error");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(e, "type")), "overloaded_error");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(e, "message")), "Overloaded");
    frames_free(&f);
    buf_free(&out);
}

/* An error text cut to a fixed size may end mid-character; the client still gets the error event. */
static void error_frame_with_invalid_utf8_is_scrubbed(void **state) {
    (void)state;
    buf_t out;
    buf_init(&out, 0);
    api_error_t err = {.status = 500, .kind = API_ERR_API, .message = "cut \xE2\x80"};
    assert_int_equal(anthropic_stream_error(&err, &out), 0);
    frames_t f;
    frames_parse(&f, &out);
    assert_int_equal(f.count, 1);
    assert_string_equal(f.names[0], "error");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(frame(&f, 0), "error"), "message")), "cut ??");
    frames_free(&f);
    buf_free(&out);
}

typedef struct {
    int count;
    char lines[8][128];
} headers_t;

static void collect(const char *name, const char *value, void *arg) {
    headers_t *h = arg;
    snprintf(h->lines[h->count++], sizeof h->lines[0], "%s=%s", name, value);
}

static void rate_limit_info_becomes_headers(void **state) {
    (void)state;
    const char *json = "{\"type\":\"rate_limit_event\",\"rate_limit_info\":{\"status\":\"allowed_warning\","
                       "\"resetsAt\":1767225600,\"rateLimitType\":\"five_hour\",\"utilization\":0.85}}";
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    headers_t h = {0};
    assert_int_equal(anthropic_ratelimit_headers(yyjson_doc_get_root(doc), collect, &h), 5);
    assert_string_equal(h.lines[0], "anthropic-ratelimit-unified-status=allowed_warning");
    assert_string_equal(h.lines[1], "anthropic-ratelimit-unified-reset=1767225600");
    assert_string_equal(h.lines[2], "anthropic-ratelimit-unified-representative-claim=five_hour");
    assert_string_equal(h.lines[3], "anthropic-ratelimit-unified-5h-utilization=0.85");
    assert_string_equal(h.lines[4], "anthropic-ratelimit-unified-5h-reset=1767225600");
    yyjson_doc_free(doc);

    /* The bare info object works too; overage fields and an unknown claim (no window headers). */
    json = "{\"status\":\"rejected\",\"rateLimitType\":\"mystery\",\"utilization\":1,"
           "\"overageStatus\":\"rejected\",\"overageDisabledReason\":\"out_of_credits\"}";
    doc = yyjson_read(json, strlen(json), 0);
    memset(&h, 0, sizeof h);
    assert_int_equal(anthropic_ratelimit_headers(yyjson_doc_get_root(doc), collect, &h), 4);
    assert_string_equal(h.lines[0], "anthropic-ratelimit-unified-status=rejected");
    assert_string_equal(h.lines[1], "anthropic-ratelimit-unified-representative-claim=mystery");
    assert_string_equal(h.lines[2], "anthropic-ratelimit-unified-overage-status=rejected");
    assert_string_equal(h.lines[3], "anthropic-ratelimit-unified-overage-disabled-reason=out_of_credits");
    yyjson_doc_free(doc);
    assert_int_equal(anthropic_ratelimit_headers(NULL, collect, &h), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_pass_through_in_order),
        cmocka_unit_test(short_stream_is_completed),
        cmocka_unit_test(whole_stream_from_message_alone),
        cmocka_unit_test(message_body_keeps_counts_and_content),
        cmocka_unit_test(ping_and_error_frames),
        cmocka_unit_test(error_frame_with_invalid_utf8_is_scrubbed),
        cmocka_unit_test(rate_limit_info_becomes_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
