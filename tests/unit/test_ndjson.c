/* NDJSON line splitting: partial reads, long lines, the size limit, stopping and resuming. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/ndjson.h"
#include "engine/protocol.h"

typedef struct {
    char *lines[64];
    size_t lens[64];
    int count;
    int stop_after; /* return false after this many lines (0 = never) */
} collect_t;

static bool collect(void *arg, const char *line, size_t len) {
    collect_t *c = arg;
    c->lines[c->count] = malloc(len + 1);
    memcpy(c->lines[c->count], line, len);
    c->lines[c->count][len] = '\0';
    c->lens[c->count] = len;
    c->count++;
    return !(c->stop_after && c->count == c->stop_after);
}

static void collect_free(collect_t *c) {
    for (int i = 0; i < c->count; i++) free(c->lines[i]);
}

static void lines_split_across_reads_byte_by_byte(void **state) {
    const char *in = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024);
    for (size_t i = 0; i < strlen(in); i++) assert_int_equal(ndjson_reader_feed(&r, in + i, 1, collect, &c), 0);
    assert_int_equal(c.count, 4);
    assert_string_equal(c.lines[0], "{\"a\":1}");
    assert_string_equal(c.lines[1], "{\"b\":2}"); /* the \r is dropped */
    assert_int_equal(c.lens[2], 0);
    assert_string_equal(c.lines[3], "{\"c\":3}");
    assert_int_equal(ndjson_reader_pending(&r), 0);
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void several_lines_in_one_read_and_a_partial_tail(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024);
    const char *in = "one\ntwo\nthr";
    assert_int_equal(ndjson_reader_feed(&r, in, strlen(in), collect, &c), 0);
    assert_int_equal(c.count, 2);
    assert_int_equal(ndjson_reader_pending(&r), 3);
    assert_int_equal(ndjson_reader_feed(&r, "ee\n", 3, collect, &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[2], "three");
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void a_five_megabyte_line_arrives_whole(void **state) {
    size_t n = 5u << 20;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[0] = '"';
    big[n - 1] = '"';
    big[n] = '\n';
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, NDJSON_MAX_LINE_DEFAULT);
    for (size_t off = 0; off < n + 1; off += 65536) {
        size_t len = n + 1 - off < 65536 ? n + 1 - off : 65536;
        assert_int_equal(ndjson_reader_feed(&r, big + off, len, collect, &c), 0);
    }
    assert_int_equal(c.count, 1);
    assert_int_equal(c.lens[0], n);
    assert_memory_equal(c.lines[0], big, n);
    collect_free(&c);
    ndjson_reader_free(&r);
    free(big);
}

static void a_line_over_the_limit_fails_the_stream(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 16);
    assert_int_equal(ndjson_reader_feed(&r, "short\n0123456789", 16, collect, &c), 0);
    assert_int_equal(ndjson_reader_feed(&r, "0123456789", 10, collect, &c), -EMSGSIZE);
    assert_int_equal(ndjson_reader_feed(&r, "\nok\n", 4, collect, &c), -EMSGSIZE); /* sticky */
    assert_int_equal(c.count, 1);
    /* a complete line over the limit in one read fails too */
    ndjson_reader_t r2;
    ndjson_reader_init(&r2, 4);
    assert_int_equal(ndjson_reader_feed(&r2, "12345\n", 6, collect, &c), -EMSGSIZE);
    collect_free(&c);
    ndjson_reader_free(&r);
    ndjson_reader_free(&r2);
}

static void a_stop_keeps_the_rest_for_resume(void **state) {
    ndjson_reader_t r;
    collect_t c = {.stop_after = 1};
    ndjson_reader_init(&r, 1024);
    assert_int_equal(ndjson_reader_feed(&r, "a\nb\nc\nd", 7, collect, &c), 1);
    assert_int_equal(c.count, 1);
    c.stop_after = 0;
    assert_int_equal(ndjson_reader_resume(&r, collect, &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[1], "b");
    assert_string_equal(c.lines[2], "c");
    assert_int_equal(ndjson_reader_feed(&r, "\n", 1, collect, &c), 0);
    assert_string_equal(c.lines[3], "d");
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void garbage_and_invalid_utf8_lines_are_classified_garbage(void **state) {
    proto_line_t l;
    const char *bad[] = {"not json", "{\"type\":", "[1,2]", "{\"no_type\":1}", "{\"type\":7}",
                         "{\"type\":\"user\",\"x\":\"\xC3\x28\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        proto_parse_line(bad[i], strlen(bad[i]), &l);
        assert_int_equal(l.kind, PROTO_GARBAGE);
        assert_null(l.doc);
    }
    proto_parse_line("{\"type\":\"brand_new_thing\"}", 26, &l);
    assert_int_equal(l.kind, PROTO_UNKNOWN);
    proto_line_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_split_across_reads_byte_by_byte),
        cmocka_unit_test(several_lines_in_one_read_and_a_partial_tail),
        cmocka_unit_test(a_five_megabyte_line_arrives_whole),
        cmocka_unit_test(a_line_over_the_limit_fails_the_stream),
        cmocka_unit_test(a_stop_keeps_the_rest_for_resume),
        cmocka_unit_test(garbage_and_invalid_utf8_lines_are_classified_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
