/* Which credential the CLI will use, from the environment and the credentials file; tokens never leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"

#define NOW 1800000000000LL

static auth_status_t resolve(const char *oauth, const char *api_key, const char *file) {
    auth_sources_t src = {.oauth_token_env = oauth, .api_key_env = api_key, .credentials_json = file,
                          .credentials_len = file ? strlen(file) : 0, .now_ms = NOW};
    auth_status_t st;
    auth_status_resolve(&src, &st);
    return st;
}

#define VALID_FILE                                                                                            \
    "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-SECRET\",\"refreshToken\":\"sk-ant-ort01-SECRET\","    \
    "\"expiresAt\":1800003600000,\"scopes\":[\"user:inference\"],\"subscriptionType\":\"max\"}}"

static void nothing_means_not_authenticated(void **state) {
    auth_status_t st = resolve(NULL, NULL, NULL);
    assert_false(st.authenticated);
    assert_string_equal(st.method, "none");
    assert_null(st.subscription);
    assert_int_equal(st.expires_at_ms, 0);
}

static void oauth_token_env_wins_over_everything(void **state) {
    auth_status_t st = resolve("sk-ant-oat01-env", "sk-ant-api-key", VALID_FILE);
    assert_true(st.authenticated);
    assert_false(st.expired);
    assert_string_equal(st.method, "oauth_token_env");
    assert_null(st.subscription);
}

static void api_key_env_wins_over_the_file(void **state) {
    auth_status_t st = resolve(NULL, "sk-ant-api-key", VALID_FILE);
    assert_true(st.authenticated);
    assert_string_equal(st.method, "api_key_env");
}

static void empty_env_values_are_ignored(void **state) {
    auth_status_t st = resolve("", "", VALID_FILE);
    assert_string_equal(st.method, "credentials_file");
}

static void valid_file_is_authenticated_with_expiry_and_plan(void **state) {
    auth_status_t st = resolve(NULL, NULL, VALID_FILE);
    assert_true(st.authenticated);
    assert_false(st.expired);
    assert_true(st.has_refresh_token);
    assert_string_equal(st.method, "credentials_file");
    assert_int_equal(st.expires_at_ms, 1800003600000LL);
    assert_string_equal(st.subscription, "max");
}

static void expired_without_refresh_token_is_not_authenticated(void **state) {
    auth_status_t st = resolve(NULL, NULL,
                               "{\"claudeAiOauth\":{\"accessToken\":\"a\",\"expiresAt\":1799999999999,"
                               "\"subscriptionType\":\"pro\"}}");
    assert_false(st.authenticated);
    assert_true(st.expired);
    assert_false(st.has_refresh_token);
    assert_string_equal(st.subscription, "pro");
}

static void expired_with_refresh_token_still_counts(void **state) {
    auth_status_t st = resolve(NULL, NULL,
                               "{\"claudeAiOauth\":{\"accessToken\":\"a\",\"refreshToken\":\"r\","
                               "\"expiresAt\":1700000000000}}");
    assert_true(st.authenticated);
    assert_true(st.expired);
    assert_null(st.subscription);
}

static void expiry_exactly_now_is_expired(void **state) {
    auth_status_t st = resolve(NULL, NULL, "{\"claudeAiOauth\":{\"accessToken\":\"a\",\"expiresAt\":1800000000000}}");
    assert_true(st.expired);
    assert_false(st.authenticated);
}

static void missing_expiry_is_unknown_not_expired(void **state) {
    auth_status_t st = resolve(NULL, NULL, "{\"claudeAiOauth\":{\"accessToken\":\"a\"}}");
    assert_true(st.authenticated);
    assert_false(st.expired);
    assert_int_equal(st.expires_at_ms, 0);
}

static void broken_or_foreign_files_mean_none(void **state) {
    const char *files[] = {"", "not json", "[]", "{}", "{\"claudeAiOauth\":null}", "{\"claudeAiOauth\":{}}",
                           "{\"claudeAiOauth\":{\"accessToken\":\"\"}}", "{\"claudeAiOauth\":{\"accessToken\":42}}",
                           "{\"mcpOAuth\":{\"x\":{\"accessToken\":\"a\"}}}"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        auth_status_t st = resolve(NULL, NULL, files[i]);
        assert_false(st.authenticated);
        assert_string_equal(st.method, "none");
    }
}

static void long_subscription_is_truncated_not_overflowed(void **state) {
    auth_status_t st = resolve(NULL, NULL,
                               "{\"claudeAiOauth\":{\"accessToken\":\"a\",\"subscriptionType\":"
                               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}");
    assert_int_equal(strlen(st.subscription), sizeof st.subscription_buf - 1);
}

static void status_never_holds_a_token(void **state) {
    auth_status_t st = resolve(NULL, NULL, VALID_FILE);
    const char *bytes = (const char *)&st;
    for (size_t i = 0; i + 6 <= sizeof st; i++) assert_false(memcmp(bytes + i, "SECRET", 6) == 0);
}

static void credentials_path_follows_the_clis_order(void **state) {
    char p[256];
    assert_int_equal(auth_credentials_path("/cfg", "/env", "/home/u", p, sizeof p), 0);
    assert_string_equal(p, "/cfg/.credentials.json");
    assert_int_equal(auth_credentials_path("", "/env", "/home/u", p, sizeof p), 0);
    assert_string_equal(p, "/env/.credentials.json");
    assert_int_equal(auth_credentials_path(NULL, NULL, "/home/u", p, sizeof p), 0);
    assert_string_equal(p, "/home/u/.claude/.credentials.json");
    assert_int_equal(auth_credentials_path(NULL, NULL, NULL, p, sizeof p), -1);
    char tiny[8];
    assert_int_equal(auth_credentials_path("/a/long/dir", NULL, NULL, tiny, sizeof tiny), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_means_not_authenticated),
        cmocka_unit_test(oauth_token_env_wins_over_everything),
        cmocka_unit_test(api_key_env_wins_over_the_file),
        cmocka_unit_test(empty_env_values_are_ignored),
        cmocka_unit_test(valid_file_is_authenticated_with_expiry_and_plan),
        cmocka_unit_test(expired_without_refresh_token_is_not_authenticated),
        cmocka_unit_test(expired_with_refresh_token_still_counts),
        cmocka_unit_test(expiry_exactly_now_is_expired),
        cmocka_unit_test(missing_expiry_is_unknown_not_expired),
        cmocka_unit_test(broken_or_foreign_files_mean_none),
        cmocka_unit_test(long_subscription_is_truncated_not_overflowed),
        cmocka_unit_test(status_never_holds_a_token),
        cmocka_unit_test(credentials_path_follows_the_clis_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
