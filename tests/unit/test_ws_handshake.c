/* WebSocket transport without a loop: upgrade parsing, accept key, tokens (its lines: test_ndjson.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transport/websocket_internal.h"

#define CLI_REQUEST                                                                                          \
    "GET /session/abc?x=1 HTTP/1.1\r\n"                                                                      \
    "Sec-WebSocket-Version: 13\r\n"                                                                          \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                                        \
    "Connection: Upgrade\r\n"                                                                                \
    "Upgrade: websocket\r\n"                                                                                 \
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"                               \
    "Authorization: Bearer tok-123\r\n"                                                                      \
    "Host: 127.0.0.1:8765\r\n\r\n"

static int parse(ws_handshake_t *h, const char *req, size_t max) {
    size_t used = 0;
    ws_handshake_init(h, max);
    ws_handshake_feed(h, req, strlen(req), &used);
    return ws_handshake_check(h);
}

static void accept_key_matches_rfc6455_example(void **state) {
    char out[WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_int_equal(ws_accept_key(key, strlen(key), out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 section 1.3 */
}

static void cli_upgrade_request_is_accepted_with_its_bearer_token(void **state) {
    ws_handshake_t h;
    assert_int_equal(parse(&h, CLI_REQUEST, 16384), 0);
    assert_string_equal(h.values[WS_HS_PATH].text, "/session/abc?x=1");
    assert_string_equal(h.values[WS_HS_KEY].text, "dGhlIHNhbXBsZSBub25jZQ==");
    size_t len = 0;
    const char *tok = ws_handshake_bearer(&h, &len);
    assert_non_null(tok);
    assert_int_equal(len, 7);
    assert_memory_equal(tok, "tok-123", 7);
}

static void request_fed_byte_by_byte_stops_before_early_frames(void **state) {
    const char *req = CLI_REQUEST "\x81\x85";
    size_t total = strlen(req), head = strlen(CLI_REQUEST), used = 0, at = 0;
    ws_handshake_t h;
    ws_handshake_init(&h, 16384);
    ws_hs_state_t st = WS_HS_READING;
    while (st == WS_HS_READING && at < total) {
        st = ws_handshake_feed(&h, req + at, 1, &used);
        at += used;
    }
    assert_int_equal(st, WS_HS_COMPLETE);
    assert_int_equal(at, head);
    /* A request and its first frame in one read: the frame bytes are left over. */
    ws_handshake_init(&h, 16384);
    assert_int_equal(ws_handshake_feed(&h, req, total, &used), WS_HS_COMPLETE);
    assert_int_equal(used, head);
    assert_int_equal(ws_handshake_check(&h), 0);
}

static void bad_requests_get_fitting_statuses(void **state) {
    ws_handshake_t h;
    assert_int_equal(parse(&h, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 16384), 426);
    assert_int_equal(parse(&h,
                           "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 8\r\n\r\n",
                           16384),
                     426);
    assert_int_equal(parse(&h,
                           "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n",
                           16384),
                     400); /* no key */
    assert_int_equal(parse(&h,
                           "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
                           16384),
                     405);
    assert_int_equal(parse(&h,
                           "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: http://evil\r\n"
                           "Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n\r\n",
                           16384),
                     403);
    assert_int_equal(parse(&h, "\x16\x03\x01 not http\r\n\r\n", 16384), 400);
    assert_int_equal(parse(&h, CLI_REQUEST, 64), 431);
}

static void connection_header_lists_are_matched_as_tokens(void **state) {
    ws_handshake_t h;
    assert_int_equal(parse(&h,
                           "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                           "Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n\r\n",
                           16384),
                     0);
    assert_int_equal(parse(&h,
                           "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgraded\r\n"
                           "Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n\r\n",
                           16384),
                     426);
}

static void bearer_parsing_is_strict_about_the_scheme(void **state) {
    ws_handshake_t h;
    size_t len = 0;
    parse(&h, "GET / HTTP/1.1\r\nAuthorization: bearer   abc  \r\n\r\n", 16384);
    const char *tok = ws_handshake_bearer(&h, &len);
    assert_non_null(tok);
    assert_int_equal(len, 3);
    assert_memory_equal(tok, "abc", 3);
    parse(&h, "GET / HTTP/1.1\r\nAuthorization: Basic abc\r\n\r\n", 16384);
    assert_null(ws_handshake_bearer(&h, &len));
    parse(&h, "GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n", 16384);
    assert_null(ws_handshake_bearer(&h, &len));
    parse(&h, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 16384);
    assert_null(ws_handshake_bearer(&h, &len));
}

static void token_check_accepts_only_the_exact_token(void **state) {
    char token[64];
    unsigned char digest[WS_DIGEST_LEN];
    assert_int_equal(ws_random_token(token, sizeof token), 0);
    assert_int_equal(strlen(token), 43);
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    ws_token_digest(token, strlen(token), digest);
    assert_true(ws_token_matches(digest, token, strlen(token)));
    assert_false(ws_token_matches(digest, token, strlen(token) - 1));
    assert_false(ws_token_matches(digest, "", 0));
    char other[64];
    memcpy(other, token, sizeof other);
    other[10] = other[10] == 'A' ? 'B' : 'A';
    assert_false(ws_token_matches(digest, other, strlen(other)));
    char token2[64];
    assert_int_equal(ws_random_token(token2, sizeof token2), 0);
    assert_string_not_equal(token, token2);
    assert_int_equal(ws_random_token(token2, 43), -ENOBUFS);
}

static void random_paths_are_unique_session_paths(void **state) {
    char a[64], b[64];
    assert_int_equal(ws_random_path(a, sizeof a), 0);
    assert_int_equal(ws_random_path(b, sizeof b), 0);
    assert_int_equal(strncmp(a, "/session/", 9), 0);
    assert_int_equal(strlen(a), 9 + 32);
    assert_int_equal(strspn(a + 9, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

static void only_loopback_hosts_are_allowed(void **state) {
    assert_true(ws_host_is_loopback("127.0.0.1"));
    assert_true(ws_host_is_loopback("127.1.2.3"));
    assert_true(ws_host_is_loopback("::1"));
    assert_true(ws_host_is_loopback("localhost"));
    assert_false(ws_host_is_loopback("0.0.0.0"));
    assert_false(ws_host_is_loopback("::"));
    assert_false(ws_host_is_loopback("192.168.1.2"));
    assert_false(ws_host_is_loopback("example.com"));
}

static void responses_carry_status_and_accept_key(void **state) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(ws_response_accept(&b, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 0);
    assert_non_null(strstr(buf_cstr(&b), "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(buf_cstr(&b), "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    buf_reset(&b);
    assert_int_equal(ws_response_refuse(&b, 401), 0);
    assert_int_equal(strncmp(buf_cstr(&b), "HTTP/1.1 401 Unauthorized\r\n", 27), 0);
    assert_non_null(strstr(buf_cstr(&b), "\r\n\r\nUnauthorized\n"));
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_key_matches_rfc6455_example),
        cmocka_unit_test(cli_upgrade_request_is_accepted_with_its_bearer_token),
        cmocka_unit_test(request_fed_byte_by_byte_stops_before_early_frames),
        cmocka_unit_test(bad_requests_get_fitting_statuses),
        cmocka_unit_test(connection_header_lists_are_matched_as_tokens),
        cmocka_unit_test(bearer_parsing_is_strict_about_the_scheme),
        cmocka_unit_test(token_check_accepts_only_the_exact_token),
        cmocka_unit_test(random_paths_are_unique_session_paths),
        cmocka_unit_test(only_loopback_hosts_are_allowed),
        cmocka_unit_test(responses_carry_status_and_accept_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
