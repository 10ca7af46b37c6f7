/* Dialects by path (moved from test_router.c: http/ knows no dialect). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/dialect.h"

static void dialect_follows_the_path(void **state) {
    assert_int_equal(api_dialect_for_path("/v1/messages"), DIALECT_ANTHROPIC);
    assert_int_equal(api_dialect_for_path("/v1/messages/count_tokens"), DIALECT_ANTHROPIC);
    assert_int_equal(api_dialect_for_path("/v1/messages/batches/x"), DIALECT_ANTHROPIC);
    assert_int_equal(api_dialect_for_path("/v1/chat/completions"), DIALECT_OPENAI);
    assert_int_equal(api_dialect_for_path("/v1/chat/completions/abc"), DIALECT_OPENAI);
    assert_int_equal(api_dialect_for_path("/v1/completions"), DIALECT_OPENAI);
    assert_int_equal(api_dialect_for_path("/v1/responses/resp_1"), DIALECT_OPENAI);
    assert_int_equal(api_dialect_for_path("/v1/models"), DIALECT_PLAIN);
    assert_int_equal(api_dialect_for_path("/health"), DIALECT_PLAIN);
    assert_int_equal(api_dialect_for_path("/"), DIALECT_PLAIN);
    assert_int_equal(api_dialect_for_path(NULL), DIALECT_PLAIN);
}

static void assert_canonical(const char *in, const char *want) {
    char out[64];
    bool changed = api_canonical_path(in, out, sizeof out);
    if (want) {
        assert_true(changed);
        assert_string_equal(out, want);
    } else {
        assert_false(changed);
    }
}

static void api_paths_are_served_without_v1_and_with_stray_slashes(void **state) {
    assert_canonical("/messages", "/v1/messages");
    assert_canonical("/messages/count_tokens", "/v1/messages/count_tokens");
    assert_canonical("/chat/completions", "/v1/chat/completions");
    assert_canonical("/responses/resp_1", "/v1/responses/resp_1");
    assert_canonical("/models", "/v1/models");
    assert_canonical("/v1//messages", "/v1/messages");     /* SillyTavern with "/v1/" as its base */
    assert_canonical("//v1/chat/completions/", "/v1/chat/completions");
    assert_canonical("/v1/", "/v1");
    assert_canonical("/v1/v1/messages", "/v1/messages"); /* Anthropic SDK with a /v1 base URL */
    assert_canonical("/v1/v1", "/v1");
    assert_canonical("/v1/v1x", NULL);
    /* already canonical, or not an API path: untouched */
    assert_canonical("/v1/messages", NULL);
    assert_canonical("/", NULL);
    assert_canonical("/health", NULL);
    assert_canonical("/auth/status", NULL);
    assert_canonical("/messagesx", NULL);
    assert_canonical("/metrics", NULL);
}

static void a_path_that_does_not_fit_is_left_alone(void **state) {
    char out[8];
    assert_false(api_canonical_path("/messages", out, sizeof out));
    assert_false(api_canonical_path("/abcdefghijk", out, sizeof out));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dialect_follows_the_path),
        cmocka_unit_test(api_paths_are_served_without_v1_and_with_stray_slashes),
        cmocka_unit_test(a_path_that_does_not_fit_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
