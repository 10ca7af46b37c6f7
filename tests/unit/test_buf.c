/* buf_t: appends within the limit, and sizes whose sums would wrap around are refused, never "reserved". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

static void appends_stay_nul_terminated_and_consume_keeps_the_rest(void **state) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "hello "), 0);
    assert_int_equal(buf_appendf(&b, "%s %d", "world", 42), 0);
    assert_string_equal(buf_cstr(&b), "hello world 42");
    buf_consume(&b, 6);
    assert_string_equal(buf_cstr(&b), "world 42");
    assert_int_equal(b.len, 8);
    buf_free(&b);
}

static void append_past_the_limit_fails_and_keeps_the_contents(void **state) {
    buf_t b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "12345678", 8), 0);
    assert_int_equal(buf_append(&b, "9", 1), -ENOBUFS);
    assert_string_equal(buf_cstr(&b), "12345678");
    buf_free(&b);
}

static void a_size_that_wraps_is_refused_without_a_limit(void **state) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    /* len + extra + 1 wraps to a small number: it must not pass as "fits the capacity". */
    assert_int_not_equal(buf_reserve(&b, SIZE_MAX - 3), 0);
    assert_int_not_equal(buf_reserve(&b, SIZE_MAX), 0);
    assert_int_not_equal(buf_reserve(&b, SIZE_MAX / 2 + 1), 0);
    assert_int_equal(b.len, 3);
    buf_free(&b);
}

static void a_size_that_wraps_does_not_slip_under_a_limit(void **state) {
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_reserve(&b, SIZE_MAX - 1), -ENOBUFS);
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_stay_nul_terminated_and_consume_keeps_the_rest),
        cmocka_unit_test(append_past_the_limit_fails_and_keeps_the_contents),
        cmocka_unit_test(a_size_that_wraps_is_refused_without_a_limit),
        cmocka_unit_test(a_size_that_wraps_does_not_slip_under_a_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
