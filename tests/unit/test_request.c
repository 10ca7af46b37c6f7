/* The engine's copy of a turn request: how `thinking` becomes the CLI's set_max_thinking_tokens value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/request.h"

/* thinking given as JSON text ("" = absent) → tokens; returns engine_request_thinking's result. */
static int thinking_of(const char *json, int64_t *tokens, char *err, size_t err_len) {
    yyjson_doc *doc = *json ? yyjson_read(json, strlen(json), 0) : NULL;
    if (*json) assert_non_null(doc);
    int rc = engine_request_thinking(yyjson_doc_get_root(doc), tokens, err, err_len);
    yyjson_doc_free(doc);
    return rc;
}

static void thinking_maps_to_budget_off_or_default(void **state) {
    (void)state;
    const struct { const char *json; int64_t want; } cases[] = {
        {"", ENGINE_THINKING_DEFAULT},
        {"null", ENGINE_THINKING_DEFAULT},
        {"{\"type\":\"adaptive\"}", ENGINE_THINKING_DEFAULT},
        {"{\"type\":\"disabled\"}", 0},
        {"{\"type\":\"enabled\",\"budget_tokens\":2048}", 2048},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t tokens = 12345;
        char err[128] = "";
        assert_int_equal(thinking_of(cases[i].json, &tokens, err, sizeof err), 0);
        assert_int_equal(tokens, cases[i].want);
    }
}

static void bad_thinking_is_refused_naming_the_field(void **state) {
    (void)state;
    const struct { const char *json, *field; } cases[] = {
        {"\"on\"", "thinking:"},
        {"{\"budget_tokens\":2048}", "thinking:"},
        {"{\"type\":\"sometimes\"}", "thinking.type:"},
        {"{\"type\":\"enabled\"}", "thinking.budget_tokens:"},
        {"{\"type\":\"enabled\",\"budget_tokens\":0}", "thinking.budget_tokens:"},
        {"{\"type\":\"enabled\",\"budget_tokens\":\"2048\"}", "thinking.budget_tokens:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t tokens = 0;
        char err[128] = "";
        assert_int_equal(thinking_of(cases[i].json, &tokens, err, sizeof err), -1);
        assert_ptr_equal(strstr(err, cases[i].field), err);
    }
}

static void request_init_keeps_the_thinking_setting(void **state) {
    (void)state;
    const char *json = "{\"model\":\"claude-x\",\"thinking\":{\"type\":\"disabled\"},"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    turn_request_t req = {.request_id = "r1", .body = yyjson_doc_get_root(doc)};
    engine_request_t r;
    char err[256] = "";
    assert_int_equal(engine_request_init(&r, &req, "api", err, sizeof err), 0);
    assert_int_equal(r.thinking_tokens, 0);
    engine_request_free(&r);
    yyjson_doc_free(doc);

    json = "{\"model\":\"claude-x\",\"thinking\":{\"type\":\"maybe\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    doc = yyjson_read(json, strlen(json), 0);
    req.body = yyjson_doc_get_root(doc);
    assert_int_equal(engine_request_init(&r, &req, "api", err, sizeof err), -1);
    assert_non_null(strstr(err, "thinking.type"));
    yyjson_doc_free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thinking_maps_to_budget_off_or_default),
        cmocka_unit_test(bad_thinking_is_refused_naming_the_field),
        cmocka_unit_test(request_init_keeps_the_thinking_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
