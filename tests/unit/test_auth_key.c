/* The proxy's own API key: when it is required, which keys pass, Bearer parsing (src/config.c,
 * src/api/dispatch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/dispatch.h"
#include "config.h"

static int setup(void **state) {
    config_t *cfg = calloc(1, sizeof *cfg);
    config_init_defaults(cfg);
    *state = cfg;
    return 0;
}

static int teardown(void **state) {
    config_free(*state);
    free(*state);
    return 0;
}

static void set(char **field, const char *value) {
    free(*field);
    *field = strdup(value);
}

static void open_by_default(void **state) {
    config_t *cfg = *state;
    assert_false(config_is_key_required(cfg));
    /* An apiKey alone does not close the proxy: requireApiKey does, like the reference. */
    set(&cfg->api_key, "secret");
    assert_false(config_is_key_required(cfg));
    cfg->require_api_key = true;
    assert_true(config_is_key_required(cfg));
}

static void legacy_auth_token_alone_requires_a_key(void **state) {
    config_t *cfg = *state;
    set(&cfg->auth_token, "legacy");
    assert_true(config_is_key_required(cfg));
    assert_true(config_is_key_accepted(cfg, "legacy"));
    assert_false(config_is_key_accepted(cfg, "legacy "));
    assert_false(config_is_key_accepted(cfg, ""));
}

static void the_exact_key_is_accepted_and_near_misses_are_not(void **state) {
    config_t *cfg = *state;
    set(&cfg->api_key, "sk-proxy-0123456789");
    cfg->require_api_key = true;
    assert_true(config_is_key_accepted(cfg, "sk-proxy-0123456789"));
    const char *wrong[] = {"sk-proxy-012345678", "sk-proxy-01234567890", "SK-PROXY-0123456789", "sk-proxy-0123456788",
                           "", "x"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        if (config_is_key_accepted(cfg, wrong[i])) fail_msg("\"%s\" should be refused", wrong[i]);
    assert_false(config_is_key_accepted(cfg, NULL));
}

static void both_keys_are_accepted_when_both_are_set(void **state) {
    config_t *cfg = *state;
    set(&cfg->api_key, "new-key");
    set(&cfg->auth_token, "old-token");
    cfg->require_api_key = true;
    assert_true(config_is_key_accepted(cfg, "new-key"));
    assert_true(config_is_key_accepted(cfg, "old-token"));
    assert_false(config_is_key_accepted(cfg, "new-keyold-token"));
}

static void empty_settings_accept_nothing(void **state) {
    config_t *cfg = *state;
    assert_false(config_is_key_accepted(cfg, ""));
    assert_false(config_is_key_accepted(cfg, "anything"));
}

static void bearer_tokens_parse(void **state) {
    (void)state;
    view_t t;
    assert_true(app_bearer_token("Bearer abc", &t));
    assert_int_equal(t.len, 3);
    assert_memory_equal(t.ptr, "abc", 3);
    assert_true(app_bearer_token("bearer   sk-1 \t", &t));
    assert_int_equal(t.len, 4);
    assert_memory_equal(t.ptr, "sk-1", 4);
    assert_true(app_bearer_token("  BEARER x", &t));
    assert_int_equal(t.len, 1);
    const char *bad[] = {"Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Bearerabc", "abc", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (app_bearer_token(bad[i], &t)) fail_msg("\"%s\" should not parse", bad[i]);
    assert_false(app_bearer_token(NULL, &t));
}

static void requests_pass_with_either_header(void **state) {
    config_t *cfg = *state;
    set(&cfg->api_key, "k");
    cfg->require_api_key = true;
    assert_true(app_is_request_authorized(cfg, "k", NULL));
    assert_true(app_is_request_authorized(cfg, NULL, "Bearer k"));
    assert_true(app_is_request_authorized(cfg, "wrong", "Bearer k"));
    assert_true(app_is_request_authorized(cfg, "k", "Bearer wrong"));
    assert_false(app_is_request_authorized(cfg, "wrong", "Bearer wrong"));
    assert_false(app_is_request_authorized(cfg, NULL, "Basic k"));
    assert_false(app_is_request_authorized(cfg, NULL, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_auth_token_alone_requires_a_key, setup, teardown),
        cmocka_unit_test_setup_teardown(the_exact_key_is_accepted_and_near_misses_are_not, setup, teardown),
        cmocka_unit_test_setup_teardown(both_keys_are_accepted_when_both_are_set, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_settings_accept_nothing, setup, teardown),
        cmocka_unit_test(bearer_tokens_parse),
        cmocka_unit_test_setup_teardown(requests_pass_with_either_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
