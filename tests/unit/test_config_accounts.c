/* The accounts setting: several logins, each named in every message about it (src/config_accounts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

typedef struct {
    char dir[64];
    char path[128];
    config_t cfg;
    char err[512];
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cwp-accounts-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/config.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    config_free(&f->cfg);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int load(fixture_t *f, const char *json) {
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(json, fp);
    fclose(fp);
    config_free(&f->cfg);
    f->err[0] = '\0';
    char *env[] = {NULL};
    return config_load(&f->cfg, f->path, env, f->err, sizeof f->err);
}

static void assert_fails_naming(fixture_t *f, const char *json, const char *needle, const char *secret) {
    assert_int_equal(load(f, json), -1);
    if (!strstr(f->err, needle)) fail_msg("error \"%s\" does not name \"%s\"", f->err, needle);
    if (secret && strstr(f->err, secret)) fail_msg("error \"%s\" shows the secret", f->err);
    assert_null(strchr(f->err, '\n'));
}

static void without_accounts_there_is_none_and_extra_usage_is_allowed(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f, "{}"), 0);
    assert_int_equal(f->cfg.account_count, 0);
    assert_null(f->cfg.accounts);
    assert_true(f->cfg.allow_extra_usage);
    assert_int_equal(f->cfg.account_backoff_ms, 60000);
    assert_int_equal(load(f, "{\"accounts\": []}"), 0);
    assert_int_equal(f->cfg.account_count, 0);
}

static void the_three_kinds_parse_with_priorities(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f, "{\"allowExtraUsage\": false, \"accountBackoffMs\": 1500, \"accounts\": ["
                             "{\"name\": \"work\", \"claudeConfigDir\": \"/data/work\"},"
                             "{\"name\": \"personal\", \"oauthToken\": \"sk-ant-oat01-x\"},"
                             "{\"name\": \"console\", \"apiKey\": \"sk-ant-api03-y\", \"priority\": 2}]}"),
                     0);
    assert_int_equal(f->cfg.account_count, 3);
    assert_false(f->cfg.allow_extra_usage);
    assert_int_equal(f->cfg.account_backoff_ms, 1500);
    assert_string_equal(f->cfg.accounts[0].name, "work");
    assert_int_equal(f->cfg.accounts[0].kind, ACCOUNT_CONFIG_DIR);
    assert_string_equal(f->cfg.accounts[0].credential, "/data/work");
    assert_int_equal(f->cfg.accounts[0].priority, 1);
    assert_int_equal(f->cfg.accounts[1].kind, ACCOUNT_OAUTH_TOKEN);
    assert_string_equal(f->cfg.accounts[1].credential, "sk-ant-oat01-x");
    assert_int_equal(f->cfg.accounts[2].kind, ACCOUNT_API_KEY);
    assert_int_equal(f->cfg.accounts[2].priority, 2);
    assert_string_equal(config_account_kind_name(ACCOUNT_API_KEY), "api_key");
}

static void bad_accounts_fail_naming_the_account(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"a\", \"apiKey\": \"k1\"}, {\"name\": \"a\", \"apiKey\": \"SECRET2\"}]}",
                        "accounts[1] (\"a\"): the name is also accounts[0]'s", "SECRET2");
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"w\", \"apiKey\": \"SECRET1\", \"oauthToken\": \"SECRET2\"}]}",
                        "accounts[0] (\"w\"): has both apiKey and oauthToken", "SECRET");
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"none\"}]}", "accounts[0] (\"none\"): needs one credential", NULL);
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"w\", \"apiKey\": \"SECRET1\", \"prio\": 2}]}",
                        "accounts[0] (\"w\"): unknown key \"prio\"", "SECRET1");
    assert_fails_naming(f, "{\"accounts\": [{\"apiKey\": \"SECRET1\"}]}", "accounts[0]: name: expected a string", "SECRET1");
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"a b\", \"apiKey\": \"k\"}]}", "accounts[0]: name: must be", NULL);
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"w\", \"apiKey\": \"\"}]}", "accounts[0] (\"w\"): apiKey: expected a non-empty string", NULL);
    assert_fails_naming(f, "{\"accounts\": [{\"name\": \"w\", \"apiKey\": \"k\", \"priority\": \"1\"}]}",
                        "accounts[0] (\"w\"): priority", NULL);
    assert_fails_naming(f, "{\"accounts\": [\"w\"]}", "accounts[0]: expected an object", NULL);
    assert_fails_naming(f, "{\"accounts\": {\"name\": \"w\"}}", "accounts: expected an array", NULL);
    assert_fails_naming(f, "{\"accountBackoffMs\": 5}", "accountBackoffMs", NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(without_accounts_there_is_none_and_extra_usage_is_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(the_three_kinds_parse_with_priorities, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_accounts_fail_naming_the_account, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
