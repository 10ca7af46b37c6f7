/* The CLI as a program: version parsing, the version table, and what a child's environment holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/cli.h"

static cli_info_t version(const char *text) {
    cli_info_t info = {0};
    assert_int_equal(cli_parse_version(text, &info), 0);
    info.is_found = true;
    return info;
}

static const char *env_get(char **env, const char *key) {
    size_t n = strlen(key);
    for (char **e = env; e && *e; e++)
        if (!strncmp(*e, key, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static void versions_choose_their_transport(void **state) {
    cli_info_t v100 = version("2.1.100 (Claude Code)"), v120 = version("2.1.120"), v121 = version("2.1.121");
    cli_info_t v332 = version("2.1.332 (Claude Code)\n");
    cli_choose_transport(TRANSPORT_AUTO, &v100);
    cli_choose_transport(TRANSPORT_AUTO, &v120);
    cli_choose_transport(TRANSPORT_AUTO, &v121);
    cli_choose_transport(TRANSPORT_AUTO, &v332);
    assert_int_equal(v100.transport, TRANSPORT_WEBSOCKET);
    assert_int_equal(v120.transport, TRANSPORT_WEBSOCKET);
    assert_int_equal(v121.transport, TRANSPORT_STDIO);
    assert_int_equal(v332.transport, TRANSPORT_STDIO);
    cli_info_t unknown = {0};
    cli_choose_transport(TRANSPORT_AUTO, &unknown);
    assert_int_equal(unknown.transport, TRANSPORT_STDIO);
}

static void table_rows_hold_until_the_next_row(void **state) {
    cli_info_t v39 = version("2.1.39"), v100 = version("2.1.100"), v250 = version("2.1.250");
    cli_info_t v332 = version("2.1.332"), v400 = version("2.2.0"), unknown = {0};
    assert_false(cli_takes_init_system_prompt(&v39));
    assert_true(cli_takes_init_system_prompt(&v100));
    assert_false(cli_info_traits(&v250)->closes_broken_attempt);
    assert_true(cli_info_traits(&v332)->closes_broken_attempt);
    assert_true(cli_info_traits(&v332)->has_interrupt_tail);
    assert_ptr_equal(cli_info_traits(&v400), cli_info_traits(&v332));
    assert_ptr_equal(cli_info_traits(&unknown), cli_info_traits(&v332));
}

static void child_env_carries_the_settings_of_its_version(void **state) {
    char *base[] = {"PATH=/bin", NULL};
    cli_info_t v100 = version("2.1.100"), v332 = version("2.1.332");
    char **s100 = cli_version_settings(&v100), **s332 = cli_version_settings(&v332);
    char **e100 = cli_build_env(base, "/h", "/c", "tok", s100);
    char **e332 = cli_build_env(base, "/h", "/c", NULL, s332);
    cli_strv_free(s100);
    cli_strv_free(s332);
    assert_string_equal(env_get(e100, "ENABLE_TOOL_SEARCH"), "false");
    assert_null(env_get(e100, "CLAUDE_CODE_THINKING_DISPLAY_UPDATES"));
    assert_string_equal(env_get(e100, "CLAUDE_CODE_SESSION_ACCESS_TOKEN"), "tok");
    assert_string_equal(env_get(e332, "ENABLE_TOOL_SEARCH"), "false");
    assert_string_equal(env_get(e332, "CLAUDE_CODE_TOTAL_TOKENS_REMINDER"), "off");
    assert_string_equal(env_get(e332, "CLAUDE_CODE_THINKING_DISPLAY_UPDATES"), "0");
    assert_string_equal(env_get(e332, "HOME"), "/h");
    assert_null(env_get(e332, "CLAUDE_CODE_SIMPLE"));
    cli_strv_free(e100);
    cli_strv_free(e332);
}

static void operator_settings_win_and_simple_mode_never_passes(void **state) {
    char *environ_[] = {"PATH=/bin", "CLAUDE_CODE_SIMPLE=1", "CLAUDE_CODE_TOTAL_TOKENS_REMINDER=on", "HOME=/root",
                        "ENABLE_TOOL_SEARCH=true", NULL};
    char **base = cli_base_env(environ_);
    assert_null(env_get(base, "CLAUDE_CODE_SIMPLE"));
    assert_null(env_get(base, "HOME"));
    assert_null(env_get(base, "ENABLE_TOOL_SEARCH")); /* not the operator's to turn on: agent mode needs it */
    cli_info_t v332 = version("2.1.332");
    char **settings = cli_version_settings(&v332);
    char **env = cli_build_env(base, "/h", "/c", NULL, settings);
    cli_strv_free(settings);
    assert_string_equal(env_get(env, "CLAUDE_CODE_TOTAL_TOKENS_REMINDER"), "on");
    assert_string_equal(env_get(env, "ENABLE_TOOL_SEARCH"), "false");
    assert_null(env_get(env, "CLAUDE_CODE_SIMPLE"));
    cli_strv_free(env);
    cli_strv_free(base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_choose_their_transport),
        cmocka_unit_test(table_rows_hold_until_the_next_row),
        cmocka_unit_test(child_env_carries_the_settings_of_its_version),
        cmocka_unit_test(operator_settings_win_and_simple_mode_never_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
