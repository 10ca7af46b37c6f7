/* Accounts: rendezvous choice, priorities, rests and their reasons, the children's credentials
 * (src/engine/accounts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "engine/accounts.h"

#define NOW 1700000000000LL

typedef struct {
    config_t cfg;
    accounts_t *as;
} fixture_t;

static config_account_t key_account(const char *name, const char *key, int priority) {
    return (config_account_t){.name = (char *)name, .kind = ACCOUNT_API_KEY, .credential = (char *)key,
                              .priority = priority};
}

/* a, b, c at priority 1 and d at 2; back-off 1 s. */
static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    static config_account_t list[4];
    list[0] = key_account("a", "key-a", 1);
    list[1] = key_account("b", "key-b", 1);
    list[2] = (config_account_t){.name = "c", .kind = ACCOUNT_CONFIG_DIR, .credential = "/data/c", .priority = 1};
    list[3] = (config_account_t){.name = "d", .kind = ACCOUNT_OAUTH_TOKEN, .credential = "tok-d", .priority = 2};
    f->cfg.accounts = list;
    f->cfg.account_count = 4;
    f->cfg.account_backoff_ms = 1000;
    f->as = accounts_new(&f->cfg, "/home/op/.claude");
    assert_non_null(f->as);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    accounts_free(f->as);
    free(f);
    return 0;
}

static size_t index_of(account_t *a) { return a ? account_index(a) : (size_t)-1; }

static void conversations_spread_evenly_over_the_best_priority(void **state) {
    fixture_t *f = *state;
    int counts[4] = {0};
    for (uint64_t k = 0; k < 3000; k++) counts[index_of(accounts_choose(f->as, k * 0x9e3779b97f4a7c15ull, 0, NOW))]++;
    assert_int_equal(counts[3], 0); /* priority 2 only when the others cannot serve */
    for (int i = 0; i < 3; i++)
        if (counts[i] < 850 || counts[i] > 1150) fail_msg("account %d got %d of 3000", i, counts[i]);
}

static void only_the_limited_accounts_conversations_move(void **state) {
    fixture_t *f = *state;
    account_t *before[500];
    for (uint64_t k = 0; k < 500; k++) before[k] = accounts_choose(f->as, k * 7919, 0, NOW);
    account_mark_limited(accounts_get(f->as, 1), 0, "rate_limit", NOW);
    for (uint64_t k = 0; k < 500; k++) {
        account_t *now = accounts_choose(f->as, k * 7919, 0, NOW);
        if (before[k] != accounts_get(f->as, 1)) assert_ptr_equal(now, before[k]);
        else assert_true(now == accounts_get(f->as, 0) || now == accounts_get(f->as, 2));
    }
    /* Back after the back-off: the same choice as before. */
    for (uint64_t k = 0; k < 500; k++) assert_ptr_equal(accounts_choose(f->as, k * 7919, 0, NOW + 1000), before[k]);
}

static void priorities_and_exclusions_fall_through_to_none(void **state) {
    fixture_t *f = *state;
    uint64_t key = 42;
    assert_int_not_equal(index_of(accounts_choose(f->as, key, 0, NOW)), 3);
    assert_int_equal(index_of(accounts_choose(f->as, key, 0x7, NOW)), 3); /* a, b, c excluded: d */
    assert_null(accounts_choose(f->as, key, 0xf, NOW));
    for (size_t i = 0; i < 4; i++) account_mark_limited(accounts_get(f->as, i), NOW + 5000 + (int64_t)i, "rate_limit", NOW);
    assert_null(accounts_choose(f->as, key, 0, NOW));
    assert_int_equal(accounts_next_available_ms(f->as, NOW), NOW + 5000);
    assert_int_equal(accounts_next_available_ms(f->as, NOW + 5000), 0);
}

static void back_off_doubles_while_it_keeps_failing_and_resets_on_success(void **state) {
    fixture_t *f = *state;
    account_t *a = accounts_get(f->as, 0);
    engine_account_info_t info;
    account_mark_limited(a, 0, "overloaded", NOW);
    account_info(a, NOW, &info);
    assert_true(info.is_limited);
    assert_int_equal(info.limited_until_ms, NOW + 1000);
    assert_string_equal(info.limit_reason, "overloaded");
    account_mark_limited(a, 0, "overloaded", NOW + 1000);
    account_info(a, NOW + 1000, &info);
    assert_int_equal(info.limited_until_ms, NOW + 1000 + 2000);
    assert_int_equal(info.limited_ms_total, 1000);
    account_info(a, NOW + 3000, &info);
    assert_false(info.is_limited);
    assert_int_equal(info.limited_ms_total, 3000);
    account_mark_ok(a);
    account_mark_limited(a, 0, "rate_limit", NOW + 10000);
    account_info(a, NOW + 10000, &info);
    assert_int_equal(info.limited_until_ms, NOW + 11000);
    /* A known reset wins over the back-off; a login ends the rest. */
    account_mark_limited(a, NOW + 60000, "rate_limit", NOW + 10000);
    account_info(a, NOW + 10000, &info);
    assert_int_equal(info.limited_until_ms, NOW + 60000);
    account_mark_available(a);
    assert_true(account_is_available(a, accounts_now_ms()));
}

static yyjson_doc *read_json(const char *text) { return yyjson_read(text, strlen(text), 0); }

static void rate_limit_events_mark_reached_limits_and_extra_usage(void **state) {
    fixture_t *f = *state;
    account_t *a = accounts_get(f->as, 0), *b = accounts_get(f->as, 1), *c = accounts_get(f->as, 2);
    yyjson_doc *ok = read_json("{\"rate_limit_info\":{\"status\":\"allowed\",\"resetsAt\":1700003600}}");
    yyjson_doc *rejected = read_json("{\"status\":\"rejected\",\"resetsAt\":1700003600,\"rateLimitType\":\"five_hour\"}");
    yyjson_doc *overage = read_json("{\"status\":\"rejected\",\"resetsAt\":1700003600,\"overageStatus\":\"allowed\",\"isUsingOverage\":true}");
    assert_non_null(ok);
    assert_non_null(rejected);
    assert_non_null(overage);
    assert_false(account_note_rate_limit(a, yyjson_doc_get_root(ok), true, NOW));
    assert_true(account_is_available(a, NOW));
    assert_true(account_note_rate_limit(a, yyjson_doc_get_root(rejected), true, NOW));
    engine_account_info_t info;
    account_info(a, NOW, &info);
    assert_int_equal(info.limited_until_ms, 1700003600000LL);
    assert_string_equal(info.limit_reason, "rate_limit");
    /* Spending extra usage is fine unless allowExtraUsage is false. */
    assert_false(account_note_rate_limit(b, yyjson_doc_get_root(overage), true, NOW));
    assert_true(account_note_rate_limit(c, yyjson_doc_get_root(overage), false, NOW));
    account_info(c, NOW, &info);
    assert_string_equal(info.limit_reason, "extra_usage");
    yyjson_doc_free(ok);
    yyjson_doc_free(rejected);
    yyjson_doc_free(overage);
}

static bool has(char **env, const char *kv) {
    for (char **e = env; *e; e++)
        if (!strcmp(*e, kv)) return true;
    return false;
}

static bool has_key(char **env, const char *key) {
    for (char **e = env; *e; e++)
        if (!strncmp(*e, key, strlen(key)) && (*e)[strlen(key)] == '=') return true;
    return false;
}

static void children_get_exactly_their_accounts_credential(void **state) {
    fixture_t *f = *state;
    char *base[] = {"PATH=/bin", "ANTHROPIC_API_KEY=proxy-key", "CLAUDE_CODE_OAUTH_TOKEN=proxy-token",
                    "ANTHROPIC_AUTH_TOKEN=proxy-auth", "ANTHROPIC_BASE_URL=http://127.0.0.1:9", NULL};
    char **a = account_child_env(accounts_get(f->as, 0), base);
    assert_true(has(a, "ANTHROPIC_API_KEY=key-a"));
    assert_false(has(a, "ANTHROPIC_API_KEY=proxy-key"));
    assert_false(has_key(a, "CLAUDE_CODE_OAUTH_TOKEN") || has_key(a, "ANTHROPIC_AUTH_TOKEN"));
    assert_true(has(a, "ANTHROPIC_BASE_URL=http://127.0.0.1:9") && has(a, "PATH=/bin"));
    assert_null(account_config_dir(accounts_get(f->as, 0)));
    free(a);
    char **c = account_child_env(accounts_get(f->as, 2), base);
    assert_false(has_key(c, "ANTHROPIC_API_KEY") || has_key(c, "CLAUDE_CODE_OAUTH_TOKEN"));
    assert_string_equal(account_config_dir(accounts_get(f->as, 2)), "/data/c");
    free(c);
    char **d = account_child_env(accounts_get(f->as, 3), base);
    assert_true(has(d, "CLAUDE_CODE_OAUTH_TOKEN=tok-d"));
    assert_false(has_key(d, "ANTHROPIC_API_KEY"));
    free(d);
    assert_string_equal(account_kind(accounts_get(f->as, 3)), "oauth_token");
    assert_ptr_equal(accounts_find(f->as, "c"), accounts_get(f->as, 2));
    assert_null(accounts_find(f->as, "zz"));
}

static void without_the_setting_one_implicit_account_keeps_the_proxy_credentials(void **state) {
    (void)state;
    config_t cfg = {.account_backoff_ms = 1000};
    accounts_t *as = accounts_new(&cfg, "/home/op/.claude");
    assert_non_null(as);
    assert_false(accounts_are_configured(as));
    assert_int_equal(accounts_count(as), 1);
    account_t *a = accounts_get(as, 0);
    assert_string_equal(account_kind(a), "implicit");
    assert_string_equal(account_config_dir(a), "/home/op/.claude");
    char *base[] = {"ANTHROPIC_API_KEY=proxy-key", NULL};
    char **env = account_child_env(a, base);
    assert_true(has(env, "ANTHROPIC_API_KEY=proxy-key"));
    free(env);
    account_mark_limited(a, 0, "rate_limit", NOW); /* never rests: requests reach the upstream as before */
    assert_ptr_equal(accounts_choose(as, 1, 0, NOW), a);
    accounts_free(as);
}

static void the_conversation_key_ignores_cache_control_and_later_messages(void **state) {
    (void)state;
    const char *one = "[{\"role\":\"user\",\"content\":\"hello\"}]";
    const char *two = "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
                      "{\"role\":\"assistant\",\"content\":\"hi\"},{\"role\":\"user\",\"content\":\"more\"}]";
    const char *other = "[{\"role\":\"user\",\"content\":\"hello!\"}]";
    yyjson_doc *d1 = yyjson_read(one, strlen(one), 0), *d2 = yyjson_read(two, strlen(two), 0),
               *d3 = yyjson_read(other, strlen(other), 0);
    uint64_t k1 = accounts_conversation_key("sys", yyjson_doc_get_root(d1));
    assert_true(k1 == accounts_conversation_key("sys", yyjson_doc_get_root(d2)));
    assert_true(k1 != accounts_conversation_key("sys", yyjson_doc_get_root(d3)));
    assert_true(k1 != accounts_conversation_key("other system", yyjson_doc_get_root(d1)));
    yyjson_doc_free(d1);
    yyjson_doc_free(d2);
    yyjson_doc_free(d3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conversations_spread_evenly_over_the_best_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(only_the_limited_accounts_conversations_move, setup, teardown),
        cmocka_unit_test_setup_teardown(priorities_and_exclusions_fall_through_to_none, setup, teardown),
        cmocka_unit_test_setup_teardown(back_off_doubles_while_it_keeps_failing_and_resets_on_success, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limit_events_mark_reached_limits_and_extra_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(children_get_exactly_their_accounts_credential, setup, teardown),
        cmocka_unit_test(without_the_setting_one_implicit_account_keeps_the_proxy_credentials),
        cmocka_unit_test(the_conversation_key_ignores_cache_control_and_later_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
