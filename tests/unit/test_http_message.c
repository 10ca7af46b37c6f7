/* HTTP message pieces: response heads, request targets, header checks, request ids, chunk sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/message.h"

static char *head_of(const http_head_t *h) {
    static char out[512];
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(http_format_head(&b, h), 0);
    snprintf(out, sizeof out, "%s", buf_cstr(&b));
    buf_free(&b);
    return out;
}

static void keep_alive_1_1_response_with_length(void **state) {
    http_head_t h = {.status = 200, .http_minor = 1, .content_type = "application/json", .framing = HTTP_BODY_LENGTH,
                     .body_len = 12, .is_keep_alive = true, .extra = "request-id: req_1\r\n"};
    assert_string_equal(head_of(&h), "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n"
                                     "request-id: req_1\r\n\r\n");
}

static void closing_chunked_response(void **state) {
    http_head_t h = {.status = 200, .http_minor = 1, .content_type = "text/event-stream",
                     .framing = HTTP_BODY_CHUNKED, .is_keep_alive = false};
    assert_string_equal(head_of(&h), "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                     "transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
}

static void http_1_0_says_keep_alive_only_when_kept(void **state) {
    http_head_t h = {.status = 404, .http_minor = 0, .framing = HTTP_BODY_LENGTH, .body_len = 0, .is_keep_alive = true};
    assert_string_equal(head_of(&h), "HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n");
    h.is_keep_alive = false;
    assert_string_equal(head_of(&h), "HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

static void no_body_statuses_get_no_framing(void **state) {
    http_head_t h = {.status = 204, .http_minor = 1, .content_type = "text/plain", .framing = HTTP_BODY_NONE,
                     .is_keep_alive = true};
    assert_string_equal(head_of(&h), "HTTP/1.1 204 No Content\r\n\r\n");
    assert_true(http_status_has_no_body(204));
    assert_true(http_status_has_no_body(304));
    assert_true(http_status_has_no_body(100));
    assert_false(http_status_has_no_body(200));
    assert_false(http_status_has_no_body(404));
}

static void odd_statuses_have_texts_or_unknown(void **state) {
    assert_string_equal(http_status_reason(413), "Content Too Large");
    assert_string_equal(http_status_reason(529), "Overloaded");
    assert_string_equal(http_status_reason(499), "Client Closed Request");
    assert_string_equal(http_status_reason(299), "Unknown");
    http_head_t h = {.status = 42, .http_minor = 1, .framing = HTTP_BODY_NONE, .is_keep_alive = true};
    assert_string_equal(head_of(&h), "HTTP/1.1 500 Internal Server Error\r\n\r\n");
}

static void split(const char *target, const char *want_path, const char *want_query) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", target);
    const char *path = NULL, *query = NULL;
    http_split_target(buf, &path, &query);
    assert_string_equal(path, want_path);
    assert_string_equal(query, want_query);
}

static void target_splits_into_path_and_query(void **state) {
    split("/v1/models", "/v1/models", "");
    split("/v1/models?limit=2&after=x", "/v1/models", "limit=2&after=x");
    split("/a?", "/a", "");
    split("/a#frag", "/a", "");
    split("/a?q=1#frag", "/a", "q=1");
    split("*", "*", "");
}

static void absolute_form_keeps_only_the_path(void **state) {
    split("http://example.com/v1/messages?beta=true", "/v1/messages", "beta=true");
    split("HTTPS://example.com:8443/x", "/x", "");
    split("http://example.com", "/", "");
    split("http://example.com?q=1", "/", "q=1");
}

static void header_names_and_values_are_checked(void **state) {
    assert_true(http_header_name_is_valid("x-request-id"));
    assert_true(http_header_name_is_valid("Retry-After"));
    assert_false(http_header_name_is_valid(""));
    assert_false(http_header_name_is_valid("bad name"));
    assert_false(http_header_name_is_valid("x:y"));
    assert_false(http_header_name_is_valid(NULL));
    assert_true(http_header_value_is_valid("text/plain; charset=utf-8"));
    assert_true(http_header_value_is_valid(""));
    assert_false(http_header_value_is_valid("a\r\nset-cookie: x"));
    assert_false(http_header_value_is_valid("a\nb"));
    assert_true(http_header_is_reserved("Content-Length"));
    assert_true(http_header_is_reserved("transfer-encoding"));
    assert_true(http_header_is_reserved("Connection"));
    assert_false(http_header_is_reserved("content-type"));
    assert_false(http_header_is_reserved("retry-after"));
}

static void header_tokens_are_found_in_lists(void **state) {
    assert_true(http_header_has_token("100-continue", "100-continue"));
    assert_true(http_header_has_token("  100-Continue ", "100-continue"));
    assert_true(http_header_has_token("keep-alive, Upgrade", "upgrade"));
    assert_false(http_header_has_token("100-continued", "100-continue"));
    assert_false(http_header_has_token("", "close"));
    assert_false(http_header_has_token(NULL, "close"));
}

static void request_id_is_req_and_24_hex_digits(void **state) {
    unsigned char rnd[12] = {0x00, 0x01, 0xab, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};
    char id[HTTP_REQUEST_ID_LEN + 1];
    memset(id, 'x', sizeof id);
    http_request_id_format(id, rnd);
    assert_string_equal(id, "req_0001abff1020304050607080");
    assert_int_equal(strlen(id), HTTP_REQUEST_ID_LEN);
}

static void chunk_prefix_is_hex_size_line(void **state) {
    char out[20];
    assert_int_equal(http_chunk_prefix(out, 1), 3);
    assert_string_equal(out, "1\r\n");
    http_chunk_prefix(out, 0x1a2b);
    assert_string_equal(out, "1a2b\r\n");
    http_chunk_prefix(out, 65536);
    assert_string_equal(out, "10000\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keep_alive_1_1_response_with_length),
        cmocka_unit_test(closing_chunked_response),
        cmocka_unit_test(http_1_0_says_keep_alive_only_when_kept),
        cmocka_unit_test(no_body_statuses_get_no_framing),
        cmocka_unit_test(odd_statuses_have_texts_or_unknown),
        cmocka_unit_test(target_splits_into_path_and_query),
        cmocka_unit_test(absolute_form_keeps_only_the_path),
        cmocka_unit_test(header_names_and_values_are_checked),
        cmocka_unit_test(header_tokens_are_found_in_lists),
        cmocka_unit_test(request_id_is_req_and_24_hex_digits),
        cmocka_unit_test(chunk_prefix_is_hex_size_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
