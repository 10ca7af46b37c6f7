/*
 * The NDJSON line splitter both transports use: lines cut anywhere by reads and frames, empty lines, CR,
 * the line and buffer bounds, back-pressure (lines held until asked for), a dropped connection's half line.
 * feed() does with a read what the stdio transport does; ws_drain() what the WebSocket transport does.
 */
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
    int stop_after; /* stop taking lines after this many (0 = never) */
} collect_t;

static bool collect(collect_t *c, const char *line, size_t len) {
    assert_true(c->count < 64);
    c->lines[c->count] = malloc(len + 1);
    memcpy(c->lines[c->count], line, len);
    c->lines[c->count][len] = '\0';
    c->lens[c->count] = len;
    c->count++;
    return !(c->stop_after && c->count == c->stop_after);
}

static void collect_free(collect_t *c) {
    for (int i = 0; i < c->count; i++) free(c->lines[i]);
    c->count = 0;
}

/* Take lines until the consumer stops (1) or none is left (0), or the stream failed (-EMSGSIZE). */
static int deliver(ndjson_reader_t *r, collect_t *c) {
    view_t line;
    int rc;
    while ((rc = ndjson_reader_next(r, &line)) > 0)
        if (!collect(c, line.ptr, line.len)) {
            rc = 1;
            break;
        }
    ndjson_reader_compact(r);
    return rc;
}

/* One read: keep the bytes, then hand out what is complete; a failure comes out in order, from next. */
static int feed(ndjson_reader_t *r, const char *data, size_t len, collect_t *c) {
    (void)ndjson_reader_append(r, data, len);
    return deliver(r, c);
}

static int append(ndjson_reader_t *r, const char *s) { return ndjson_reader_append(r, s, strlen(s)); }

/* Collect every non-empty line, joined by '|', as the WebSocket transport passes them on. */
static void ws_drain(ndjson_reader_t *r, char *out, size_t cap) {
    view_t v;
    size_t n = strlen(out);
    while (ndjson_reader_next(r, &v) > 0) {
        if (v.len == 0) continue;
        assert_true(n + v.len + 2 < cap);
        memcpy(out + n, v.ptr, v.len);
        n += v.len;
        out[n++] = '|';
        out[n] = '\0';
    }
    ndjson_reader_compact(r);
}

/* ---- lines cut anywhere ---- */

static void lines_split_across_reads_byte_by_byte(void **state) {
    const char *in = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024, 0);
    for (size_t i = 0; i < strlen(in); i++) assert_int_equal(feed(&r, in + i, 1, &c), 0);
    assert_int_equal(c.count, 4);
    assert_string_equal(c.lines[0], "{\"a\":1}");
    assert_string_equal(c.lines[1], "{\"b\":2}"); /* the \r is dropped */
    assert_int_equal(c.lens[2], 0);
    assert_string_equal(c.lines[3], "{\"c\":3}");
    assert_int_equal(ndjson_reader_pending(&r), 0);
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void every_chunking_gives_the_same_lines(void **state) {
    const char *in = "{\"a\":1}\n\n{\"b\":\"x\\ny\"}\r\n\r\n{\"c\":[1,2,3]}\n{\"tail\"";
    const char *want[] = {"{\"a\":1}", "", "{\"b\":\"x\\ny\"}", "", "{\"c\":[1,2,3]}"};
    size_t len = strlen(in);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        ndjson_reader_t r;
        collect_t c = {0};
        ndjson_reader_init(&r, 64, 0);
        for (size_t at = 0; at < len; at += chunk)
            assert_int_equal(feed(&r, in + at, len - at < chunk ? len - at : chunk, &c), 0);
        assert_int_equal(c.count, 5);
        for (int i = 0; i < 5; i++) assert_string_equal(c.lines[i], want[i]);
        assert_int_equal(ndjson_reader_pending(&r), strlen("{\"tail\""));
        collect_free(&c);
        ndjson_reader_free(&r);
    }
}

static void several_lines_in_one_read_and_a_partial_tail(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024, 0);
    const char *in = "one\ntwo\nthr";
    assert_int_equal(feed(&r, in, strlen(in), &c), 0);
    assert_int_equal(c.count, 2);
    assert_int_equal(ndjson_reader_pending(&r), 3);
    assert_int_equal(feed(&r, "ee\n", 3, &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[2], "three");
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void lines_split_across_frames_and_several_per_frame(void **state) {
    ndjson_reader_t l;
    char got[256] = "";
    ndjson_reader_init(&l, 1024, 4096);
    assert_int_equal(append(&l, "{\"a\":1}\n{\"b\""), 0);
    ws_drain(&l, got, sizeof got);
    assert_string_equal(got, "{\"a\":1}|");
    assert_int_equal(append(&l, ":2}\n\n{\"c\":3}\n{\"d\":4}\n"), 0);
    ws_drain(&l, got, sizeof got);
    assert_string_equal(got, "{\"a\":1}|{\"b\":2}|{\"c\":3}|{\"d\":4}|");
    assert_int_equal(ndjson_reader_pending(&l), 0);
    /* one byte at a time, as the smallest frames would bring it */
    const char *text = "{\"e\":5}\n{\"f\":6}\n";
    for (size_t i = 0; text[i]; i++) {
        assert_int_equal(ndjson_reader_append(&l, text + i, 1), 0);
        ws_drain(&l, got, sizeof got);
    }
    assert_string_equal(got, "{\"a\":1}|{\"b\":2}|{\"c\":3}|{\"d\":4}|{\"e\":5}|{\"f\":6}|");
    ndjson_reader_free(&l);
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
    ndjson_reader_init(&r, NDJSON_MAX_LINE_DEFAULT, 0);
    for (size_t off = 0; off < n + 1; off += 65536) {
        size_t len = n + 1 - off < 65536 ? n + 1 - off : 65536;
        assert_int_equal(feed(&r, big + off, len, &c), 0);
    }
    assert_int_equal(c.count, 1);
    assert_int_equal(c.lens[0], n);
    assert_memory_equal(c.lines[0], big, n);
    /* the huge line's memory goes back once it is handed out */
    assert_int_equal(feed(&r, "{}\n{\"next\"", 10, &c), 0);
    assert_true(r.buf.cap < ((size_t)1 << 20));
    assert_int_equal(ndjson_reader_pending(&r), 7);
    collect_free(&c);
    ndjson_reader_free(&r);
    free(big);
}

/* ---- empty lines and CR ---- */

static void empty_lines_are_handed_out_and_the_websocket_skips_them(void **state) {
    /* The reader hands out every line (stdio passes empty ones on, where the session counts them as
     * garbage); the WebSocket transport has never passed one on. */
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024, 0);
    assert_int_equal(feed(&r, "\n\r\n{}\n\n", 7, &c), 0);
    assert_int_equal(c.count, 4);
    assert_int_equal(c.lens[0], 0);
    assert_int_equal(c.lens[1], 0);
    assert_string_equal(c.lines[2], "{}");
    assert_int_equal(c.lens[3], 0);
    collect_free(&c);
    ndjson_reader_free(&r);
    char got[64] = "";
    ndjson_reader_init(&r, 1024, 4096);
    assert_int_equal(append(&r, "\n\n{\"a\":1}\n\r\n\n{\"b\":2}\n"), 0);
    ws_drain(&r, got, sizeof got);
    assert_string_equal(got, "{\"a\":1}|{\"b\":2}|");
    ndjson_reader_free(&r);
}

static void only_a_cr_right_before_the_newline_is_dropped(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024, 0);
    const char *in = "a\rb\r\nc\r\r\n\rd\n";
    assert_int_equal(feed(&r, in, strlen(in), &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[0], "a\rb");
    assert_string_equal(c.lines[1], "c\r");
    assert_string_equal(c.lines[2], "\rd");
    /* a CR whose newline has not arrived yet is still part of the line */
    assert_int_equal(feed(&r, "e\r", 2, &c), 0);
    assert_int_equal(ndjson_reader_pending(&r), 2);
    assert_int_equal(feed(&r, "\n", 1, &c), 0);
    assert_string_equal(c.lines[3], "e");
    collect_free(&c);
    ndjson_reader_free(&r);
}

/* ---- bounds ---- */

static void a_line_exactly_at_the_limit_passes(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 8, 0);
    assert_int_equal(feed(&r, "12345678\n", 9, &c), 0);
    assert_string_equal(c.lines[0], "12345678");
    /* unfinished, at the limit: still waiting for its newline */
    assert_int_equal(feed(&r, "abcdefgh", 8, &c), 0);
    assert_int_equal(feed(&r, "\n", 1, &c), 0);
    assert_string_equal(c.lines[1], "abcdefgh");
    /* the CR counts: it is a byte of the line until the newline is seen */
    assert_int_equal(feed(&r, "1234567\r\n", 9, &c), 0);
    assert_string_equal(c.lines[2], "1234567");
    assert_int_equal(c.count, 3);
    assert_int_equal(feed(&r, "12345678\r\n", 10, &c), -EMSGSIZE);
    assert_int_equal(c.count, 3);
    collect_free(&c);
    ndjson_reader_free(&r);
    /* one byte more, unfinished, fails */
    ndjson_reader_init(&r, 8, 0);
    assert_int_equal(ndjson_reader_append(&r, "12345678", 8), 0);
    assert_int_equal(ndjson_reader_append(&r, "9", 1), -EMSGSIZE);
    ndjson_reader_free(&r);
}

static void a_line_over_the_limit_fails_the_stream(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 16, 0);
    assert_int_equal(feed(&r, "short\n0123456789", 16, &c), 0);
    assert_int_equal(feed(&r, "0123456789", 10, &c), -EMSGSIZE);
    assert_int_equal(feed(&r, "\nok\n", 4, &c), -EMSGSIZE); /* sticky */
    assert_int_equal(c.count, 1);
    assert_int_equal(ndjson_reader_append(&r, "x\n", 2), -EMSGSIZE);
    assert_int_equal(ndjson_reader_pending(&r), 0); /* its memory is gone */
    /* a complete line over the limit in one read fails too */
    ndjson_reader_t r2;
    ndjson_reader_init(&r2, 4, 0);
    assert_int_equal(feed(&r2, "12345\n", 6, &c), -EMSGSIZE);
    collect_free(&c);
    ndjson_reader_free(&r);
    ndjson_reader_free(&r2);
}

static void lines_before_the_long_one_still_come_out_and_none_after(void **state) {
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 4, 0);
    const char *in = "a\nbb\n123456\nc\n";
    assert_int_equal(feed(&r, in, strlen(in), &c), -EMSGSIZE);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.lines[0], "a");
    assert_string_equal(c.lines[1], "bb");
    collect_free(&c);
    ndjson_reader_free(&r);
    /* an unfinished long tail fails at once, yet the lines it follows are still handed out */
    ndjson_reader_init(&r, 4, 0);
    assert_int_equal(append(&r, "a\nb\n123456"), -EMSGSIZE);
    assert_int_equal(deliver(&r, &c), -EMSGSIZE);
    assert_int_equal(c.count, 2);
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void a_line_longer_than_the_limit_is_refused(void **state) {
    ndjson_reader_t l;
    char got[64] = "";
    char big[40];
    memset(big, 'x', sizeof big);
    ndjson_reader_init(&l, 100, 4096);
    for (int i = 0; i < 2; i++) assert_int_equal(ndjson_reader_append(&l, big, sizeof big), 0);
    assert_int_equal(ndjson_reader_append(&l, big, sizeof big), -EMSGSIZE);
    ndjson_reader_free(&l);
    /* A long stream of short lines is fine: only one line is measured. */
    ndjson_reader_init(&l, 100, 4096);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(append(&l, "{\"k\":1}\n"), 0);
        got[0] = '\0';
        ws_drain(&l, got, sizeof got);
        assert_string_equal(got, "{\"k\":1}|");
    }
    ndjson_reader_free(&l);
}

static void the_buffer_bound_refuses_bytes_but_keeps_the_lines_held(void **state) {
    /* A paused WebSocket session keeps reading (its read-ahead) until the buffer bound. */
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 16, 32);
    assert_int_equal(append(&r, "0123456789\n0123456789\n"), 0);
    assert_int_equal(ndjson_reader_pending(&r), 22);
    assert_int_equal(append(&r, "0123456789\n"), -EMSGSIZE); /* 33 > 32: refused whole */
    assert_int_equal(ndjson_reader_pending(&r), 22);
    assert_int_equal(deliver(&r, &c), -EMSGSIZE);
    assert_int_equal(c.count, 2);
    collect_free(&c);
    ndjson_reader_free(&r);
}

/* ---- back-pressure ---- */

static void a_stop_keeps_the_rest_for_resume(void **state) {
    ndjson_reader_t r;
    collect_t c = {.stop_after = 1};
    ndjson_reader_init(&r, 1024, 0);
    assert_int_equal(feed(&r, "a\nb\nc\nd", 7, &c), 1);
    assert_int_equal(c.count, 1);
    c.stop_after = 0;
    assert_int_equal(deliver(&r, &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[1], "b");
    assert_string_equal(c.lines[2], "c");
    assert_int_equal(feed(&r, "\n", 1, &c), 0);
    assert_string_equal(c.lines[3], "d");
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void a_stopped_consumer_sees_a_failure_only_after_the_lines_before_it(void **state) {
    /* stdio: the consumer paused at the first line; the long line behind it fails only on resume */
    ndjson_reader_t r;
    collect_t c = {.stop_after = 1};
    ndjson_reader_init(&r, 4, 0);
    assert_int_equal(feed(&r, "a\nb\n123456", 10, &c), 1);
    assert_int_equal(c.count, 1);
    assert_int_equal(ndjson_reader_pending(&r), 8);
    c.stop_after = 0;
    assert_int_equal(deliver(&r, &c), -EMSGSIZE);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.lines[1], "b");
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void held_lines_wait_while_more_bytes_arrive(void **state) {
    /* WebSocket read-ahead: bytes keep coming while nobody takes lines; they come out in order later. */
    ndjson_reader_t r;
    collect_t c = {0};
    ndjson_reader_init(&r, 1024, 4096);
    for (int i = 0; i < 10; i++) assert_int_equal(append(&r, "{\"k\":1}\n"), 0);
    assert_int_equal(append(&r, "{\"last\":"), 0);
    assert_int_equal(ndjson_reader_pending(&r), 10 * 8 + 8);
    c.stop_after = 4;
    assert_int_equal(deliver(&r, &c), 1);
    assert_int_equal(ndjson_reader_pending(&r), 6 * 8 + 8);
    assert_int_equal(append(&r, "true}\n"), 0);
    c.stop_after = 0;
    assert_int_equal(deliver(&r, &c), 0);
    assert_int_equal(c.count, 11);
    assert_string_equal(c.lines[10], "{\"last\":true}");
    assert_int_equal(ndjson_reader_pending(&r), 0);
    collect_free(&c);
    ndjson_reader_free(&r);
}

static void a_dropped_connection_forgets_only_the_unfinished_line(void **state) {
    ndjson_reader_t l;
    char got[64] = "";
    ndjson_reader_init(&l, 1024, 4096);
    assert_int_equal(append(&l, "{\"a\":1}\n{\"half"), 0);
    ndjson_reader_drop_partial(&l);
    assert_int_equal(append(&l, "{\"b\":2}\n"), 0);
    ws_drain(&l, got, sizeof got);
    assert_string_equal(got, "{\"a\":1}|{\"b\":2}|");
    ndjson_reader_free(&l);
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
        cmocka_unit_test(every_chunking_gives_the_same_lines),
        cmocka_unit_test(several_lines_in_one_read_and_a_partial_tail),
        cmocka_unit_test(lines_split_across_frames_and_several_per_frame),
        cmocka_unit_test(a_five_megabyte_line_arrives_whole),
        cmocka_unit_test(empty_lines_are_handed_out_and_the_websocket_skips_them),
        cmocka_unit_test(only_a_cr_right_before_the_newline_is_dropped),
        cmocka_unit_test(a_line_exactly_at_the_limit_passes),
        cmocka_unit_test(a_line_over_the_limit_fails_the_stream),
        cmocka_unit_test(lines_before_the_long_one_still_come_out_and_none_after),
        cmocka_unit_test(a_line_longer_than_the_limit_is_refused),
        cmocka_unit_test(the_buffer_bound_refuses_bytes_but_keeps_the_lines_held),
        cmocka_unit_test(a_stop_keeps_the_rest_for_resume),
        cmocka_unit_test(a_stopped_consumer_sees_a_failure_only_after_the_lines_before_it),
        cmocka_unit_test(held_lines_wait_while_more_bytes_arrive),
        cmocka_unit_test(a_dropped_connection_forgets_only_the_unfinished_line),
        cmocka_unit_test(garbage_and_invalid_utf8_lines_are_classified_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
