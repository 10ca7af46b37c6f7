/* Log lines: one event is one line, whatever bytes its values carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

/* Run one log call with stderr going to a file; return what it wrote. */
static char *capture(const char *model) {
    char path[] = "/tmp/test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    log_info("turn.test", "request_id=req_1 model=%s status=%d", model, 200);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    static char text[4096];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    text[n] = '\0';
    return text;
}

static void a_value_with_newlines_cannot_forge_another_event(void **state) {
    const char *forged = "x\n2030-01-01T00:00:00.000Z info auth.login_outcome success=true\r";
    char *out = capture(forged);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, ""); /* exactly one line */
    assert_non_null(strstr(out, "model=x\\n2030-01-01T00:00:00.000Z info auth.login_outcome success=true\\r status=200"));
}

static void other_control_bytes_are_shown_as_hex_and_text_is_kept(void **state) {
    char *out = capture("a\x01" "b\x1b[31m\tc");
    assert_non_null(strstr(out, "model=a\\x01b\\x1b[31m\\tc status=200\n"));
    assert_non_null(strstr(out, " info turn.test request_id=req_1 "));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_value_with_newlines_cannot_forge_another_event),
        cmocka_unit_test(other_control_bytes_are_shown_as_hex_and_text_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
