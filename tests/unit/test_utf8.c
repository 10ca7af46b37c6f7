/* utf8_is_valid: well-formed UTF-8 only. utf8_scrub: well-formed UTF-8 passes untouched; every other byte
 * becomes '?' and the length stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

static void utf8_validation(void **state) {
    assert_true(utf8_is_valid("plain", 5));
    assert_true(utf8_is_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14));
    assert_false(utf8_is_valid("\xC3", 1));             /* truncated */
    assert_false(utf8_is_valid("\xC0\xAF", 2));         /* overlong */
    assert_false(utf8_is_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(utf8_is_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(utf8_is_valid("\xFF", 1));
}

static void expect_scrub(const char *in, size_t len, const char *want, size_t want_replaced) {
    char s[64];
    assert_true(len < sizeof s);
    memcpy(s, in, len);
    s[len] = '\0';
    assert_int_equal(utf8_scrub(s, len), want_replaced);
    assert_memory_equal(s, want, len);
}

static void valid_text_is_left_alone(void **state) {
    const char *s = "plain ascii, \xc3\xa9t\xc3\xa9, \xe2\x9c\x93, \xf0\x9f\x98\x80, \xf4\x8f\xbf\xbf";
    expect_scrub(s, strlen(s), s, 0);
}

static void stray_and_cut_bytes_become_question_marks(void **state) {
    expect_scrub("a\xff" "b", 3, "a?b", 1);
    expect_scrub("\x80x", 2, "?x", 1);
    /* a two-byte character cut in half at the end (a truncated copy) */
    expect_scrub("ab\xc3", 3, "ab?", 1);
    /* a three-byte lead followed by ASCII */
    expect_scrub("\xe2\x9c" "z", 3, "??z", 2);
}

static void overlongs_surrogates_and_too_high_are_invalid(void **state) {
    expect_scrub("\xc0\xaf", 2, "??", 2);         /* overlong '/' */
    expect_scrub("\xe0\x80\xaf", 3, "???", 3);    /* overlong '/' */
    expect_scrub("\xed\xa0\x80", 3, "???", 3);    /* U+D800 */
    expect_scrub("\xf4\x90\x80\x80", 4, "????", 4); /* U+110000 */
    expect_scrub("\xf5\x80\x80\x80", 4, "????", 4);
}

static void a_nul_inside_the_range_is_kept(void **state) {
    expect_scrub("a\0b", 3, "a\0b", 0);
}

/* A piece ends before a character that would not fit whole, whatever its length. */
static void pieces_end_on_character_boundaries(void **state) {
    assert_int_equal(utf8_piece_len("abc", 3, 4), 3);      /* fits: all of it */
    assert_int_equal(utf8_piece_len("abcdef", 6, 4), 4);   /* ASCII: exactly max */
    /* "ab" + é (2 bytes) + "c": max 3 would cut é */
    assert_int_equal(utf8_piece_len("ab\xc3\xa9" "c", 5, 3), 2);
    assert_int_equal(utf8_piece_len("ab\xc3\xa9" "c", 5, 4), 4);
    /* ✓ (3 bytes) at 2..4: max 4 cuts before it, max 5 takes it whole */
    assert_int_equal(utf8_piece_len("ab\xe2\x9c\x93" "d", 6, 4), 2);
    assert_int_equal(utf8_piece_len("ab\xe2\x9c\x93" "d", 6, 5), 5);
    /* 😀 (4 bytes) at 1..4: max 4 leaves only "a" */
    assert_int_equal(utf8_piece_len("a\xf0\x9f\x98\x80" "b", 6, 4), 1);
    assert_int_equal(utf8_piece_len("a\xf0\x9f\x98\x80" "b", 6, 5), 5);
    /* no lead byte within reach (not UTF-8): max itself, never 0 */
    assert_int_equal(utf8_piece_len("\x80\x80\x80\x80\x80\x80", 6, 4), 4);
}

/* Every piece of a long mixed text is valid UTF-8 on its own, and together they are the text. */
static void pieces_of_a_long_text_are_each_valid(void **state) {
    static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80"};
    char text[4096];
    size_t len = 0;
    for (int i = 0; len + 4 < sizeof text; i++) {
        const char *c = chars[(i * 7 + i / 3) % 4];
        memcpy(text + len, c, strlen(c));
        len += strlen(c);
    }
    for (size_t max = 4; max < 40; max++) {
        size_t at = 0, pieces = 0;
        while (at < len) {
            size_t n = utf8_piece_len(text + at, len - at, max);
            assert_true(n > 0 && n <= max);
            assert_true(utf8_is_valid(text + at, n));
            at += n;
            pieces++;
        }
        assert_int_equal(at, len);
        assert_true(pieces >= len / max);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_validation),
        cmocka_unit_test(valid_text_is_left_alone),
        cmocka_unit_test(stray_and_cut_bytes_become_question_marks),
        cmocka_unit_test(overlongs_surrogates_and_too_high_are_invalid),
        cmocka_unit_test(a_nul_inside_the_range_is_kept),
        cmocka_unit_test(pieces_end_on_character_boundaries),
        cmocka_unit_test(pieces_of_a_long_text_are_each_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
