/* SSE framing: event line, one data line per data line whatever the line ending, the closing blank line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/sse.h"

static void expect_frame(const char *event, const char *data, size_t len, const char *want) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(sse_format_event(&b, event, data, len), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void named_event_with_one_line(void **state) {
    const char *d = "{\"type\":\"ping\"}";
    expect_frame("ping", d, strlen(d), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
}

static void unnamed_event_has_only_data(void **state) { expect_frame(NULL, "[DONE]", 6, "data: [DONE]\n\n"); }

static void each_data_line_gets_its_own_field(void **state) {
    expect_frame("m", "a\nb\nc", 5, "event: m\ndata: a\ndata: b\ndata: c\n\n");
}

static void crlf_and_lone_cr_are_line_ends_too(void **state) {
    expect_frame(NULL, "a\r\nb\rc", 6, "data: a\ndata: b\ndata: c\n\n");
}

static void trailing_newline_keeps_an_empty_last_line(void **state) {
    /* a client joins data lines with \n: "a\n" comes back as "a\n" */
    expect_frame(NULL, "a\n", 2, "data: a\ndata: \n\n");
}

static void empty_data_is_one_empty_data_line(void **state) {
    /* without any data line a client would drop the event */
    expect_frame("e", "", 0, "event: e\ndata: \n\n");
    expect_frame("e", NULL, 0, "event: e\ndata: \n\n");
}

static void only_len_bytes_are_framed(void **state) { expect_frame(NULL, "abcdef", 3, "data: abc\n\n"); }

static void event_name_with_newline_is_refused(void **state) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(sse_format_event(&b, "evil\ndata: x", "y", 1), -EINVAL);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void appends_after_what_is_there(void **state) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(sse_format_event(&b, "a", "1", 1), 0);
    assert_int_equal(sse_format_event(&b, "b", "2", 1), 0);
    assert_string_equal(buf_cstr(&b), "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
    buf_free(&b);
}

static void buffer_limit_is_reported(void **state) {
    buf_t b;
    buf_init(&b, 16);
    assert_int_equal(sse_format_event(&b, "message", "0123456789", 10), -ENOBUFS);
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_event_with_one_line),
        cmocka_unit_test(unnamed_event_has_only_data),
        cmocka_unit_test(each_data_line_gets_its_own_field),
        cmocka_unit_test(crlf_and_lone_cr_are_line_ends_too),
        cmocka_unit_test(trailing_newline_keeps_an_empty_last_line),
        cmocka_unit_test(empty_data_is_one_empty_data_line),
        cmocka_unit_test(only_len_bytes_are_framed),
        cmocka_unit_test(event_name_with_newline_is_refused),
        cmocka_unit_test(appends_after_what_is_there),
        cmocka_unit_test(buffer_limit_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
