#include "util/utf8.h"

/* Length of the well-formed sequence at s (1..4), or 0 when the bytes there are not one. */
static size_t sequence_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;      /* overlong */
        else if (c == 0xed) hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;      /* overlong */
        else if (c == 0xf4) hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return n;
}

size_t utf8_scrub(char *s, size_t len) {
    unsigned char *p = (unsigned char *)s;
    size_t replaced = 0;
    for (size_t i = 0; i < len;) {
        size_t n = sequence_len(p + i, len - i);
        if (n) {
            i += n;
        } else {
            p[i++] = '?';
            replaced++;
        }
    }
    return replaced;
}

bool utf8_is_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = sequence_len(p + i, len - i);
        if (!n) return false;
        i += n;
    }
    return true;
}

char *utf8_json_write(const yyjson_mut_doc *doc, size_t *len) {
    char *json = yyjson_mut_write(doc, 0, len);
    if (json) return json;
    json = yyjson_mut_write(doc, YYJSON_WRITE_ALLOW_INVALID_UNICODE, len);
    if (json) utf8_scrub(json, *len);
    return json;
}

size_t utf8_piece_len(const char *s, size_t len, size_t max) {
    if (len <= max) return len;
    const unsigned char *p = (const unsigned char *)s;
    /* A character is at most 4 bytes: its lead byte is at most 3 back from a continuation byte. */
    for (size_t at = max; at > 0 && max - at < 4; at--)
        if ((p[at] & 0xc0) != 0x80) return at;
    return max;
}
