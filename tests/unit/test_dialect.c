/* Dialects by path (moved from test_router.c: http/ knows no dialect). */
#include <setjmp.h>
#include <stdarg.h>
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dialect_follows_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
