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

/* ---- the flood limit ---- */

static struct timespec fake_now = {.tv_sec = 1800000000};
static void fake_clock(struct timespec *out) { *out = fake_now; }

typedef struct {
    char path[32];
    int fd, saved;
} captured_t;

static void capture_begin(captured_t *c) {
    snprintf(c->path, sizeof c->path, "/tmp/test-log-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    dup2(c->fd, 2);
}

/* Stop capturing; what was written (malloc'd). */
static char *capture_end(captured_t *c) {
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    off_t size = lseek(c->fd, 0, SEEK_END);
    char *text = malloc((size_t)size + 1);
    ssize_t n = pread(c->fd, text, (size_t)size, 0);
    close(c->fd);
    unlink(c->path);
    assert_int_equal(n, size);
    text[n] = '\0';
    return text;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* 200 lines of one event per second; the rest are counted and reported in one line when the next second's
 * first line of that event comes. Another event has its own budget, and errors always pass. */
static void a_flood_is_cut_to_200_lines_a_second_and_counted(void **state) {
    log_set_clock(fake_clock);
    fake_now.tv_sec++; /* a second no other test logged in */
    captured_t c;
    capture_begin(&c);
    for (int i = 0; i < 250; i++) log_info("flood.a", "i=%d", i);
    for (int i = 0; i < 10; i++) log_info("flood.b", "i=%d", i);
    for (int i = 0; i < 5; i++) log_error("flood.a", "error=%d", i);
    fake_now.tv_sec++;
    log_info("flood.a", "i=next");
    char *out = capture_end(&c);
    log_set_clock(NULL);
    assert_int_equal(count(out, " info flood.a i="), 201);
    assert_non_null(strstr(out, " flood.a i=199\n"));
    assert_null(strstr(out, " flood.a i=200\n"));
    assert_int_equal(count(out, " info flood.b "), 10);
    assert_int_equal(count(out, " error flood.a "), 5);
    assert_int_equal(count(out, " warn log.suppressed event=flood.a lines=50\n"), 1);
    /* the count comes before the new second's first line, stamped with the new second */
    char *note = strstr(out, "log.suppressed");
    assert_true(note < strstr(out, "i=next"));
    assert_non_null(strstr(out, "2027-01-15T08:00:02.000Z warn log.suppressed"));
    free(out);
}

static void a_quiet_second_reports_nothing(void **state) {
    log_set_clock(fake_clock);
    fake_now.tv_sec += 10;
    captured_t c;
    capture_begin(&c);
    for (int i = 0; i < 200; i++) log_info("flood.c", "i=%d", i);
    fake_now.tv_sec++;
    log_info("flood.c", "i=next");
    char *out = capture_end(&c);
    log_set_clock(NULL);
    assert_int_equal(count(out, " info flood.c "), 201);
    assert_null(strstr(out, "log.suppressed"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_value_with_newlines_cannot_forge_another_event),
        cmocka_unit_test(other_control_bytes_are_shown_as_hex_and_text_is_kept),
        cmocka_unit_test(a_flood_is_cut_to_200_lines_a_second_and_counted),
        cmocka_unit_test(a_quiet_second_reports_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
