/* Conversation fingerprints: what SDKs send back must match what a session produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/fingerprint.h"
#include "engine/request.h"

static fingerprint_t fp_of(const char *system, const char *tools_json, const char *messages_json) {
    yyjson_doc *tools = tools_json ? yyjson_read(tools_json, strlen(tools_json), 0) : NULL;
    yyjson_doc *msgs = yyjson_read(messages_json, strlen(messages_json), 0);
    assert_non_null(msgs);
    fingerprint_header_t h = {.mode = "api", .model = "m", .system = system, .tools = yyjson_doc_get_root(tools)};
    fingerprint_ctx_t *fc = fingerprint_begin(&h);
    size_t i, max;
    yyjson_val *m;
    yyjson_arr_foreach(yyjson_doc_get_root(msgs), i, max, m)
        fingerprint_add_message(fc, yyjson_get_str(yyjson_obj_get(m, "role")), yyjson_obj_get(m, "content"));
    fingerprint_t out;
    assert_int_equal(fingerprint_peek(fc, &out), 0);
    fingerprint_free(fc);
    yyjson_doc_free(msgs);
    yyjson_doc_free(tools);
    return out;
}

static bool same(const char *a, const char *b) {
    fingerprint_t x = fp_of("s", NULL, a), y = fp_of("s", NULL, b);
    return fingerprint_equal(&x, &y);
}
#define SAME(a, b) assert_true(same(a, b))
#define DIFF(a, b) assert_false(same(a, b))

static void a_string_equals_one_text_block(void **state) {
    SAME("[{\"role\":\"user\",\"content\":\"hi\"}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]");
    DIFF("[{\"role\":\"user\",\"content\":\"hi\"}]", "[{\"role\":\"user\",\"content\":\"hi!\"}]");
    DIFF("[{\"role\":\"user\",\"content\":\"hi\"}]", "[{\"role\":\"assistant\",\"content\":\"hi\"}]");
}

static void adjacent_text_blocks_equal_their_joined_text(void **state) {
    /* an OpenAI client sends a reply of several text blocks back as one string */
    SAME("[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hel\"},{\"type\":\"text\",\"text\":\"lo\"}]}]",
         "[{\"role\":\"assistant\",\"content\":\"Hello\"}]");
    /* ...but not across message boundaries */
    DIFF("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]",
         "[{\"role\":\"user\",\"content\":\"ab\"}]");
}

static void thinking_cache_control_and_empty_text_are_ignored(void **state) {
    SAME("[{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"s\"},"
         "{\"type\":\"text\",\"text\":\"ok\",\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":\"text\",\"text\":\"\"}]}]",
         "[{\"role\":\"assistant\",\"content\":\"ok\"}]");
    SAME("[{\"role\":\"assistant\",\"content\":[{\"type\":\"redacted_thinking\",\"data\":\"x\"},{\"type\":\"text\",\"text\":\"ok\"}]}]",
         "[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"ok\",\"citations\":null}]}]");
}

static void tool_blocks_compare_by_meaning(void **state) {
    SAME("[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"mcp__client__w\","
         "\"input\":{\"a\":1,\"b\":[true,null,1.5]}}]}]",
         "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"w\","
         "\"input\":{\"b\":[true,null,1.5],\"a\":1}}]}]");
    DIFF("[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"w\",\"input\":{\"a\":1}}]}]",
         "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"w\",\"input\":{\"a\":2}}]}]");
    SAME("[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"42\"}]}]",
         "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"is_error\":false,"
         "\"content\":[{\"type\":\"text\",\"text\":\"42\"}]}]}]");
    DIFF("[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"42\"}]}]",
         "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"is_error\":true,\"content\":\"42\"}]}]");
    /* text around a tool block is not joined across it */
    DIFF("[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"tool_use\",\"id\":\"t\","
         "\"name\":\"w\",\"input\":{}},{\"type\":\"text\",\"text\":\"b\"}]}]",
         "[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"ab\"},{\"type\":\"tool_use\",\"id\":\"t\","
         "\"name\":\"w\",\"input\":{}}]}]");
}

static void settings_are_part_of_the_fingerprint(void **state) {
    const char *msgs = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    fingerprint_t a = fp_of("system one", NULL, msgs), b = fp_of("system two", NULL, msgs);
    assert_false(fingerprint_equal(&a, &b));
    fingerprint_t c = fp_of("s", "[{\"name\":\"w\",\"input_schema\":{\"type\":\"object\"}}]", msgs);
    fingerprint_t d = fp_of("s", NULL, msgs);
    assert_false(fingerprint_equal(&c, &d));
    char hex[2 * FINGERPRINT_LEN + 1];
    fingerprint_hex(&a, hex);
    assert_int_equal(strlen(hex), 64);
}

static void a_follow_up_request_matches_the_session_that_answered(void **state) {
    const char *first = "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":\"S\"}],\"max_tokens\":9,"
                        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    const char *follow = "{\"model\":\"m\",\"system\":\"S\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":"
                         "[{\"type\":\"text\",\"text\":\"hi\"}]},{\"role\":\"assistant\",\"content\":\"yo\"},"
                         "{\"role\":\"user\",\"content\":\"next\"}]}";
    yyjson_doc *d1 = yyjson_read(first, strlen(first), 0), *d2 = yyjson_read(follow, strlen(follow), 0);
    turn_request_t t1 = {.body = yyjson_doc_get_root(d1)}, t2 = {.body = yyjson_doc_get_root(d2)};
    engine_request_t r1, r2;
    char err[256];
    assert_int_equal(engine_request_init(&r1, &t1, "api", err, sizeof err), 0);
    assert_int_equal(engine_request_init(&r2, &t2, "api", err, sizeof err), 0);
    /* the session that answered r1 adds its reply to r1's conversation */
    const char *reply_json = "[{\"type\":\"text\",\"text\":\"yo\"}]";
    yyjson_doc *reply = yyjson_read(reply_json, strlen(reply_json), 0);
    fingerprint_add_message(r1.conversation, "assistant", yyjson_doc_get_root(reply));
    fingerprint_t held;
    fingerprint_peek(r1.conversation, &held);
    assert_true(fingerprint_equal(&held, &r2.history));
    assert_false(engine_request_has_history(&r1));
    assert_true(engine_request_has_history(&r2));
    engine_request_free(&r1);
    engine_request_free(&r2);
    yyjson_doc_free(reply);
    yyjson_doc_free(d1);
    yyjson_doc_free(d2);
}

static void requests_the_engine_cannot_run_are_refused(void **state) {
    const char *bad[] = {
        "{\"model\":\"m\",\"messages\":[]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"pre\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":3}]}",
        "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"stop_sequences\":[1],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"system\":[{\"type\":\"image\"}],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        yyjson_doc *d = yyjson_read(bad[i], strlen(bad[i]), 0);
        turn_request_t t = {.body = yyjson_doc_get_root(d)};
        engine_request_t r;
        char err[256] = "";
        assert_int_equal(engine_request_init(&r, &t, "api", err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        yyjson_doc_free(d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_string_equals_one_text_block),
        cmocka_unit_test(adjacent_text_blocks_equal_their_joined_text),
        cmocka_unit_test(thinking_cache_control_and_empty_text_are_ignored),
        cmocka_unit_test(tool_blocks_compare_by_meaning),
        cmocka_unit_test(settings_are_part_of_the_fingerprint),
        cmocka_unit_test(a_follow_up_request_matches_the_session_that_answered),
        cmocka_unit_test(requests_the_engine_cannot_run_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
