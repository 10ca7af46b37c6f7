/* What `claude auth login` prints on a terminal: the URL found, escape codes removed, the code masked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth_internal.h"

static char *strip(const char *in) {
    static char out[4096];
    auth_strip_ansi(in, strlen(in), out);
    return out;
}

#define REAL_URL                                                                                               \
    "https://claude.com/cai/oauth/authorize?code=true&client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e"           \
    "&response_type=code&redirect_uri=https%3A%2F%2Fplatform.claude.com%2Foauth%2Fcode%2Fcallback"              \
    "&scope=org%3Acreate_api_key+user%3Aprofile&code_challenge=ZB-Sz&code_challenge_method=S256&state=dgix"

static void strips_csi_osc_and_carriage_returns(void **state) {
    assert_string_equal(strip("\x1b[2K\x1b[1Ghello\r\n\x1b[32mgreen\x1b[0m"), "hello\ngreen");
    assert_string_equal(strip("\x1b]8;;https://x\x07link\x1b]8;;\x1b\\ end"), "link end");
    assert_string_equal(strip("\x1b" "7saved\x1b" "8"), "saved");
    assert_string_equal(strip("tail\x1b"), "tail");
}

static void finds_the_url_after_visit(void **state) {
    char url[AUTH_URL_MAX];
    const char *text = "Opening browser to sign in\xe2\x80\xa6\nIf the browser didn't open, visit: " REAL_URL
                       "\nPaste code here if prompted > ";
    assert_int_equal(auth_find_login_url(text, url, sizeof url), 1);
    assert_string_equal(url, REAL_URL);
}

static void waits_until_the_url_is_complete(void **state) {
    char url[AUTH_URL_MAX];
    assert_int_equal(auth_find_login_url("If the browser didn't open, visit: https://claude.com/cai/oau", url, sizeof url), 0);
    assert_int_equal(auth_find_login_url("Opening browser to sign in", url, sizeof url), 0);
}

static void refuses_non_https_links(void **state) {
    char url[AUTH_URL_MAX];
    assert_int_equal(auth_find_login_url("visit: javascript:alert(1)\n", url, sizeof url), 0);
    assert_int_equal(auth_find_login_url("visit: http://claude.com/oauth/authorize?x\n", url, sizeof url), 0);
}

static void falls_back_to_any_authorize_url(void **state) {
    char url[AUTH_URL_MAX];
    assert_int_equal(auth_find_login_url("Go to https://claude.ai/oauth/authorize?a=1 now\n", url, sizeof url), 1);
    assert_string_equal(url, "https://claude.ai/oauth/authorize?a=1");
    assert_int_equal(auth_find_login_url("See https://docs.example/x for help\n", url, sizeof url), 0);
}

static void too_long_url_is_refused(void **state) {
    char url[32];
    assert_int_equal(auth_find_login_url("visit: " REAL_URL "\n", url, sizeof url), 0);
}

static void masks_every_copy_of_the_code(void **state) {
    char text[] = "got abc#def then abc#def again";
    auth_mask(text, "abc#def");
    assert_string_equal(text, "got ******* then ******* again");
    char other[] = "unchanged";
    auth_mask(other, "");
    assert_string_equal(other, "unchanged");
}

static void the_prompt_is_removed_from_what_follows_it(void **state) {
    char text[] = "Paste code here if prompted > Login failed: nope\nPaste code here if prompted >";
    auth_remove_prompt(text);
    assert_string_equal(text, "Login failed: nope\n");
}

static void last_line_skips_blank_lines(void **state) {
    char line[64];
    auth_last_line("Login failed: nope\n  \n\n", line, sizeof line);
    assert_string_equal(line, "Login failed: nope");
    auth_last_line("one\n  Login successful.  \n", line, sizeof line);
    assert_string_equal(line, "Login successful.");
    auth_last_line("   \n", line, sizeof line);
    assert_string_equal(line, "");
}

static void codes_are_one_printable_token(void **state) {
    char out[64];
    assert_int_equal(auth_clean_code("  abc#def \n", 11, out, sizeof out), 0);
    assert_string_equal(out, "abc#def");
    assert_int_equal(auth_clean_code("abc\rdef", 7, out, sizeof out), -1);
    assert_int_equal(auth_clean_code("abc\ndef", 7, out, sizeof out), -1);
    assert_int_equal(auth_clean_code("a b", 3, out, sizeof out), -1);
    assert_int_equal(auth_clean_code("   ", 3, out, sizeof out), -1);
    assert_int_equal(auth_clean_code("a\0b", 3, out, sizeof out), -1);
    char big[100];
    memset(big, 'x', sizeof big);
    assert_int_equal(auth_clean_code(big, sizeof big, out, sizeof out), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strips_csi_osc_and_carriage_returns),
        cmocka_unit_test(finds_the_url_after_visit),
        cmocka_unit_test(waits_until_the_url_is_complete),
        cmocka_unit_test(refuses_non_https_links),
        cmocka_unit_test(falls_back_to_any_authorize_url),
        cmocka_unit_test(too_long_url_is_refused),
        cmocka_unit_test(masks_every_copy_of_the_code),
        cmocka_unit_test(the_prompt_is_removed_from_what_follows_it),
        cmocka_unit_test(last_line_skips_blank_lines),
        cmocka_unit_test(codes_are_one_printable_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
