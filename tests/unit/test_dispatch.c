/* Dispatch decisions that need no loop: which bodies count as JSON, which dialect an error speaks
 * (src/api/dispatch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/dispatch.h"

static void json_and_the_defaults_of_common_clients_are_read_as_json(void **state) {
    (void)state;
    const char *ok[] = {NULL,
                        "",
                        "application/json",
                        "application/json; charset=utf-8",
                        "Application/JSON;charset=UTF-8",
                        " application/json ",
                        "text/json",
                        "application/vnd.api+json",
                        "application/x-www-form-urlencoded", /* curl -d */
                        "text/plain;charset=UTF-8"};         /* fetch() with a string body */
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!app_is_json_content_type(ok[i])) fail_msg("\"%s\" should be read as JSON", ok[i] ? ok[i] : "(none)");
}

static void other_media_types_are_refused(void **state) {
    (void)state;
    const char *refused[] = {"multipart/form-data; boundary=x", "application/xml", "application/octet-stream",
                             "text/html", "image/png", "application/jsonx", "+json", "application/+json"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (app_is_json_content_type(refused[i])) fail_msg("\"%s\" should be refused", refused[i]);
}

static void shared_v1_paths_answer_in_the_callers_dialect(void **state) {
    (void)state;
    assert_int_equal(app_dialect_choose(DIALECT_PLAIN, "/v1/models", "2023-06-01"), DIALECT_ANTHROPIC);
    assert_int_equal(app_dialect_choose(DIALECT_PLAIN, "/v1/models/x", NULL), DIALECT_OPENAI);
    assert_int_equal(app_dialect_choose(DIALECT_PLAIN, "/v1/nope", ""), DIALECT_OPENAI);
}

static void dialect_paths_and_non_api_paths_keep_theirs(void **state) {
    (void)state;
    assert_int_equal(app_dialect_choose(DIALECT_ANTHROPIC, "/v1/messages", NULL), DIALECT_ANTHROPIC);
    assert_int_equal(app_dialect_choose(DIALECT_OPENAI, "/v1/chat/completions", "2023-06-01"), DIALECT_OPENAI);
    assert_int_equal(app_dialect_choose(DIALECT_PLAIN, "/health", "2023-06-01"), DIALECT_PLAIN);
    assert_int_equal(app_dialect_choose(DIALECT_PLAIN, "/auth/status", NULL), DIALECT_PLAIN);
    assert_int_equal(app_dialect_choose(DIALECT_PLAIN, NULL, NULL), DIALECT_PLAIN);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_and_the_defaults_of_common_clients_are_read_as_json),
        cmocka_unit_test(other_media_types_are_refused),
        cmocka_unit_test(shared_v1_paths_answer_in_the_callers_dialect),
        cmocka_unit_test(dialect_paths_and_non_api_paths_keep_theirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
