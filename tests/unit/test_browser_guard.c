/* Origin and Host rules: who counts as ourselves, what the lists allow, and when the Host check applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/browser_guard.h"

static config_t cfg_with(const char *host, const char *origins, const char *hosts) {
    config_t c;
    config_init_defaults(&c);
    free(c.host);
    free(c.allowed_origins);
    free(c.allowed_hosts);
    c.host = strdup(host);
    c.allowed_origins = strdup(origins);
    c.allowed_hosts = strdup(hosts);
    return c;
}

static void no_origin_and_own_origin_pass(void **state) {
    (void)state;
    config_t c = cfg_with("127.0.0.1", "", "");
    assert_int_equal(guard_check(&c, "/v1/messages", "127.0.0.1:3456", NULL), GUARD_ALLOW);
    assert_int_equal(guard_check(&c, "/v1/messages", NULL, NULL), GUARD_ALLOW);
    assert_int_equal(guard_check(&c, "/", "localhost:3456", "http://localhost:3456"), GUARD_ALLOW);
    assert_int_equal(guard_check(&c, "/", "[::1]:3456", "http://[::1]:3456"), GUARD_ALLOW);
    config_free(&c);
}

static void foreign_origins_are_refused(void **state) {
    (void)state;
    config_t c = cfg_with("127.0.0.1", "", "");
    const char *bad[] = {"https://evil.example", "null", "http://127.0.0.1:5173", "http://127.0.0.1:3456.evil",
                         "file://", "http://127.0.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(guard_check(&c, "/v1/messages", "127.0.0.1:3456", bad[i]), GUARD_REFUSE_ORIGIN);
    assert_int_equal(guard_check(&c, "/health", "127.0.0.1:3456", "https://evil.example"), GUARD_ALLOW);
    config_free(&c);
}

static void hosts_on_loopback(void **state) {
    (void)state;
    config_t c = cfg_with("127.0.0.1", "", "proxy.lan");
    const char *good[] = {"127.0.0.1", "127.0.0.1:1", "localhost", "LOCALHOST:80", "[::1]:9", "app.localhost:3",
                          "proxy.lan", "proxy.lan:3456"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) assert_true(guard_is_host_allowed(&c, good[i]));
    const char *bad[] = {"evil.example", "127.0.0.1.evil.example", "[::1", ":80", "localhost.evil", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(guard_is_host_allowed(&c, bad[i]));
        assert_int_equal(guard_check(&c, "/v1/models", bad[i], NULL), GUARD_REFUSE_HOST);
    }
    config_free(&c);
}

static void host_check_off_on_all_interfaces_unless_listed(void **state) {
    (void)state;
    config_t c = cfg_with("0.0.0.0", "", "");
    assert_int_equal(guard_check(&c, "/v1/models", "my-server:3456", NULL), GUARD_ALLOW);
    config_free(&c);
    c = cfg_with("0.0.0.0", "", "my-server");
    assert_int_equal(guard_check(&c, "/v1/models", "my-server:3456", NULL), GUARD_ALLOW);
    assert_int_equal(guard_check(&c, "/v1/models", "evil:3456", NULL), GUARD_REFUSE_HOST);
    config_free(&c);
}

static void listed_origins_get_cors(void **state) {
    (void)state;
    config_t c = cfg_with("127.0.0.1", "https://a.example, https://b.example", "");
    assert_int_equal(guard_check(&c, "/v1/messages", "127.0.0.1", "https://b.example"), GUARD_ALLOW_CORS);
    assert_int_equal(guard_check(&c, "/v1/messages", "127.0.0.1", "https://c.example"), GUARD_REFUSE_ORIGIN);
    config_free(&c);
    c = cfg_with("127.0.0.1", "*", "");
    assert_int_equal(guard_check(&c, "/v1/messages", "127.0.0.1", "https://c.example"), GUARD_ALLOW_CORS);
    config_free(&c);
    char out[128];
    guard_preflight_headers("content-type, x-api-key", out, sizeof out);
    assert_string_equal(out, "content-type, x-api-key");
    guard_preflight_headers("a\r\nSet-Cookie: x", out, sizeof out);
    assert_non_null(strstr(out, "anthropic-version"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_origin_and_own_origin_pass),
        cmocka_unit_test(foreign_origins_are_refused),
        cmocka_unit_test(hosts_on_loopback),
        cmocka_unit_test(host_check_off_on_all_interfaces_unless_listed),
        cmocka_unit_test(listed_origins_get_cors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
